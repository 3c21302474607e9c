"""The Coverage page's analysis, made once per version for every session, and made as the
server starts for the page's default settings (:func:`dashboard.common.warm`), so the
commission's first look after a restart does not wait for it.

Glue only: the analysis is :func:`layers.analysis.gaps.analyse`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import streamlit as st

from layers.analysis.gaps import Analysis, IncidentCounter, analyse, polling_window
from layers.analysis.picture import Derived
from layers.analysis.placement import Placement
from layers.analysis.whatif import WhatIf
from layers.core.settings import Settings
from layers.geo import coverage
from layers.scene import Scene

INCIDENT_HOURS = 7 * 24  # incidents near a station: the last 7 days
# The page's what-if panel as it opens: every base as in the feed, five suggestions.
DEFAULT = WhatIf(suggest=5, suggest_radius_m=10_000.0)


@dataclass(frozen=True)
class Measured:
    """One analysis as a page shows it: the polling window, the key of what it depends on
    (stations, bases, areas, window) and the analysis with the incidents counted."""

    window: tuple[pd.Timestamp, pd.Timestamp]
    key: Hashable
    analysis: Analysis


def measured(settings: Settings, whole: Derived, what: WhatIf) -> Measured:
    """The coverage of ``whole`` (every base, whatever the role: the page restricts what
    it shows) under ``what``. The coverage depends on the stations, bases, areas and
    polling day; the incidents near each station are counted apart, so a new incident does
    not redo the rest."""
    scene = whole.scene
    window = polling_window(
        settings.polling_date(scene.now), settings.timezone, settings.polling_hours
    )
    key = (scene.key("polling_stations", "patrols", "areas"), window)
    minute = scene.now.floor("min")
    areas = whole.areas_of("polling_stations")  # the derived ones: one rule, found once
    made = _analysis(key, scene, settings, what, areas)
    counted = _counter((key, what, minute), made).count(scene["incidents"], scene.now)
    return Measured(window, key, counted)


@st.cache_resource(show_spinner=False, max_entries=2)
def _model(key: Hashable, _stations: gpd.GeoDataFrame) -> coverage.CoverageModel:
    return coverage.CoverageModel(_stations)


@st.cache_resource(show_spinner="Preparing sites for new bases...", max_entries=2)
def _placement(key: Hashable, _model: coverage.CoverageModel, radius_m: float) -> Placement:
    return Placement.around(_model, radius_m)


@st.cache_resource(show_spinner="Measuring coverage...", max_entries=6)
def _analysis(
    key: Hashable, _scene: Scene, _settings: Settings, what: WhatIf, _areas: pd.Series
) -> Analysis:
    window = polling_window(
        _settings.polling_date(_scene.now), _settings.timezone, _settings.polling_hours
    )
    model = _model(_scene.key("polling_stations"), _scene["polling_stations"])
    radius = what.suggest_radius_m
    return analyse(
        model,
        _scene["polling_stations"],
        what.bases(_scene["patrols"]),
        _scene["areas"],
        window,
        suggest_k=what.suggest,
        suggest_radius_m=radius,
        station_areas=_areas,
        placement=_placement((_scene.key("polling_stations"), radius), model, radius)
        if what.suggest
        else None,
    )  # incidents are counted apart: see _counter


@st.cache_resource(show_spinner=False, max_entries=6)
def _counter(key: Hashable, _analysis: Analysis) -> IncidentCounter:
    """Incidents near the listed stations, per analysis and minute (the window moves)."""
    return IncidentCounter(_analysis, INCIDENT_HOURS)
