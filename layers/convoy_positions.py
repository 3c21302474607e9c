"""Convoy position pings, and each convoy's latest position with its status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from layers.contract import Derivation, MapView, Publication
from layers.core.problems import Problem
from layers.geo import convoys
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import POINT_TYPES, FeedSpec, Field, ReadContext
from layers.map.elements import feature_group
from layers.map.payload import category_index, feature_collection, popup_columns

if TYPE_CHECKING:
    from layers.scene import Scene

ARRIVED_WITHIN_M = 1_000.0
STALE_AFTER = pd.Timedelta(minutes=30)

SPEC = FeedSpec(
    name="convoy_positions",
    title="Convoy positions",
    geometry=POINT_TYPES,
    grows=True,
    tracks=True,
    id_field=None,
    doc="Position pings: one row per convoy per report (or the timed points of GPS "
    "tracks, GPX or KML, one track per convoy).",
    fields=(
        Field(
            "convoy_id",
            required=True,
            aliases=("convoy", "vehicle_id", "unit_id", "track"),
            doc="Which convoy reported.",
        ),
        Field(
            "time",
            "time",
            required=True,
            aliases=("timestamp", "datetime", "recorded_at", "ping_time", "reported_at"),
            doc="When the position was recorded.",
        ),
        Field(
            "speed_kmh",
            "float",
            aliases=("speed",),
            minimum=0,
            maximum=300,
            unit="km/h",
            doc="Reported speed (optional).",
        ),
    ),
)

STATES = ("scheduled", "en route", "arrived", "delayed", "no position")
STYLES = (
    {"radius": 7, "color": "#ffffff", "weight": 2, "fillColor": "#969696", "fillOpacity": 1},
    {"radius": 8, "color": "#ffffff", "weight": 2, "fillColor": "#54278f", "fillOpacity": 1},
    {"radius": 7, "color": "#ffffff", "weight": 2, "fillColor": "#1b7837", "fillOpacity": 1},
    {"radius": 9, "color": "#000000", "weight": 3, "fillColor": "#e66101", "fillOpacity": 1},
    {"radius": 7, "color": "#000000", "weight": 1, "fillColor": "#ffffff", "fillOpacity": 1},
)
ALERT_STYLE = {
    "radius": 10,
    "color": "#d7191c",
    "weight": 4,
    "fillColor": "#ffffff",
    "fillOpacity": 1,
}
POPUP = (
    ("Convoy", "convoy_id"),
    ("State", "state"),
    ("Route", "route_id"),
    ("Cargo", "cargo"),
    ("To", "destination"),
    ("Last ping", "time"),
    ("Ping age, min", "ping_age_min"),
    ("Position stale", "stale"),
    ("Done, km", "done_km"),
    ("Done, %", "done_pct"),
    ("Speed (last 30 min), km/h", "speed_kmh"),
    ("ETA", "eta"),
    ("Off the route, m", "off_route_m"),
    ("Alerts", "alerts"),
)


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean pings frame and problems."""
    return build_frame(raw, SPEC, ctx)


def latest(pings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each convoy's most recent located ping, in convoy id order."""
    p = convoys.Pings.of(pings)
    return pings.iloc[p.rows[p.last]].reset_index(drop=True)


def derive(pings: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """One row per convoy: latest position, its route, progress, alerts and a state.

    scheduled: before planned departure and not moved yet; arrived: within 1 km of the
    route's end; delayed: past planned arrival and not arrived; en route otherwise.
    """
    routes = scene["convoy_routes"]
    now = scene.now
    tracked = convoys.track(pings, routes, now)
    if not len(tracked):
        return _empty_derived(pings, routes)
    last = pings.iloc[tracked["ping"].to_numpy()].reset_index(drop=True)
    plan = routes.drop(columns="geometry").drop_duplicates("convoy_id")
    out = last.merge(plan, on="convoy_id", how="left", suffixes=("", "_route"))
    arrived = tracked["arrived"].to_numpy(dtype=bool)
    late = (out["planned_arrival"] < now).fillna(False).to_numpy(dtype=bool)
    early = (out["planned_departure"] > now).fillna(False).to_numpy(dtype=bool)
    out["state"] = np.select(
        [arrived, late, early], ["arrived", "delayed", "scheduled"], "en route"
    )
    out["ping_age_min"] = ((now - out["time"]).dt.total_seconds() / 60).round(0)
    out["stale"] = (~arrived) & ((now - out["time"]) > STALE_AFTER).to_numpy(dtype=bool)
    out = out.merge(tracked.drop(columns=["time", "ping", "arrived"]), on="convoy_id", how="left")
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def _empty_derived(pings: gpd.GeoDataFrame, routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """No located ping: the derived columns, no rows."""
    plan = routes.drop(columns="geometry").drop_duplicates("convoy_id")
    out = pings.iloc[0:0].merge(plan, on="convoy_id", how="left", suffixes=("", "_route"))
    for column in ("state", "ping_age_min", "stale"):
        out[column] = pd.Series(dtype=object)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def _style_index(convoys: gpd.GeoDataFrame) -> np.ndarray:
    index = category_index(convoys["state"], STATES)
    if "alerts" in convoys:  # any alert outranks the state: a red ring draws the eye
        alerted = convoys["alerts"].fillna("").astype(str).ne("").to_numpy()
        index = np.where(alerted, len(STYLES), index)
    return index


def dataset(convoys: gpd.GeoDataFrame) -> dict[str, Any]:
    """The latest positions (derived frame) as the map's FeatureCollection, styled."""
    columns = popup_columns(POPUP, "convoy_id")
    return feature_collection(convoys, columns, _style_index(convoys))


def render(
    convoys: gpd.GeoDataFrame,
    name: str = "Convoys (latest position)",
    *,
    source: str | None = None,
) -> folium.FeatureGroup:
    """Latest convoy positions coloured by state (derived frame); ``source``: the URL of
    their :func:`dataset`, fetched by the browser instead of sent with every rerun."""
    return feature_group(
        name,
        convoys,
        [*STYLES, ALERT_STYLE],
        _style_index(convoys),
        tooltip="convoy_id",
        popup=POPUP,
        source=source,
        layer="convoys",
    )


LEGEND = (
    "Convoys",
    (
        *((state, style) for state, style in zip(STATES, STYLES, strict=True)),
        ("with an alert (off route, overdue, stale, stopped)", ALERT_STYLE),
    ),
)


DERIVE = Derivation(needs=("convoy_routes",), ages=True)
FILTERS = {"convoy": "state"}
PUBLISH = Publication(("features",), shown=True)


def datasets(convoys: gpd.GeoDataFrame) -> dict[str, Any]:
    """The latest positions the filters keep (:func:`dataset`)."""
    return {"features": dataset(convoys)}


def draw(view: MapView) -> folium.FeatureGroup:
    """The published positions."""
    return render(view.shown[SPEC.name], source=view.sources.get(SPEC.name, {}).get("features"))
