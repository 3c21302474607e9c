"""Early warning and quick response: stations near recent serious incidents, and the
patrol bases nearest to an incident. Pure functions of frames; distances geodesic."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers import coverage, geodesy, mapping
from layers.incidents import SEVERITIES


def serious(
    incidents: gpd.GeoDataFrame, now: pd.Timestamp, min_severity: str = "high", hours: float = 24.0
) -> gpd.GeoDataFrame:
    """Located incidents of at least ``min_severity`` in the ``hours`` before ``now``."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    floor = rank[min_severity]
    keep = (
        (incidents["severity"].map(rank).fillna(-1) >= floor).to_numpy(dtype=bool)
        & (incidents["time"] > now - pd.Timedelta(hours=hours))
        & (incidents["time"] <= now)
        & incidents.geometry.notna()
        & ~incidents.geometry.is_empty
    )
    return incidents[keep]


_KEPT: dict[str, tuple[weakref.ref[gpd.GeoDataFrame], Any]] = {}


def _kept(stations: gpd.GeoDataFrame, what: str, build: Callable[[], Any]) -> Any:
    """``build()`` once per stations frame: a derived frame comes back, the same object,
    on every rerun until its feed changes."""
    held = _KEPT.get(what)
    if held is not None and held[0]() is stations:
        return held[1]
    value = build()
    _KEPT[what] = (weakref.ref(stations), value)
    return value


def _station_index(stations: gpd.GeoDataFrame, located: gpd.GeoDataFrame) -> geodesy.SphereIndex:
    """The located stations' search tree."""
    pts = located.geometry.to_numpy()
    return _kept(
        stations, "index", lambda: geodesy.SphereIndex(shapely.get_x(pts), shapely.get_y(pts))
    )


def stations_at_risk(
    stations: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    now: pd.Timestamp,
    min_severity: str = "high",
    within_m: float = 5_000.0,
    hours: float = 24.0,
) -> pd.DataFrame:
    """Stations with serious recent incidents within ``within_m``: one row per (station,
    incident) pair, nearest first per station, with ``incidents`` (count per station)."""
    events = serious(incidents, now, min_severity, hours)
    columns = [
        "station_id",
        "station",
        "area",
        "incident_id",
        "type",
        "severity",
        "time",
        "distance_km",
        "incidents",
    ]
    located = stations[stations.geometry.notna() & ~stations.geometry.is_empty]
    if not len(events) or not len(located):
        return pd.DataFrame(columns=columns)
    epts = events.geometry.to_numpy()
    elon, elat = shapely.get_x(epts), shapely.get_y(epts)
    index = _station_index(stations, located)
    s, e = index.within(elon, elat, within_m)
    if not len(s):
        return pd.DataFrame(columns=columns)
    d = geodesy.distances_m(index.lon[s], index.lat[s], elon[e], elat[e])
    area = located["area"] if "area" in located else located.get("admin1")
    # Most incidents first, then by station id, nearest first: sorted on numbers.
    counts = np.bincount(s, minlength=len(located))[s]
    involved, where = np.unique(s, return_inverse=True)
    ids = located["id"].to_numpy(dtype=object)
    id_rank = np.empty(len(involved), dtype=np.int64)
    id_rank[np.argsort(ids[involved].astype(str), kind="stable")] = np.arange(len(involved))
    order = np.lexsort((d, id_rank[where], -counts))
    s, e, d, counts = s[order], e[order], d[order], counts[order]

    def text(values: np.ndarray) -> pd.Series:  # kept as Python objects: no conversion
        return pd.Series(values, dtype=object)

    return pd.DataFrame(
        {
            "station_id": text(ids[s]),
            "station": text(located["name"].to_numpy(dtype=object)[s])
            if "name" in located
            else None,
            "area": text(area.to_numpy(dtype=object)[s]) if area is not None else None,
            "incident_id": text(events["id"].to_numpy(dtype=object)[e]),
            "type": text(events["type"].to_numpy(dtype=object)[e]),
            "severity": text(events["severity"].to_numpy(dtype=object)[e]),
            "time": events["time"].array.take(e),
            "distance_km": np.round(d / 1000, 2),
            "incidents": counts,
        }
    )[columns]


def risk_summary(risk: pd.DataFrame) -> pd.DataFrame:
    """One row per station at risk: incidents nearby, and the nearest one (most first)."""
    if risk.empty:
        return pd.DataFrame(
            columns=["station_id", "station", "area", "incidents", "nearest_incident", "nearest_km"]
        )
    # The pairs come grouped by station, nearest first: each station's first row.
    ids = risk["station_id"].to_numpy(dtype=object)
    first = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
    incidents = risk["incidents"].to_numpy()[first]
    km = risk["distance_km"].to_numpy()[first]
    label = [
        f"{t} ({v}, {i})"
        for t, v, i in zip(
            risk["type"].to_numpy(dtype=object)[first],
            risk["severity"].to_numpy(dtype=object)[first],
            risk["incident_id"].to_numpy(dtype=object)[first],
            strict=True,
        )
    ]
    order = np.lexsort((km, -incidents))  # most incidents first, then the nearest
    return pd.DataFrame(
        {
            "station_id": pd.Series(ids[first][order], dtype=object),
            "station": pd.Series(
                risk["station"].to_numpy(dtype=object)[first][order], dtype=object
            ),
            "area": pd.Series(risk["area"].to_numpy(dtype=object)[first][order], dtype=object),
            "incidents": incidents[order],
            "nearest_incident": pd.Series(np.asarray(label, dtype=object)[order], dtype=object),
            "nearest_km": km[order],
        }
    )


