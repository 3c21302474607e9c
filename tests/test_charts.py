"""The operations charts: what they count, and that empty data gives a message, not an error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from layers.analysis.filters import Filters, apply
from layers.analysis.kpis import coverage_by_area
from layers.analysis.picture import derive_picture
from layers.core.settings import Settings
from layers.scene import SceneLoader
from layers.views import charts


@pytest.fixture(scope="module")
def derived(sample_folder: Path):  # type: ignore[no-untyped-def]
    scene = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(sample_folder)})).load()
    return scene, derive_picture(scene)


def test_incidents_over_time_counts_every_incident_by_type(derived) -> None:  # type: ignore[no-untyped-def]
    scene, frames = derived
    picture = apply(frames, Filters(window="7 days"), scene.now)
    fig = charts.incidents_over_time(picture.frames["incidents"], picture.time_range)
    assert sum(sum(bar.y) for bar in fig.data) == len(picture.frames["incidents"])
    assert {bar.name for bar in fig.data} == set(picture.frames["incidents"]["type"])


def test_incidents_by_area_and_coverage_by_area(derived) -> None:  # type: ignore[no-untyped-def]
    scene, frames = derived
    events = frames["incidents"]
    fig = charts.incidents_by_area(events)
    assert sum(sum(bar.x) for bar in fig.data) == len(events)
    cover = charts.coverage_chart(frames["polling_stations"])
    table = coverage_by_area(frames["polling_stations"]).set_index("area")
    for area, pct in zip(cover.data[0].y, cover.data[0].x, strict=True):
        assert pct == pytest.approx(table.loc[area, "covered_pct"])


def test_empty_windows_say_so(derived) -> None:  # type: ignore[no-untyped-def]
    _, frames = derived
    none = frames["incidents"].iloc[0:0]
    now = pd.Timestamp("2026-10-11T12:00Z")
    for fig in (
        charts.incidents_over_time(none, (now - pd.Timedelta(hours=1), now)),
        charts.incidents_by_area(none),
        charts.coverage_chart(frames["polling_stations"].iloc[0:0]),
    ):
        assert fig.layout.annotations and not fig.data


@pytest.mark.parametrize(("hours", "width"), [(1, "10min"), (24, "h"), (168, "6h"), (720, "D")])
def test_bars_fit_the_window(hours: int, width: str) -> None:
    assert charts.bin_width(pd.Timedelta(hours=hours)) == width


def test_every_chart_passes_plotly_s_own_checks(derived) -> None:  # type: ignore[no-untyped-def]
    """The charts are built without plotly's checks (for speed): run them here."""
    import plotly.graph_objects as go

    scene, frames = derived
    picture = apply(frames, Filters(window="7 days"), scene.now)
    none = frames["incidents"].iloc[0:0]
    for fig in (
        charts.incidents_over_time(picture.frames["incidents"], picture.time_range),
        charts.incidents_by_area(frames["incidents"]),
        charts.coverage_chart(frames["polling_stations"]),
        charts.incidents_over_time(none, picture.time_range),
    ):
        checked = go.Figure(fig.to_dict())  # raises on an unknown or invalid property
        assert checked.to_plotly_json()["layout"]["title"]["text"] == fig.layout.title.text


def test_a_click_on_a_bar_names_the_filter_it_sets(derived) -> None:  # type: ignore[no-untyped-def]
    scene, frames = derived
    picture = apply(frames, Filters(window="7 days"), scene.now)
    events = picture.frames["incidents"]
    over_time = charts.incidents_over_time(events, picture.time_range)
    by_area = charts.incidents_by_area(events)
    cover = charts.coverage_chart(frames["polling_stations"])
    # what Streamlit hands over for a clicked point: the bar's customdata among others
    for fig, names, values in (
        (over_time, ("type",), {"type": set(events["type"])}),
        (
            by_area,
            ("area", "severity"),
            {"area": set(events["area"]), "severity": set(events["severity"])},
        ),
        (cover, ("area",), {"area": set(frames["polling_stations"]["area"])}),
    ):
        for bar in fig.data:
            clicked = [{"x": 1, "y": 2, "customdata": list(bar.customdata[0])}]
            chosen = charts.picked(clicked)
            assert tuple(chosen) == names
            assert all(chosen[n] in values[n] for n in names), chosen
    # a segment of the by-area bars sets its own severity
    severities = {
        bar.name: charts.picked([{"customdata": bar.customdata[0]}]) for bar in by_area.data
    }
    assert all(chosen["severity"] == name for name, chosen in severities.items())
    # a feed's own value, not the text plotly shows (escaped)
    hostile = events.assign(area="<b>Bong</b>")
    fig = charts.incidents_by_area(hostile)
    assert fig.data[0].y[0] == "&lt;b&gt;Bong&lt;/b&gt;"
    assert charts.picked([{"customdata": fig.data[0].customdata[0]}])["area"] == "<b>Bong</b>"
    assert charts.picked([{"x": 1}]) == {}
