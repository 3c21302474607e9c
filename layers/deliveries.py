"""Deliveries of electoral materials to polling stations: chain-of-custody events, each
located at the station it concerns; the map shows each station by how far its materials
got (:mod:`layers.analysis.deliveries` reads the same events per station and per area)."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from layers.contract import Derivation, MapView, Publication
from layers.core import growth
from layers.core.problems import Level, Problem
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import FeedSpec, Field, ReadContext
from layers.map.elements import PointCloud, overlay_group
from layers.map.payload import columnar, split_details

if TYPE_CHECKING:
    from layers.scene import Scene

# The chain of custody in order; "returned" and "missing" end it otherwise.
STATES = (
    "planned",
    "loaded",
    "dispatched",
    "delivered",
    "receipt_signed",
    "returned",
    "missing",
)
HERE = ("delivered", "receipt_signed")  # the item is at the station

SPEC = FeedSpec(
    name="deliveries",
    title="Deliveries",
    geometry=(),
    id_field=None,
    optional=True,
    grows=True,
    doc="Chain-of-custody events of electoral materials, one row per event: an item kind "
    "for one station changing hands. Rows carry no location: each is drawn at its station.",
    fields=(
        Field(
            "time",
            "time",
            required=True,
            aliases=("timestamp", "datetime", "event_time", "recorded_at"),
            doc="When the event happened.",
        ),
        Field(
            "station_id",
            required=True,
            aliases=("station", "polling_station_id", "ps_code", "#loc+code"),
            doc="The polling station the item is for (its `id` in polling_stations).",
        ),
        Field(
            "item_kind",
            required=True,
            aliases=("item", "material", "kind"),
            doc="What moved: e.g. ballot_kit, sensitive_materials, non_sensitive_materials. "
            "A station has everything when every kind in the feed reached it.",
        ),
        Field(
            "state",
            "choice",
            required=True,
            choices=STATES,
            synonyms={
                "scheduled": "planned",
                "packed": "loaded",
                "in_transit": "dispatched",
                "en_route": "dispatched",
                "departed": "dispatched",
                "arrived": "delivered",
                "received": "receipt_signed",
                "signed": "receipt_signed",
                "receipt": "receipt_signed",
                "lost": "missing",
                "stolen": "missing",
                "sent_back": "returned",
            },
            doc="Where the item is in the chain of custody.",
        ),
        Field(
            "count",
            "int",
            aliases=("quantity", "qty", "items"),
            minimum=0,
            maximum=1_000_000,
            unit="items",
            doc="How many items moved.",
        ),
        Field(
            "storage_site",
            aliases=("site_id", "from_site", "store"),
            doc="The storage site the items came from (its `id` in storage_sites).",
        ),
        Field("convoy_id", aliases=("convoy",), doc="The convoy carrying them."),
        Field("signed_by", aliases=("signatory", "received_by"), doc="Who signed for them."),
    ),
)

STATION_STATES = ("all delivered", "in transit", "waiting", "missing")
_FILLS = (
    {"radius": 5, "color": "#ffffff", "weight": 1, "fillColor": "#1a9850", "fillOpacity": 1.0},
    {"radius": 6, "color": "#ffffff", "weight": 1, "fillColor": "#fdae61", "fillOpacity": 1.0},
    {"radius": 6, "color": "#000000", "weight": 1, "fillColor": "#ffffbf", "fillOpacity": 1.0},
    {"radius": 8, "color": "#000000", "weight": 2, "fillColor": "#d73027", "fillOpacity": 1.0},
)
STYLES = tuple({**style, "shape": "diamond"} for style in _FILLS)
POPUP = (
    ("Station", "station_id"),
    ("Materials", "delivery"),
    ("Waiting for", "waiting_for"),
    ("Last event", "time"),
)
LEGEND = (
    "Deliveries (by station)",
    tuple((state, style) for state, style in zip(STATION_STATES, STYLES, strict=True)),
)


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean events frame and problems."""
    return build_frame(raw, SPEC, ctx)


def check(
    events: gpd.GeoDataFrame, frames: Mapping[str, gpd.GeoDataFrame], file: str | None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Events for a station the stations feed does not list: kept, reported (they count
    for no station until it does)."""
    if not len(events) or not len(frames["polling_stations"]):
        return events, []
    at = _at_station(frames["polling_stations"], events)
    unknown = events["station_id"].notna().to_numpy() & (at < 0)
    problems = []
    if unknown.any():
        rows = events.loc[unknown, "source_row"].astype(int).tolist()
        ids = list(dict.fromkeys(events.loc[unknown, "station_id"].astype(str)))
        problems.append(
            Problem(
                SPEC.name,
                file,
                rows[0],
                "station_id",
                (
                    f"{len(rows):,} events name stations"
                    if len(rows) > 1
                    else "an event names a station"
                )
                + " the stations feed does not list "
                + f"({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''}); "
                + ("rows " if len(rows) > 1 else "row ")
                + f"{', '.join(map(str, rows[:5]))}{', ...' if len(rows) > 5 else ''}.",
                "Check the station codes against polling_stations; these events count for "
                "no station until they match.",
                Level.WARNING,
                "unknown_station",
            )
        )
    return events, problems


def derive(events: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """Events at their station's location, with its ``admin1`` (so they take its area)."""
    stations = scene["polling_stations"]
    out = events.copy()
    at = _at_station(stations, events)
    found = at >= 0
    geoms = np.full(len(out), None, dtype=object)
    geoms[found] = stations.geometry.to_numpy()[at[found]]
    admin1 = np.full(len(out), None, dtype=object)
    if "admin1" in stations:
        admin1[found] = stations["admin1"].to_numpy()[at[found]]
    out["admin1"] = admin1
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs="EPSG:4326"))


