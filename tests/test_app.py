"""The page as Streamlit runs it (AppTest cannot see inside the map; the browser test does)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from layers import feeds

APP = str(ROOT / "dashboard" / "app.py")


def run_app(folder: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_sample_page_shows_label_and_no_problems(
    sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_folder, monkeypatch)
    assert at.title[0].value.startswith("Pollwatch")
    assert "SYNTHETIC EXERCISE DATA" in at.warning[0].value
    assert at.expander[0].label == "Feed problems: 0"
    assert not at.error


def test_broken_feed_shows_as_a_problem_not_an_exception(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in sample_folder.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    feeds.write_atomic(tmp_path / "incidents.csv", '{"half": "writ')
    (tmp_path / "patrols.geojson").unlink()
    at = run_app(tmp_path, monkeypatch)
    errors = [e.value for e in at.error]
    assert "Incidents: unreadable. See the feed problems below." in errors
    assert "Patrol bases: missing. See the feed problems below." in errors
    problems = at.dataframe[1].value
    assert {"missing_file", "unparseable"} <= set(problems["kind"])
    assert problems.loc[problems["kind"] == "missing_file", "feed"].tolist() == ["patrols"]
