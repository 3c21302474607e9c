"""The partner's page: per-area figures and incident counts for a briefing, and the
areas on a map. Nothing of units, convoys or single incidents reaches it."""

from __future__ import annotations

import time
from collections.abc import Hashable

import folium
import pandas as pd
import streamlit as st

from dashboard.access import viewer, who_line
from dashboard.common import (
    current_picture,
    log_run,
    page_map,
    plain,
    show_banner,
    show_problems,
    watch_feeds,
    whole_picture,
)
from dashboard.mapelement import map_element
from layers.analysis.briefing import area_figures
from layers.views import charts, coverage_map

BRIEFED = ("area", "stations", "registered_voters", "voters_covered_pct")
SPANS = {"last 24 h": pd.Timedelta(hours=24), "last 7 days": pd.Timedelta(days=7)}


def page() -> None:
    started = time.perf_counter()
    settings, derived = current_picture()  # the partner's: incidents without location
    scene = derived.scene
    st.title("Briefing")
    who_line(viewer())
    watch_feeds(settings, scene)
    show_banner(scene, settings)
    if scene.scenario.label:
        st.warning(plain(scene.scenario.label), icon=":material/science:")
    span = st.radio("Incidents in the", list(SPANS), horizontal=True, key="brief_span")
    since = (scene.now - SPANS[span]).floor("min")  # by the minute: shared, and cached
    # Coverage per area is summed from the whole picture (the stations' coverage state
    # is not the partner's to see); only the sums are kept.
    whole = whole_picture(settings)
    table = _figures(
        (whole.scene.key("polling_stations", "patrols", "areas"), scene.key("incidents"), since),
        whole["polling_stations"],
        derived["incidents"],
        since,
    )
    incidents = derived["incidents"]
    recent = incidents[incidents["time"] >= since]
    cols = st.columns(3)
    cols[0].metric("Polling stations", f"{int(table['stations'].sum()):,}")
    voters = table["registered_voters"].sum() if "registered_voters" in table else None
    cols[1].metric("Registered voters", f"{int(voters):,}" if voters else "n/a")
    cols[2].metric(f"Incidents, {span}", f"{len(recent):,}")
    st.caption(
        f"Picture at {scene.now:%d %b %Y %H:%M} UTC. % voters covered: registered voters "
        "at stations within reach of a patrol on duty now, of those at located stations."
    )
    st.subheader("By area")
    shown = [c for c in table.columns if c in BRIEFED or c.startswith("incidents")]
    st.dataframe(
        table[shown],
        hide_index=True,
        width="stretch",
        column_config={
            "voters_covered_pct": st.column_config.NumberColumn(
                "% voters covered", format="%.1f%%"
            ),
            "registered_voters": st.column_config.NumberColumn(
                "registered voters", format="localized"
            ),
        },
    )
    left, right = st.columns(2)
    left.plotly_chart(charts.incidents_over_time(recent, (since, scene.now)), width="stretch")
    right.plotly_chart(charts.incidents_by_area(recent), width="stretch")
    map_element(
        ("briefing", scene.key(*scene.versions), since, settings.tiles, scene.bounds),
        lambda: {
            "fig": page_map(scene.bounds, settings.tiles, [coverage_map.LEGEND[1]]),
            "height": 520,
            "use_container_width": True,
            "returned_objects": [],
            "key": "briefing_map",
            "feature_group_to_add": [
                coverage_map.choropleth(scene["areas"], table, interactive=True)
            ],
            "layer_control": folium.LayerControl(collapsed=False),
        },
    )
    show_problems(scene)
    log_run("briefing", scene, started)


@st.cache_resource(show_spinner=False, max_entries=8)
def _figures(
    key: Hashable, _stations: pd.DataFrame, _incidents: pd.DataFrame, since: pd.Timestamp
) -> pd.DataFrame:
    """Per-area figures, once per data version and span for every partner session."""
    return area_figures(_stations, _incidents, since)


page()