def at_risk_overlay(
    stations: gpd.GeoDataFrame, summary: pd.DataFrame
) -> tuple[dict[str, object], dict[str, object]]:
    """The stations of a :func:`risk_summary` as an overlay on the stations' own map
    dataset (its located rows, in order): "s" 0 for a station at risk, -1 to leave it
    out, and as details its incidents nearby and the nearest one. The browser already
    has the stations' points: a new minute or incident sends only this."""
    geoms = stations.geometry
    located = (geoms.notna() & ~geoms.is_empty).to_numpy()
    position = _kept(
        stations,
        "positions",
        lambda: {
            v: i for i, v in enumerate(stations["id"].to_numpy(dtype=object)[located].tolist())
        },
    )
    n = int(located.sum())
    ids = summary["station_id"].to_numpy(dtype=object)
    on_map = np.fromiter((v in position for v in ids), dtype=bool, count=len(ids))
    at = [position[v] for v in ids[on_map]]
    flagged = summary[on_map]
    s = np.full(n, -1, dtype=np.int64)
    s[at] = 0
    incidents = np.full(n, None, dtype=object)
    nearest = np.full(n, None, dtype=object)
    incidents[at] = [int(c) for c in flagged["incidents"].tolist()]
    nearest[at] = [
        f"{label}, {km} km"
        for label, km in zip(
            flagged["nearest_incident"].tolist(), flagged["nearest_km"].tolist(), strict=True
        )
    ]
    return {"n": n, "s": s.tolist()}, {
        "n": n,
        "columns": {"incidents": incidents.tolist(), "nearest": nearest.tolist()},
    }


def nearest_patrols(
    incident: shapely.Point, bases: gpd.GeoDataFrame, now: pd.Timestamp, count: int = 5
) -> pd.DataFrame:
    """The ``count`` patrol bases active at ``now`` nearest to ``incident``, nearest first
    (distance to a compound's edge), with whether the incident is inside their radius."""
    live = coverage.active_bases(bases, now)
    columns = ["id", "unit", "distance_km", "radius_km", "reaches"]
    if not len(live) or incident is None or incident.is_empty:
        return pd.DataFrame(columns=columns)
    arrays = coverage.BaseArrays.of(live)
    lon, lat = np.array([incident.x]), np.array([incident.y])
    d = arrays.distances(
        lon, lat, np.zeros(len(live), dtype=np.int64), np.arange(len(live), dtype=np.int64)
    )
    order = np.argsort(d, kind="stable")[:count]
    return pd.DataFrame(
        {
            "id": live["id"].to_numpy()[order],
            "unit": live["unit"].to_numpy()[order] if "unit" in live else None,
            "distance_km": np.round(d[order] / 1000, 2),
            "radius_km": np.round(arrays.radius[order] / 1000, 2),
            "reaches": d[order] <= arrays.radius[order],
        }
    )


def arrivals(
    incidents: gpd.GeoDataFrame, seen: frozenset[str] | None, min_severity: str = "high"
) -> tuple[pd.DataFrame, frozenset[str]]:
    """Incidents not in ``seen`` of at least ``min_severity``, and the ids now seen.

    ``seen=None`` (a session's first look) raises nothing: what was already in the feed
    when the screen opened is not news.
    """
    ids = incidents["id"].to_numpy(dtype=object)  # text, as the schema reads ids
    now_seen = frozenset(v for v in ids if v is not None and v == v)  # v == v: not NaN
    if seen is None:
        return incidents.iloc[0:0], now_seen
    if now_seen <= seen:  # nothing new: the usual refresh
        return incidents.iloc[0:0], seen
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    new = np.fromiter((v not in seen for v in ids), dtype=bool, count=len(ids))
    fresh = incidents[new]
    fresh = fresh[(fresh["severity"].map(rank).fillna(-1) >= rank[min_severity]).to_numpy()]
    return fresh.sort_values("time"), seen | now_seen


RISK_STYLE = {"radius": 11, "color": "#ff7f00", "weight": 4, "fillOpacity": 0.0}
LEGEND = ("Early warning", (("station at risk (serious incident nearby)", RISK_STYLE),))


def render_at_risk(
    points: str | dict[str, object],
    overlay: str | dict[str, object],
    details: list[str | dict[str, object]] | None = None,
    where: dict[str, object] | None = None,
    name: str = "Stations at risk",
) -> folium.FeatureGroup:
    """An orange ring around each station at risk (clustered when there are many):
    ``points`` is the stations' map dataset (or its URL), ``overlay`` and the last of
    ``details`` come from :func:`at_risk_overlay`."""
    group = folium.FeatureGroup(name=name)
    mapping.PointCloud(
        "at_risk",
        points,
        [RISK_STYLE],
        tooltip="name",
        popup=(
            ("Station at risk", "name"),
            ("Id", "id"),
            ("Serious incidents nearby", "incidents"),
            ("Nearest", "nearest"),
        ),
        where=where,
        details=details,
        overlay=overlay,
        unit="stations at risk",
        after="stations",
    ).add_to(group)
    return group
