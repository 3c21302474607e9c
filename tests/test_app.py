"""The pages as Streamlit runs them (AppTest cannot see inside the map; the browser test does)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from layers import feeds

APP = str(ROOT / "dashboard" / "app.py")
KPIS = ["Polling stations", "Covered", "Voters covered", "Incidents", "Convoys en route"]


def run_app(
    folder: Path, monkeypatch: pytest.MonkeyPatch, query: dict[str, str | list[str]] | None = None
) -> AppTest:
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def count(at: AppTest, label: str) -> int:
    return int(metric(at, label).split(" ")[0].replace(",", ""))


def copy_folder(source: Path, target: Path) -> Path:
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


@pytest.fixture(scope="module")
def stations(sample_folder: Path) -> pd.DataFrame:
    return pd.read_csv(sample_folder / "polling_stations.csv")


def test_operations_page_shows_figures_charts_label_and_no_problems(
    sample_folder: Path, stations: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_folder, monkeypatch)
    assert at.title[0].value == "Operations"
    assert "SYNTHETIC EXERCISE DATA" in at.warning[0].value
    assert [m.label for m in at.metric] == KPIS
    assert count(at, "Polling stations") == len(stations)
    covered = count(at, "Covered")
    assert 0 < covered < len(stations)
    assert metric(at, "Covered").endswith(f"({100 * covered / len(stations):.0f}%)")
    assert metric(at, "Voters covered").endswith("%")
    assert count(at, "Incidents") > 0
    assert len(at.get("plotly_chart")) == 3
    assert at.expander[0].label == "Feed problems: 0"
    assert not at.error
    assert dict(at.query_params) == {}  # the default view needs no parameters


def test_area_filter_drives_figures_and_the_link(
    sample_folder: Path, stations: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_folder, monkeypatch)
    incidents_all = count(at, "Incidents")
    at.multiselect(key="filter_areas").set_value(["Bong", "Lofa"]).run()
    assert not at.exception
    expected = stations["admin1"].isin(["Bong", "Lofa"]).sum()
    assert count(at, "Polling stations") == expected
    assert count(at, "Incidents") < incidents_all
    assert at.query_params["area"] == ["Bong", "Lofa"]


def test_time_window_and_severity_drive_the_incident_count(
    sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_folder, monkeypatch)
    day = count(at, "Incidents")
    at.radio(key="filter_window").set_value("7 days").run()
    week = count(at, "Incidents")
    assert week > day
    assert at.query_params["window"] == "7d"
    at.multiselect(key="filter_severities").set_value(["critical"]).run()
    critical = count(at, "Incidents")
    assert 0 < critical < week
    at.radio(key="filter_window").set_value("custom").run()
    assert not at.exception
    assert at.query_params["window"] == "custom" and "from" in at.query_params


def test_a_shared_link_opens_the_same_view(
    sample_folder: Path, stations: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_folder, monkeypatch, {"area": "Nimba", "status": "open", "window": "7d"})
    expected = (stations["admin1"].eq("Nimba") & stations["status"].eq("open")).sum()
    assert count(at, "Polling stations") == expected
    assert at.radio(key="filter_window").value == "7 days"
    assert at.multiselect(key="filter_areas").value == ["Nimba"]


def test_a_link_with_values_not_in_the_data_says_so(
    sample_folder: Path, stations: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_folder, monkeypatch, {"area": ["Nimba", "Atlantis"], "window": "2y"})
    assert count(at, "Polling stations") == stations["admin1"].eq("Nimba").sum()
    warning = at.sidebar.warning[0].value
    assert "area=Atlantis" in warning and "window=2y" in warning


def test_broken_feed_shows_as_a_problem_not_an_exception(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_folder(sample_folder, tmp_path)
    feeds.write_atomic(tmp_path / "incidents.csv", '{"half": "writ')
    (tmp_path / "patrols.geojson").unlink()
    at = run_app(tmp_path, monkeypatch)
    errors = [e.value for e in at.error]
    assert "Incidents: unreadable. See the feed problems below." in errors
    assert "Patrol bases: missing. See the feed problems below." in errors
    assert count(at, "Incidents") == 0 and count(at, "Covered") == 0  # no bases, no cover
    assert count(at, "Polling stations") > 0  # the rest of the page still works
    assert at.expander[0].label.startswith("Feed problems: ")
    problems = at.dataframe[1].value
    assert {"missing_file", "unparseable"} <= set(problems["kind"])
    assert problems.loc[problems["kind"] == "missing_file", "feed"].tolist() == ["patrols"]
    assert {"feed", "row", "column", "message", "fix"} <= set(problems.columns)
