"""Patrol bases and the geodesic discs they cover."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import shapely

from layers.contract import Derivation, MapView, Publication
from layers.core.problems import Problem
from layers.geo import geodesy
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import AREA_TYPES, POINT_TYPES, FeedSpec, Field, ReadContext
from layers.map.elements import FeatureLayer, PointCloud
from layers.map.payload import columnar, feature_collection

if TYPE_CHECKING:
    from layers.scene import Scene

DEFAULT_RADIUS_M = 10_000.0

SPEC = FeedSpec(
    name="patrols",
    title="Patrol bases",
    geometry=(*POINT_TYPES, *AREA_TYPES),
    doc="Patrol bases or positions: a point, or a compound polygon whose edge the radius is "
    "measured from.",
    fields=(
        Field("id", aliases=("base_id", "patrol_id", "#loc+code"), doc="Unique base id."),
        Field(
            "unit",
            aliases=("name", "unit_name", "contingent", "#org+name"),
            doc="Unit or base name.",
        ),
        Field(
            "radius_m",
            "float",
            aliases=("radius", "patrol_radius_m", "coverage_m"),
            default=DEFAULT_RADIUS_M,
            minimum=0,
            maximum=200_000,
            unit="metres",
            doc="Patrol radius in metres, measured from the point or the compound's edge.",
        ),
        Field(
            "status",
            "choice",
            choices=("active", "standby"),
            default="active",
            synonyms={
                "on_duty": "active",
                "deployed": "active",
                "patrolling": "active",
                "inactive": "standby",
                "off_duty": "standby",
                "reserve": "standby",
            },
            doc="Only active bases cover stations.",
        ),
        Field(
            "unit_type",
            aliases=("type", "unit_category", "#org+type"),
            doc="Kind of unit (e.g. infantry, formed police, engineers); what-if radii per type.",
        ),
        Field("shift_start", "time", doc="Start of the shift (optional; none = always)."),
        Field("shift_end", "time", doc="End of the shift (optional; none = always)."),
    ),
)

NEVER = 10**9  # never cluster: every base is drawn
BASE_STYLES = (
    {"radius": 6, "color": "#08306b", "weight": 2, "fillColor": "#2171b5", "fillOpacity": 1.0},
    {"radius": 6, "color": "#08306b", "weight": 2, "fillColor": "#ffffff", "fillOpacity": 1.0},
)
DISC_STYLES = (
    {"color": "#2171b5", "weight": 1, "fillColor": "#6baed6", "fillOpacity": 0.15},
    {"color": "#6b6b6b", "weight": 1, "dashArray": "4 4", "fillOpacity": 0.0},
)
POPUP = (
    ("Base", "unit"),
    ("Id", "id"),
    ("Status", "status"),
    ("Radius, km", "radius_km"),
    ("Shift start", "shift_start"),
    ("Shift end", "shift_end"),
)


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean bases frame and problems."""
    return build_frame(raw, SPEC, ctx)


def derive(bases: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """Bases with ``radius_km`` and, for compounds, ``disc``: their edge grown by the radius
    (in their own local projection), in EPSG:4326. A point base has no disc polygon: the
    map draws its circle from the centre and the radius."""
    out = bases.copy()
    out["radius_km"] = (out["radius_m"] / 1000).round(2)
    geoms = out.geometry.to_numpy()
    discs = np.full(len(out), None, dtype=object)
    located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    compound = located & (shapely.get_type_id(geoms) != 0)
    radius = out["radius_m"].to_numpy(dtype=float)
    for i in np.flatnonzero(compound):
        discs[i] = geodesy.buffer_m(geoms[i], radius[i])
    out["disc"] = gpd.GeoSeries(discs, index=out.index, crs="EPSG:4326")
    return out


def datasets(bases: gpd.GeoDataFrame) -> dict[str, Any]:
    """What the map draws of the bases (derived frame): "points" (each base, the radius of a
    point base for the browser to draw) and "discs" (compounds' grown outlines)."""
    standby = (bases["status"] != "active").to_numpy(dtype=int)
    point = (bases.geom_type == "Point").to_numpy()
    discs = (
        feature_collection(bases[~point].set_geometry("disc"), ["unit"], standby[~point])
        if (~point).any() and "disc" in bases
        else {"type": "FeatureCollection", "features": []}
    )
    radius = bases["radius_m"].where(point)
    points = columnar(bases.assign(disc_m=radius), [p for _, p in POPUP], standby, radius="disc_m")
    return {"points": points, "discs": discs}


def render(
    bases: gpd.GeoDataFrame,
    name: str = "Patrol coverage",
    *,
    sources: dict[str, str] | None = None,
) -> folium.FeatureGroup:
    """Coverage discs (active filled, standby dashed) and base markers (derived frame).

    ``sources``: URLs of :func:`datasets` of these bases, fetched once by the browser;
    without them the data travels inside the page.
    """
    data: dict[str, Any] = dict(sources) if sources is not None else datasets(bases)
    group = folium.FeatureGroup(name=name)
    if sources is not None or data["discs"]["features"]:
        FeatureLayer(data["discs"], DISC_STYLES, tooltip="unit", name="patrol_discs").add_to(group)
    # Point bases: the browser draws each disc from centre and radius (a few bytes each).
    PointCloud(
        "patrols",
        data["points"],
        BASE_STYLES,
        tooltip="unit",
        popup=POPUP,
        disc_styles=DISC_STYLES,
        cluster_above=NEVER,
    ).add_to(group)
    return group


LEGEND = (
    "Patrol coverage",
    (("active base and radius", DISC_STYLES[0]), ("standby (not counted)", DISC_STYLES[1])),
)


DERIVE = Derivation()
FILTERS: dict[str, str] = {}
PUBLISH = Publication(("points", "discs"))


def draw(view: MapView) -> folium.FeatureGroup:
    """Every base and its coverage, from the published parts."""
    sources = view.sources.get(SPEC.name)
    return render(view.shown[SPEC.name], sources=dict(sources) if sources else None)
