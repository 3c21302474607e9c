"""Administrative areas (optional): polygons for per-area figures and as a map background."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd

from layers.contract import Derivation, MapView, Publication
from layers.core.problems import Problem
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import AREA_TYPES, FeedSpec, Field, ReadContext
from layers.map.elements import feature_group

if TYPE_CHECKING:
    from layers.scene import Scene

SPEC = FeedSpec(
    name="areas",
    title="Areas",
    geometry=AREA_TYPES,
    id_field=None,
    optional=True,
    doc="Admin-area polygons (counties, districts...). Optional.",
    fields=(
        Field(
            "name",
            aliases=(
                "area",
                "admin1",
                "admin1name",  # OCHA boundaries (a DBF keeps 10 characters: admin1Name)
                "admin1_name",
                "adm1_en",  # OCHA COD-AB
                "adm1_name",
                "state_name",
                "county",
                "county_nam",
                "district",
                "province",
                "shapename",
                "name_1",
                "#adm1+name",
            ),
            doc="Area name.",
        ),
        Field(
            "code",
            aliases=(
                "pcode",
                "admin1pcode",
                "admin1pcod",  # admin1Pcode cut to 10 characters by a DBF
                "adm1_pcode",
                "county_cod",
                "iso_3166_2",
                "#adm1+code",
            ),
            doc="Area code (optional).",
        ),
        Field(
            "level",
            "int",
            aliases=("admin_level", "adm_level"),
            minimum=0,
            maximum=5,
            doc="Admin level, 1 = first level (optional).",
        ),
    ),
)

STYLES = ({"color": "#4d4d4d", "weight": 1.5, "fillColor": "#f0f0f0", "fillOpacity": 0.05},)


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean areas frame and problems."""
    return build_frame(raw, SPEC, ctx)


def derive(areas: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """Areas as loaded (per-area figures come from the coverage and incident analyses)."""
    return areas.copy()


def render(areas: gpd.GeoDataFrame, name: str = "Areas") -> folium.FeatureGroup:
    """Area outlines with their names as tooltips."""
    return feature_group(
        name, areas, STYLES, tooltip="name", popup=(("Area", "name"),), layer="areas"
    )


LEGEND = ("Areas", (("area outline", {**STYLES[0], "shape": "square"}),))


DERIVE = Derivation()
FILTERS = {"area": "name"}
PUBLISH = Publication()  # a few polygons: inline with the map


def datasets(areas: gpd.GeoDataFrame) -> dict[str, Any]:
    """None: the areas travel inline with the map."""
    return {}


def draw(view: MapView) -> folium.FeatureGroup:
    """The areas the filters keep."""
    return render(view.shown[SPEC.name])
