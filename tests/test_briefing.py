"""The partner's per-area figures: sums that match the stations and incidents they come
from, and an area with incidents but no station shown with 0 stations, not a blank."""

from __future__ import annotations

import pandas as pd

from layers.analysis.briefing import area_figures
from layers.analysis.picture import Derived


def test_per_area_sums_match_the_rows_and_areas_without_stations_count_zero(
    derived: Derived,
) -> None:
    stations, incidents = derived["polling_stations"], derived["incidents"]
    since = derived.scene.now - pd.Timedelta(days=7)
    stray = incidents.iloc[[0]].assign(area="Nowhere", time=derived.scene.now, severity="high")
    table = area_figures(stations, pd.concat([incidents, stray]), since).set_index("area")
    assert table["stations"].sum() == len(stations)
    assert table["registered_voters"].sum() == stations["registered_voters"].sum()
    recent = incidents[incidents["time"] >= since]
    assert table["incidents"].sum() == len(recent) + 1
    by_area = recent["area"].fillna("(no area)").value_counts()
    some = by_area.index[0]
    assert table.loc[some, "incidents"] == by_area[some]
    nowhere = table.loc["Nowhere"]
    assert nowhere["stations"] == 0 and nowhere["registered_voters"] == 0
    assert nowhere["incidents, high"] == 1 and pd.isna(nowhere["voters_covered_pct"])
