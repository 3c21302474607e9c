"""Planned convoy routes: which convoy carries what, from where to where, and when."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from layers.contract import Derivation, MapView, Publication
from layers.core.predicates import located
from layers.core.problems import Problem
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import LINE_TYPES, FeedSpec, Field, ReadContext
from layers.map.elements import FeatureLayer
from layers.map.payload import category_index, display_value, feature_collection

if TYPE_CHECKING:
    from layers.scene import Scene

SPEC = FeedSpec(
    name="convoy_routes",
    title="Convoy routes",
    geometry=LINE_TYPES,
    id_field="route_id",
    doc="One line per planned route, drawn from origin to destination.",
    fields=(
        Field("route_id", aliases=("id", "route"), doc="Unique route id."),
        Field("convoy_id", aliases=("convoy",), doc="The convoy that drives this route."),
        Field(
            "cargo",
            aliases=("load", "payload"),
            doc="What it carries (ballots, result sheets, materials...).",
        ),
        Field("origin", aliases=("from", "start"), doc="Name of the starting point."),
        Field("destination", aliases=("to", "end"), doc="Name of the end point."),
        Field(
            "planned_departure",
            "time",
            aliases=("departure", "depart_at"),
            doc="Planned departure time.",
        ),
        Field(
            "planned_arrival",
            "time",
            aliases=("arrival", "arrive_at", "eta"),
            doc="Planned arrival time.",
        ),
    ),
)

# A route is drawn by the state of its convoy (see convoy_positions.STATES), any alert first.
STATES = ("scheduled", "en route", "arrived", "delayed", "no position", "alert")
STYLES = (
    {"color": "#969696", "weight": 3, "opacity": 0.9, "dashArray": "8 6"},
    {"color": "#54278f", "weight": 4, "opacity": 0.8},
    {"color": "#1b7837", "weight": 2, "opacity": 0.7},
    {"color": "#e66101", "weight": 5, "opacity": 0.9},
    {"color": "#54278f", "weight": 2, "opacity": 0.6, "dashArray": "2 6"},
    {"color": "#d7191c", "weight": 6, "opacity": 0.9, "dashArray": "12 6"},
)
DISPLAY_TOLERANCE_DEG = 0.0002
POPUP = (
    ("Route", "route_id"),
    ("Convoy", "convoy_id"),
    ("Convoy state", "state"),
    ("Alerts", "alerts"),
    ("Cargo", "cargo"),
    ("From", "origin"),
    ("To", "destination"),
    ("Planned departure", "planned_departure"),
    ("Planned arrival", "planned_arrival"),
)


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean routes frame and problems."""
    return build_frame(raw, SPEC, ctx)


def derive(routes: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """Routes with their geodesic length in km."""
    out = routes.copy()
    out["length_km"] = [round(_length_km(g), 1) if g is not None else None for g in out.geometry]
    return out


def _length_km(line: object) -> float:
    from layers.geo.geodesy import GEOD

    return float(GEOD.geometry_length(line)) / 1000


def with_convoys(routes: gpd.GeoDataFrame, convoys: pd.DataFrame) -> gpd.GeoDataFrame:
    """Routes with their convoy's ``state`` and ``alerts`` (derived convoy positions);
    "no position" for a route whose convoy has not reported."""
    out = routes.copy()
    if "convoy_id" not in out or not len(convoys):
        out["state"], out["alerts"] = "no position", ""
        return out
    latest = pd.DataFrame(convoys).drop_duplicates("convoy_id").set_index("convoy_id")
    state = out["convoy_id"].map(latest["state"]) if "state" in latest else None
    alerts = out["convoy_id"].map(latest["alerts"]) if "alerts" in latest else None
    out["state"] = "no position" if state is None else state.fillna("no position")
    out["alerts"] = "" if alerts is None else alerts.fillna("")
    return out


FIXED_POPUP = [p for _, p in POPUP if p not in ("state", "alerts")]


def dataset(routes: gpd.GeoDataFrame) -> dict[str, Any]:
    """The routes' lines (simplified to about 20 m, invisible at any zoom a route is read
    at, a fraction of the bytes) with their fixed popup fields, in the frame's order."""
    shown = routes.copy()
    shown.geometry = routes.geometry.simplify(DISPLAY_TOLERANCE_DEG)
    return feature_collection(shown, FIXED_POPUP)


def render(
    routes: gpd.GeoDataFrame,
    name: str = "Convoy routes",
    *,
    source: str | None = None,
    shown: pd.DataFrame | None = None,
) -> folium.FeatureGroup:
    """Routes as lines, styled by their convoy's state when :func:`with_convoys` gave one
    (a convoy with an alert in red).

    ``source``: URL of :func:`dataset` of these routes, fetched once by the browser; each
    rerun then sends only the styles, states and alerts. ``shown``: the routes a filter
    kept (rows of ``routes`` by index); the others are not drawn.
    """
    if "state" in routes:
        index = category_index(routes["state"], STATES[:-1])
        alerted = routes["alerts"].fillna("").astype(str).ne("").to_numpy()
        index = np.where(alerted, len(STATES) - 1, index)
    else:
        index = np.full(len(routes), STATES.index("en route"))
    here = located(routes.geometry)
    if shown is not None:
        index = np.where(routes.index.isin(shown.index), index, -1)
    overlay = {
        "s": index[here].tolist(),
        "columns": {
            c: [display_value(v) for v in routes.loc[here, c].tolist()]
            for c in ("state", "alerts")
            if c in routes
        },
    }
    group = folium.FeatureGroup(name=name)
    FeatureLayer(
        source if source is not None else dataset(routes),
        STYLES,
        tooltip="route_id",
        popup=POPUP,
        overlay=overlay,
        name="convoy_routes",
    ).add_to(group)
    return group


LEGEND = (
    "Convoy routes (by convoy state)",
    tuple(
        (
            state if state != "alert" else "convoy with an alert",
            {**style, "shape": "line"},
        )
        for state, style in zip(STATES, STYLES, strict=True)
    ),
)


DERIVE = Derivation()
FILTERS: dict[str, str] = {}  # a route is shown with its convoy (see draw)
PUBLISH = Publication(("lines",))


def datasets(routes: gpd.GeoDataFrame) -> dict[str, Any]:
    """The routes' lines (:func:`dataset`)."""
    return {"lines": dataset(routes)}


def draw(view: MapView) -> folium.FeatureGroup:
    """Every route as published (the lines are fetched once), styled by its convoy's state;
    the routes of convoys the filters leave out are hidden (a route whose convoy has not
    reported yet stays, unless a filter hides convoys)."""
    routes = view.derived[SPEC.name]
    every, kept = view.derived["convoy_positions"], view.shown["convoy_positions"]
    narrowed = len(kept) < len(every)
    shown = routes[routes["convoy_id"].isin(kept["convoy_id"])] if narrowed else routes
    return render(
        with_convoys(routes, every),
        source=view.sources.get(SPEC.name, {}).get("lines"),
        shown=shown,
    )
