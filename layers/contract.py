"""What every layer module provides: the contract the registry, the pages and the tests use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import folium
import geopandas as gpd

from layers.core.problems import Problem
from layers.io.raw import RawTable
from layers.io.spec import FeedSpec, ReadContext
from layers.map.elements import LegendSection

if TYPE_CHECKING:
    from layers.scene import Scene


class Layer(Protocol):
    """A layer module: ``SPEC`` (its feed, fields and geometry types), ``load`` (raw table
    to a clean GeoDataFrame in EPSG:4326 and problems), ``derive`` (computed columns; pure,
    input untouched) and ``render`` (a folium FeatureGroup)."""

    SPEC: FeedSpec
    LEGEND: LegendSection  # how the layer looks on the map, for the legend

    def load(self, raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]: ...

    def derive(self, frame: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame: ...

    def render(self, frame: gpd.GeoDataFrame, name: str = ...) -> folium.FeatureGroup: ...
