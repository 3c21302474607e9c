"""The Operations map, shared by the Operations page and its wall view: every layer the
role sees, the stations at risk over them, rendered once per picture for every session."""

from __future__ import annotations

from collections.abc import Hashable

import folium
import pandas as pd
import streamlit as st

from dashboard.common import page_map, published_layers, publisher
from dashboard.mapelement import map_element
from layers.access.roles import Role
from layers.analysis.filters import Filters, Picture, browser_where
from layers.analysis.picture import Derived, dataset_key
from layers.analysis.risk import Risk
from layers.contract import MapView
from layers.core.settings import Settings
from layers.map.basemap import first_drawn
from layers.registry import REGISTRY
from layers.views.heat import LEGEND as HEAT_LEGEND
from layers.views.heat import render_heat
from layers.views.overlays import LEGEND as RISK_LEGEND
from layers.views.overlays import EarlyWarning, RiskOverlay, render_at_risk

DESK_HEIGHT = 640  # px; the wall's map fills the screen instead


@st.cache_resource(show_spinner=False, max_entries=8)
def _risk_overlay(stations_key: Hashable, warning: EarlyWarning, role: Role) -> RiskOverlay:
    """Stations at risk, kept per stations version, early-warning settings and role (each
    role's from the frames it may see)."""
    return RiskOverlay(stations_key, warning)


def map_view(
    settings: Settings,
    derived: Derived,
    picture: Picture,
    filters: Filters,
    feeds: list[str],
    warning: EarlyWarning,
    role: Role,
) -> tuple[MapView, Risk]:
    """What the map draws (the layers' published datasets, the filters the browser
    applies) and the stations at risk under ``warning``."""
    scene = derived.scene
    urls = published_layers(settings, scene, derived, picture.frames, filters, feeds)
    overlay = _risk_overlay(dataset_key(scene, "polling_stations"), warning, role)
    risk, urls["at_risk"] = overlay.update(
        derived["polling_stations"],
        dataset_key(scene, "incidents"),
        derived["incidents"],
        scene.now,
        publisher(),
    )
    return MapView(derived, picture.frames, urls, browser_where(filters, scene.now)), risk


def map_parts(
    view: MapView,
    tiles: str,
    bounds: tuple[float, float, float, float] | None,
    feeds: list[str],
    wall: bool = False,
    dark: bool = False,
    now: pd.Timestamp | None = None,
) -> tuple[folium.Map, list[folium.FeatureGroup]]:
    """The base map and the layers ``feeds`` (those the role sees) drawn from ``view``,
    with the stations at risk over them, and the incidents' heat at ``now`` (shown on the
    wall, offered in the layer control on a desk)."""
    stations, at_risk = view.sources["polling_stations"], view.sources["at_risk"]
    groups = [
        *(REGISTRY[name].draw(view) for name in feeds),
        render_at_risk(
            stations["main"],
            at_risk["main"],
            [stations["details"], at_risk["details"]],
            dict(view.where["polling_stations"]),
        ),
    ]
    legend = [*(REGISTRY[name].LEGEND for name in feeds), RISK_LEGEND]
    if "incidents" in feeds and now is not None:
        groups.append(render_heat(now, show=wall))
        legend.append(HEAT_LEGEND)
    # A layer off until switched on is fetched when it is, not with the first drawing
    # (whose datasets the browser reads on one thread).
    on = [name for name, group in zip(feeds, groups, strict=False) if group.show]
    drawn = {name: view.sources[name] for name in [*on, "at_risk"] if name in view.sources}
    return page_map(bounds, tiles, legend, wall, dark, first_drawn(drawn)), groups


def show_map(
    view: MapView,
    tiles: str,
    bounds: tuple[float, float, float, float] | None,
    feeds: list[str],
    key: Hashable,
    wall: bool = False,
    dark: bool = False,
    now: pd.Timestamp | None = None,
) -> None:
    """The map of :func:`map_parts`, rendered once per ``key`` (role, picture, filters)
    for every session."""

    def build() -> dict[str, object]:
        fig, groups = map_parts(view, tiles, bounds, feeds, wall, dark, now)
        return {
            "fig": fig,
            "height": DESK_HEIGHT,
            "use_container_width": True,
            "returned_objects": [],
            "key": "map",
            "feature_group_to_add": groups,
            "layer_control": folium.LayerControl(collapsed=wall),
        }

    sources = repr(sorted(view.sources.items()))
    map_element((key, tiles, bounds, tuple(feeds), sources, wall, dark), build)
