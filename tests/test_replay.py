"""A page opened "as at" a past time (``?at=`` in its link) shows the picture of then,
labelled as a replay that nobody can miss; a bad or too early time says why and shows the
live picture."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from layers.exercise.simulator import Simulator

PAGE = str(ROOT / "dashboard" / "operations.py")


def incidents_shown(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Incidents")


def run(at_text: str | None = None) -> AppTest:
    page = AppTest.from_file(PAGE, default_timeout=120)
    if at_text is not None:
        page.query_params["at"] = at_text
    page.run()
    assert not page.exception, page.exception
    return page


def test_a_page_as_at_a_past_time_shows_that_picture_as_a_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "feeds"
    sim = Simulator(folder)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    monkeypatch.setenv("POLLWATCH_HISTORY", str(tmp_path / "history"))
    monkeypatch.setenv("POLLWATCH_SETTLE_S", "0")
    before = run()
    # The link names whole seconds: the next one, so that it is after the version this
    # run took (a fast run ends within the second it read the feeds) and before the next.
    then = pd.Timestamp.now(tz="UTC").ceil("s")
    shown_then = incidents_shown(before)
    time.sleep(max(0.0, (then - pd.Timestamp.now(tz="UTC")).total_seconds()) + 0.2)
    sim.step(seconds=1, incidents=7)
    live = run()
    assert incidents_shown(live) != shown_then  # the live picture moved on
    assert not [e for e in live.error if "REPLAY" in e.value]
    replayed = run(then.strftime("%Y-%m-%dT%H:%M:%S") + "Z")
    assert incidents_shown(replayed) == shown_then
    banner = [e.value for e in replayed.error if "REPLAY" in e.value]
    assert banner and then.strftime("%d %b %Y %H:%M") in banner[0]
    assert replayed.query_params["at"]  # the link keeps the time with the filters


@pytest.mark.parametrize(
    ("at_text", "why"),
    [("soon-ish", "is not a time like"), ("2001-01-01T00:00", "holds nothing from before")],
)
def test_a_replay_that_cannot_be_made_says_why_and_shows_the_live_picture(
    at_text: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "feeds"
    Simulator(folder)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    monkeypatch.setenv("POLLWATCH_HISTORY", str(tmp_path / "history"))
    run()
    page = run(at_text)
    assert not [e for e in page.error if "REPLAY" in e.value]
    assert any(why in w.value and "live picture" in w.value for w in page.warning)


def test_a_replay_steps_by_ten_minutes_and_catches_up_with_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "feeds"
    Simulator(folder)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    monkeypatch.setenv("POLLWATCH_HISTORY", str(tmp_path / "history"))
    run()
    time.sleep(2.1)  # a second in whole seconds after the run's version, whatever its speed
    start = pd.Timestamp.now(tz="UTC").floor("s") - pd.Timedelta(seconds=1)
    page = run(start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    page.button(key="replay_back").click().run()
    assert pd.Timestamp(page.query_params["at"]) == start - pd.Timedelta(minutes=10)
    # ten minutes before the history began: nothing to replay, and the page says so
    assert any("holds nothing from before" in w.value for w in page.warning)
    page.button(key="replay_first").click().run()  # and offers its first moment
    first = pd.Timestamp(page.query_params["at"])
    assert start - pd.Timedelta(seconds=5) <= first <= start + pd.Timedelta(seconds=2)
    assert any("REPLAY" in e.value for e in page.error)
    later = run(start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    later.button(key="replay_ahead").click().run()
    assert "at" not in later.query_params  # past now: the live picture
    assert not any("REPLAY" in e.value for e in later.error)


def test_the_bundled_exercise_replays_with_the_time_shift_it_had(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_folder: Path
) -> None:
    """The sample moves its times to the present as it is loaded: a replay moves them by
    the same amount, not to the replay's own present."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    for path in sample_folder.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    monkeypatch.setenv("POLLWATCH_HISTORY", str(tmp_path / "history"))
    live = run()
    time.sleep(1.1)
    then = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    replayed = run(then)
    assert any("REPLAY" in e.value for e in replayed.error)
    assert incidents_shown(replayed) == incidents_shown(live)
    kept = (tmp_path / "history" / "replay").iterdir()
    manifest = next(kept) / "scenario.json"
    assert '"time_shift_minutes"' in manifest.read_text()
