"""Domain layers of the dashboard: one module per feed, each with the same small contract.

A layer module declares ``SPEC`` (its feed, fields and geometry types) and three
functions: ``load(raw, ctx)`` -> clean GeoDataFrame in EPSG:4326 plus problems,
``derive(frame, scene)`` -> a new frame with computed columns (pure, input untouched),
``render(derived)`` -> a folium FeatureGroup. Nothing here imports Streamlit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import folium
import geopandas as gpd

from layers import areas, convoy_positions, convoy_routes, incidents, patrols, polling_stations
from layers.feeds import RawTable
from layers.problems import Problem
from layers.schema import FeedSpec, ReadContext

if TYPE_CHECKING:
    from layers.scene import Scene


class Layer(Protocol):
    """What every layer module provides."""

    SPEC: FeedSpec

    def load(self, raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]: ...

    def derive(self, frame: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame: ...

    def render(self, frame: gpd.GeoDataFrame, name: str = ...) -> folium.FeatureGroup: ...


REGISTRY: dict[str, Layer] = {
    m.SPEC.name: m
    # Drawing order, bottom to top: areas, coverage discs, routes, stations, incidents, convoys.
    for m in (areas, patrols, convoy_routes, polling_stations, incidents, convoy_positions)
}

__all__ = ["REGISTRY", "Layer"]