def _at_station(stations: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Each event's station row in ``stations`` (-1: no such station; the first of a
    repeated id), found once per events and stations frames (the check and the derive
    both ask)."""

    def build() -> tuple[weakref.ref[pd.DataFrame], np.ndarray]:
        return weakref.ref(stations), _rows_of(stations, events["station_id"])

    held = growth.kept(events, "station rows", build)
    return held[1] if held[0]() is stations else build()[1]


def _rows_of(stations: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """Each id's row in ``stations``. A hash index, not Series.isin: on Arrow strings
    isin turns each of 180,000 ids into a Python object first (1.2 s at national scale)."""
    if "id" not in stations or not len(stations) or not len(ids):
        return np.full(len(ids), -1)
    known = pd.Index(stations["id"].astype(str).to_numpy(dtype=object))
    first = ~known.duplicated()
    positions = np.flatnonzero(first)
    asked = ids.astype(str).to_numpy(dtype=object)
    at = pd.Index(known[first]).get_indexer(asked)
    out = np.where(at >= 0, positions[np.maximum(at, 0)], -1)
    return np.where(ids.notna().to_numpy(), out, -1)


def by_station(events: pd.DataFrame) -> pd.DataFrame:
    """Per station, from its events: ``delivery`` (one of STATION_STATES), the item kinds
    not at the station (``waiting_for``), the convoy carrying the last of them, and the
    time of its last event. Every item kind in the feed is needed at every station that
    has an event; an item's state is its latest event's."""
    columns = ["station_id", "delivery", "waiting_for", "convoy_id", "time"]
    rows = events[events["station_id"].notna() & events["item_kind"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    kinds = sorted(rows["item_kind"].astype(str).unique())
    ordered = rows.sort_values(["time", "source_row"], kind="stable", na_position="first")
    latest = ordered.groupby(["station_id", "item_kind"], sort=False).tail(1)
    state = latest.pivot(index="station_id", columns="item_kind", values="state")
    state = state.reindex(columns=kinds)
    here = state.isin(HERE)
    missing = (state == "missing").any(axis=1)
    moving = state.isin(("loaded", "dispatched")).any(axis=1)
    out = pd.DataFrame(index=state.index)
    out["delivery"] = np.select(
        [missing, here.all(axis=1), moving],
        ["missing", "all delivered", "in transit"],
        "waiting",
    )
    out["waiting_for"] = [
        ", ".join(k for k, ok in zip(kinds, flags, strict=True) if not ok)
        for flags in here.to_numpy()
    ]
    if "convoy_id" in latest:  # not for a viewer who may not see convoys
        away = latest[~latest["state"].isin(HERE) & latest["convoy_id"].notna()]
        out["convoy_id"] = away.groupby("station_id", sort=False)["convoy_id"].last()
    else:
        columns.remove("convoy_id")
    out["time"] = latest.groupby("station_id", sort=False)["time"].max()
    return out.reset_index()[columns]


def datasets(events: gpd.GeoDataFrame) -> dict[str, Any]:
    """Each station with events, at its location, coloured by how far its materials got."""
    stations = by_station(events)
    first = events.drop_duplicates("station_id").set_index("station_id")
    where = first.reindex(stations["station_id"])
    frame = gpd.GeoDataFrame(
        stations.assign(area=where["area"].to_numpy() if "area" in where else None),
        geometry=gpd.GeoSeries(where.geometry.to_numpy(), crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    style = frame["delivery"].map({s: i for i, s in enumerate(STATION_STATES)}).to_numpy(int)
    data = columnar(frame, [*(p for _, p in POPUP), *FILTERS.values()], style)
    main, details = split_details(data, tuple(FILTERS.values()))
    return {"main": main, "details": details}


DERIVE = Derivation(needs=("polling_stations",), row_wise=True, areas=True, check=check)
FILTERS = {"area": "area"}
PUBLISH = Publication(("main", "details"))


def draw(view: MapView) -> folium.FeatureGroup:
    """Stations by delivery state; off until switched on (the stations layer shows them)."""
    sources = view.sources.get(SPEC.name) or datasets(view.shown[SPEC.name])
    group = overlay_group(LEGEND[0], show=False)
    PointCloud(
        SPEC.name,
        sources["main"],
        STYLES,
        tooltip="station_id",
        popup=POPUP,
        where=dict(view.where.get(SPEC.name, {})),
        details=sources["details"],
        unit="stations",
        share_style=0,  # clusters coloured by their share of stations with everything
        share_label="with all materials",
    ).add_to(group)
    return group
