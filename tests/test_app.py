"""The pages as Streamlit runs them (AppTest cannot see inside the map; the browser test does)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, shown
from layers.io.files import write_atomic

APP = str(ROOT / "dashboard" / "main.py")
KPIS = ["Polling stations", "Covered now", "Voters covered now", "Incidents", "Convoys en route"]


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
    warnings = [w.value for w in at.warning]
    assert "No sign-in is configured" in warnings[0]  # the demo serves everyone as operations
    assert any("SYNTHETIC EXERCISE DATA" in w for w in warnings)
    assert [m.label for m in at.metric] == KPIS
    assert count(at, "Polling stations") == len(stations)
    covered = count(at, "Covered now")
    assert 0 < covered < len(stations)
    assert metric(at, "Covered now").endswith(f"({100 * covered / len(stations):.0f}%)")
    assert metric(at, "Voters covered now").endswith("%")
    assert count(at, "Incidents") > 0
    assert len(at.get("plotly_chart")) == 3
    labels = [e.label for e in at.expander]
    assert "Feed problems: 0" in labels
    # The sample has a convoy off its route and one that stopped reporting.
    convoys = next(e for e in at.expander if e.label.startswith("Convoys: "))
    assert convoys.label.endswith("with an alert") and " 0 with" not in convoys.label
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
    write_atomic(tmp_path / "incidents.csv", '{"half": "writ')
    (tmp_path / "patrols.geojson").unlink()
    at = run_app(tmp_path, monkeypatch)
    errors = [shown(e.value) for e in at.error]
    assert any(e.startswith("Incidents: unreadable. ") for e in errors), errors
    assert any(
        e.startswith("Patrol bases: missing. Add patrols.csv or patrols.geojson to ")
        for e in errors
    ), errors
    assert count(at, "Incidents") == 0 and count(at, "Covered now") == 0  # no bases, no cover
    assert count(at, "Polling stations") > 0  # the rest of the page still works
    assert any(e.label.startswith("Feed problems: ") for e in at.expander)
    problems = next(d.value for d in at.dataframe if "kind" in d.value.columns)
    assert {"missing_file", "unparseable"} <= set(problems["kind"])
    assert problems.loc[problems["kind"] == "missing_file", "feed"].tolist() == ["patrols"]
    assert {"feed", "row", "column", "message", "fix"} <= set(problems.columns)


# ------------------------------------------------------------------------ coverage page

COVERAGE = str(ROOT / "dashboard" / "coverage.py")


def run_coverage(folder: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    at = AppTest.from_file(COVERAGE, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def test_coverage_page_figures_agree_with_its_tables(
    sample_folder: Path, stations: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_coverage(sample_folder, monkeypatch)
    assert [m.label for m in at.metric] == [
        "Stations uncovered",
        "Voters uncovered",
        "% voters covered",
    ]
    areas = next(d.value for d in at.dataframe if "voters_covered_pct" in d.value.columns)
    assert areas["stations"].sum() == len(stations)
    # Uncovered: located stations not covered all polling hours, partly covered included;
    # the voters uncovered are those of the same stations.
    not_covered = areas["uncovered"].sum() + areas["partly_covered"].sum()
    assert count(at, "Stations uncovered") == not_covered > 0
    voters_out = areas["voters_located"].sum() - areas["voters_covered"].sum()
    assert count(at, "Voters uncovered") == round(voters_out)
    suggestions = next(d.value for d in at.dataframe if "total_voters" in d.value.columns)
    assert len(suggestions) == 5 and suggestions["total_voters"].is_monotonic_increasing
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "Uncovered stations (CSV)",
        "Uncovered stations (GeoJSON)",
        "Coverage by area (CSV)",
    ]


def test_coverage_what_if_moves_the_figures(
    sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_coverage(sample_folder, monkeypatch)
    before = count(at, "Stations uncovered")
    at.toggle(key="cov_same").set_value(True).run()
    at.slider(key="cov_radius").set_value(40.0).run()
    wider = count(at, "Stations uncovered")
    assert wider < before
    at.text_area(key="cov_added").set_value("not a point\n6.30, -10.80").run()
    assert not at.exception
    assert any("line 1" in w.value for w in at.sidebar.warning)
    assert count(at, "Stations uncovered") <= wider
    at.toggle(key="cov_same").set_value(False).run()
    bases = json.loads((sample_folder / "patrols.geojson").read_text())["features"]
    everyone = [b["properties"]["id"] for b in bases]
    at.multiselect(key="cov_off").set_value(everyone).run()
    assert count(at, "Stations uncovered") > before  # only the proposed base is left


def test_a_picked_value_that_leaves_the_data_is_dropped_not_an_error(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_folder(sample_folder, tmp_path)
    monkeypatch.setenv("POLLWATCH_HOLD_S", "0")  # rows removed on purpose: shown at once
    at = run_app(tmp_path, monkeypatch)
    at.multiselect(key="filter_severities").set_value(["critical"]).run()
    events = pd.read_csv(tmp_path / "incidents.csv", dtype=str, keep_default_na=False)
    events = events[events["severity"] != "critical"]
    write_atomic(tmp_path / "incidents.csv", events.to_csv(index=False))
    at.run()
    assert not at.exception, at.exception
    assert at.multiselect(key="filter_severities").value == []


def test_a_new_serious_incident_raises_one_toast(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_folder(sample_folder, tmp_path)
    at = run_app(tmp_path, monkeypatch)
    assert not at.toast
    lines = (tmp_path / "incidents.csv").read_text().splitlines()
    fields = lines[1].split(",")
    fields[0], fields[3] = "NEW-1", "critical"
    fields[1] = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    write_atomic(tmp_path / "incidents.csv", "\n".join([*lines, ",".join(fields)]) + "\n")
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.toast if "NEW-1" in shown(t.value)]
    log = next(e for e in at.expander if e.label.startswith("New-incident alerts"))
    assert log.label.endswith(": 1")
    at.run()
    assert not [t.value for t in at.toast if "NEW-1" in shown(t.value)]  # once per session


def test_new_incidents_near_an_uncovered_station_are_counted_on_the_coverage_page(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counts are grown with the incidents the feed added, not the whole analysis."""
    copy_folder(sample_folder, tmp_path)
    at = run_coverage(tmp_path, monkeypatch)

    def listed() -> pd.DataFrame:
        return next(d.value for d in at.dataframe if "incidents_10km" in d.value.columns)

    station = listed().iloc[0]
    where = pd.read_csv(tmp_path / "polling_stations.csv").set_index("id").loc[station["id"]]
    path = tmp_path / "incidents.csv"
    text = path.read_text()
    events = pd.read_csv(path, dtype=str)
    last = events.loc[events["time"].idxmax()].copy()  # the newest: within the 7 days
    near = pd.DataFrame([last, last])[events.columns]
    near["id"] = ["NEAR-0", "NEAR-1"]
    near["latitude"], near["longitude"] = str(where["latitude"]), str(where["longitude"])
    write_atomic(path, text + near.to_csv(index=False, header=False))
    at.run()
    assert not at.exception, at.exception
    after = listed().set_index("id").loc[station["id"], "incidents_10km"]
    assert after == station["incidents_10km"] + 2


