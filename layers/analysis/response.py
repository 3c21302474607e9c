"""What to do about an incident: nearest patrols on duty, and incidents new to a session."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core import growth
from layers.core.predicates import at_least
from layers.geo import coverage


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

    def present(rows: gpd.GeoDataFrame) -> frozenset[str]:
        ids = rows["id"].to_numpy(dtype=object)  # text, as the schema reads ids
        return frozenset(v for v in ids if v is not None and v == v)  # v == v: not NaN

    # Kept per incidents frame (and grown with its new rows): the usual refresh, where
    # nothing is new, compares two sets it already has.
    now_seen = growth.kept(
        incidents,
        "arrivals ids",
        lambda: present(incidents),
        lambda ids, added: ids | present(added),
    )
    if seen is None:
        return incidents.iloc[0:0], now_seen
    if now_seen is seen:  # nothing new: the usual refresh
        return incidents.iloc[0:0], seen
    news = now_seen - seen
    if not news:
        return incidents.iloc[0:0], seen
    fresh = incidents[incidents["id"].isin(news).to_numpy(dtype=bool)]
    fresh = fresh[at_least(fresh["severity"], min_severity)]
    # Ids only come: then every id seen is still in the feed, and the feed's set is it.
    everything = now_seen if len(seen) + len(news) == len(now_seen) else seen | now_seen
    return fresh.sort_values("time"), everything
