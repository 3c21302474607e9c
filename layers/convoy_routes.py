"""Planned convoy routes: which convoy carries what, from where to where, and when."""

from __future__ import annotations

from typing import TYPE_CHECKING

import folium
import geopandas as gpd

from layers import mapping
from layers.feeds import RawTable
from layers.problems import Problem
from layers.schema import LINE_TYPES, FeedSpec, Field, ReadContext, build_frame

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

STYLES = ({"color": "#54278f", "weight": 4, "opacity": 0.8},)
DISPLAY_TOLERANCE_DEG = 0.0002
POPUP = (
    ("Route", "route_id"),
    ("Convoy", "convoy_id"),
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
    from layers.geodesy import GEOD

    return float(GEOD.geometry_length(line)) / 1000


def render(routes: gpd.GeoDataFrame, name: str = "Convoy routes") -> folium.FeatureGroup:
    """Planned routes as lines."""
    shown = routes.copy()
    # About 20 m on the ground: invisible at any zoom a route is read at, a fraction of the bytes.
    shown.geometry = routes.geometry.simplify(DISPLAY_TOLERANCE_DEG)
    return mapping.feature_group(name, shown, STYLES, tooltip="route_id", popup=POPUP)


LEGEND = ("Convoy routes", (("planned route", {**STYLES[0], "fillColor": STYLES[0]["color"]}),))