# ------------------------------------------------------------- every page, one story


def _folder_with(tmp_path: Path, sample_folder: Path, feeds_kept: set[str]) -> Path:
    for path in sample_folder.iterdir():
        if path.name == "scenario.json" or path.name.split(".")[0] in feeds_kept:
            (tmp_path / path.name).write_bytes(path.read_bytes())
    return tmp_path


ALL_FEEDS = {
    "areas",
    "polling_stations",
    "patrols",
    "convoy_routes",
    "convoy_positions",
    "incidents",
}


@pytest.mark.parametrize(
    "kept",
    [set(), {"polling_stations"}, *(ALL_FEEDS - {feed} for feed in sorted(ALL_FEEDS))],
    ids=lambda kept: "+".join(sorted(kept)) or "none",
)
def test_every_page_works_with_any_subset_of_the_feeds(
    kept: set[str], tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder_with(tmp_path, sample_folder, kept)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    for page in ("operations.py", "coverage.py", "feeds.py"):
        at = AppTest.from_file(str(ROOT / "dashboard" / page), default_timeout=90)
        at.run()
        assert not at.exception, (page, at.exception)
        text = " ".join(shown(e.value) for e in at.error)
        for feed in {"polling_stations", "patrols"} - kept:  # the required feeds say what to add
            assert f"{feed}.csv or {feed}.geojson" in text, (page, text)


def test_the_same_data_gives_the_same_figures_on_every_page(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bases without shifts cover the same stations now and all polling hours, so the
    Operations and Coverage pages must agree on every figure they share."""
    copy_folder(sample_folder, tmp_path)
    bases = json.loads((tmp_path / "patrols.geojson").read_text())
    for feature in bases["features"]:
        feature["properties"].pop("shift_start", None)
        feature["properties"].pop("shift_end", None)
    (tmp_path / "patrols.geojson").write_text(json.dumps(bases))
    operations = run_app(tmp_path, monkeypatch)
    coverage = run_coverage(tmp_path, monkeypatch)
    assert metric(operations, "Voters covered now") == metric(coverage, "% voters covered")
    located = count(operations, "Polling stations")
    assert count(operations, "Covered now") + count(coverage, "Stations uncovered") == located
    for at in (operations, coverage):
        assert any(c.value.startswith("Covered: a located station") for c in at.caption)


def test_figures_say_n_a_when_no_station_has_a_voter_count(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_folder(sample_folder, tmp_path)
    stations = pd.read_csv(tmp_path / "polling_stations.csv")
    stations.drop(columns="registered_voters").to_csv(
        tmp_path / "polling_stations.csv", index=False
    )
    operations = run_app(tmp_path, monkeypatch)
    coverage = run_coverage(tmp_path, monkeypatch)
    assert metric(operations, "Voters covered now") == "n/a"
    assert metric(coverage, "Voters uncovered") == "n/a"
    assert metric(coverage, "% voters covered") == "n/a"
    assert any("voter figures are n/a" in c.value for c in coverage.caption)


def test_a_layer_whose_derive_fails_is_a_failed_feed_on_every_page(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from layers import incidents

    copy_folder(sample_folder, tmp_path)

    real = incidents.derive

    def broken(frame, scene):  # type: ignore[no-untyped-def]
        # A bug that some data trips; with no rows derive works (the contract test checks
        # every layer derives an empty frame), which gives the failed layer its columns.
        if len(frame):
            raise ValueError("a bug in deriving incidents")
        return real(frame, scene)

    monkeypatch.setattr(incidents, "derive", broken)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(tmp_path))
    for page in ("operations.py", "coverage.py", "feeds.py"):
        at = AppTest.from_file(str(ROOT / "dashboard" / page), default_timeout=90)
        at.run()
        assert not at.exception, (page, at.exception)
        banner = " ".join(shown(w.value) for w in at.warning)
        assert "Incidents: " in banner and "a bug in deriving incidents" in banner, page
    table = at.dataframe[0].value.set_index("feed")  # the Feeds page
    assert table.loc["Incidents", "state"] == "failed"
    assert table.loc["Polling stations", "state"] != "failed"


def test_a_malformed_manifest_is_shown_and_the_page_works(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_folder(sample_folder, tmp_path)
    (tmp_path / "scenario.json").write_text('{"label": "[click](http://x.example)", "anchor":')
    at = run_app(tmp_path, monkeypatch)
    assert count(at, "Polling stations") > 0
    errors = [shown(e.value) for e in at.error]
    assert any("scenario.json" in e and "could not be used" in e for e in errors), errors


def test_the_readme_demo_shows_the_bundled_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """No POLLWATCH_FEEDS: the README's first command, on the sample in data/sample."""
    monkeypatch.delenv("POLLWATCH_FEEDS", raising=False)
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    stations = pd.read_csv(ROOT / "data" / "sample" / "polling_stations.csv")
    assert count(at, "Polling stations") == len(stations) > 0
