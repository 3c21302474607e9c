"""An example layer that no page knows of: storage sites for electoral materials.

It exists to show (tests/test_layers_contract.py) that a new layer takes its own module
and one registry line: nothing in dashboard/ or pollwatch.js names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd

from layers.contract import Derivation, MapView, Publication
from layers.core.problems import Problem
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import POINT_TYPES, FeedSpec, Field, ReadContext
from layers.map.elements import PointCloud
from layers.map.payload import columnar, split_details

if TYPE_CHECKING:
    from layers.scene import Scene

SPEC = FeedSpec(
    name="storage_sites",
    title="Storage sites",
    geometry=POINT_TYPES,
    fields=(
        Field("id", required=True),
        Field("name"),
        Field("admin1"),
        Field("kind", choices=("warehouse", "magazine", "compound"), default="warehouse"),
    ),
    optional=True,
)
STYLE = {"radius": 6, "color": "#000000", "weight": 1, "fillColor": "#984ea3", "fillOpacity": 1}
LEGEND = ("Storage sites", (("storage site", {**STYLE, "shape": "square"}),))
DERIVE = Derivation(areas=True)
FILTERS = {"area": "area"}
PUBLISH = Publication(("main", "details"))


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    return build_frame(raw, SPEC, ctx)


def derive(sites: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    return sites.copy()


def datasets(sites: gpd.GeoDataFrame) -> dict[str, Any]:
    data = columnar(sites, ["name", "kind", "area"])
    main, details = split_details(data, tuple(FILTERS.values()))
    return {"main": main, "details": details}


def draw(view: MapView) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=SPEC.title)
    sources = view.sources.get(SPEC.name, {})
    PointCloud(
        SPEC.name,
        sources.get("main") or datasets(view.shown[SPEC.name])["main"],
        [STYLE],
        tooltip="name",
        popup=(("Site", "name"), ("Kind", "kind")),
        where=dict(view.where.get(SPEC.name, {})),
        details=sources.get("details"),
    ).add_to(group)
    return group
