"""What every layer module provides: the contract the registry, the pages and the tests use.

A page never names a layer: it derives, filters, publishes and draws every layer of
:data:`layers.registry.REGISTRY` through this contract. Adding a layer takes its own
module, its test and one registry line.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import folium
import geopandas as gpd

from layers.core.problems import Problem
from layers.io.raw import RawTable
from layers.io.spec import FeedSpec, ReadContext
from layers.map.elements import LegendSection

if TYPE_CHECKING:
    from layers.scene import Scene


@dataclass(frozen=True)
class Derivation:
    """What a layer's ``derive`` reads besides its own feed, so that its derived frame is
    computed again exactly when one of them changed.

    ``needs``: other feeds. ``moment``: what of the clock it depends on (the stations:
    which bases are on shift). ``ages``: columns that age by the minute (convoy pings).
    ``row_wise``: each row derives on its own, so rows appended to the feed derive alone.
    ``areas``: rows get an ``area`` (:mod:`layers.analysis.areas`).
    ``check``: a check of the loaded frame against the feeds it ``needs`` (frames by
    name), made in the scene itself so that every page and analysis sees its result:
    the frame as checked, and the problems found (stations outside the country,
    :mod:`layers.geo.outliers`).
    """

    needs: tuple[str, ...] = ()
    moment: Callable[[Scene], Hashable] | None = None
    ages: bool = False
    row_wise: bool = False
    areas: bool = False
    check: (
        Callable[
            [gpd.GeoDataFrame, Mapping[str, gpd.GeoDataFrame], str | None],
            tuple[gpd.GeoDataFrame, list[Problem]],
        ]
        | None
    ) = None


@dataclass(frozen=True)
class Publication:
    """How a layer's data reaches the browser: ``parts`` of static files, built by the
    layer's ``datasets`` from its derived frame (``shown=False``: once per version) or from
    the frame the filters keep (``shown=True``: once per version, filter values and
    minute). No parts: the layer's data travels inline with the map."""

    parts: tuple[str, ...] = ()
    shown: bool = False


@dataclass(frozen=True)
class MapView:
    """What a layer draws from: every layer derived (``derived``) and as the filters keep
    it (``shown``), the URLs of each layer's published parts (``sources``) and the filter
    rules the browser applies to each layer (``where``)."""

    derived: Mapping[str, gpd.GeoDataFrame]
    shown: Mapping[str, gpd.GeoDataFrame]
    sources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    where: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def published(view: MapView, name: str) -> dict[str, Any]:
    """What a points layer's ``render`` takes from ``view``: the frame the filters keep,
    the URLs of its "main" and "details" parts and the browser's filter rules."""
    sources = view.sources.get(name, {})
    return {
        "source": sources.get("main"),
        "details": sources.get("details"),
        "where": dict(view.where.get(name, {})),
    }


class Layer(Protocol):
    """A layer module.

    ``SPEC``: its feed, fields and geometry types. ``LEGEND``: how it looks. ``DERIVE``:
    what its derive reads. ``FILTERS``: the filters that apply to it, by filter name
    (:mod:`layers.analysis.filters`), each to one of its columns. ``PUBLISH``: how its
    data reaches the browser. ``load``: raw table to a clean frame in EPSG:4326 and
    problems. ``derive``: computed columns (pure; its input untouched; an empty frame
    derives too). ``datasets``: the published parts. ``draw``: its map layer.
    """

    SPEC: FeedSpec
    LEGEND: LegendSection
    DERIVE: Derivation
    FILTERS: Mapping[str, str]
    PUBLISH: Publication

    def load(self, raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]: ...

    def derive(self, frame: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame: ...

    def datasets(self, frame: gpd.GeoDataFrame) -> dict[str, Any]: ...

    def draw(self, view: MapView) -> folium.FeatureGroup: ...
