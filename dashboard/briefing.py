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
    show_takeaway,
    watch_feeds,
    whole_picture,
)
from dashboard.mapelement import map_element
from dashboard.packs import View as PackView
from dashboard.packs import pack_panel
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
    voters = table["registered_voters"].sum() if "registered_voters" in table else None
    headline = [
        ("Polling stations", f"{int(table['stations'].sum()):,}"),
        ("Registered voters", f"{int(voters):,}" if voters else "n/a"),
        (f"Incidents, {span}", f"{len(recent):,}"),
    ]
    for column, (label, value) in zip(st.columns(3), headline, strict=True):
        column.metric(label, value)
    st.caption(
        f"Picture at {scene.now:%d %b %Y %H:%M} UTC. % voters covered: registered voters "
        "at stations within reach of a patrol on duty now, of those at located stations."
    )
    st.subheader("By area")
    briefed = [c for c in table.columns if c in BRIEFED or c.startswith("incidents")]
    st.dataframe(
        table[briefed],
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
    over_time = charts.incidents_over_time(recent, (since, scene.now))
    by_area = charts.incidents_by_area(recent)
    left.plotly_chart(over_time, width="stretch")
    right.plotly_chart(by_area, width="stretch")
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
    show_takeaway({}, [], scene["areas"], table[briefed])
    pack_panel(
        settings,
        scene,
        PackView(
            title="Briefing",
            words=f"incidents in the {span}",
            figures=headline,
            # Stations as the partner sees them (no coverage state): the coverage is in
            # the per-area sums only.
            frames={"areas": scene["areas"], "polling_stations": derived["polling_stations"]},
            charts=lambda: [("Incidents over time", over_time), ("Incidents by area", by_area)],
            areas=table[briefed],
            tables=list,
            draw=lambda tiles: (
                page_map(scene.bounds, tiles, [coverage_map.LEGEND[1]]),
                [coverage_map.choropleth(scene["areas"], table, interactive=True)],
            ),
        ),
    )
    log_run("briefing", scene, started)


@st.cache_resource(show_spinner=False, max_entries=8)
def _figures(
    key: Hashable, _stations: pd.DataFrame, _incidents: pd.DataFrame, since: pd.Timestamp
) -> pd.DataFrame:
    """Per-area figures, once per data version and span for every partner session."""
    return area_figures(_stations, _incidents, since)


page()
