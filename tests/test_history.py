"""A feed of the past (an ACLED export of 2017-2020): the page says the window holds none
of it, offers its last days in one click and its whole span, and writes years."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_app import copy_folder, count

from conftest import ROOT, shown
from layers.analysis import history

APP = str(ROOT / "dashboard" / "main.py")
NEWEST = pd.Timestamp("2020-12-31T16:30:00Z")


def acled_history(folder: Path, n: int = 400) -> None:
    """An ACLED-style export: 2017 to 31 Dec 2020, upper-case schema, near the stations."""
    stations = pd.read_csv(folder / "polling_stations.csv")
    rng = np.random.default_rng(7)
    days = pd.to_datetime(rng.uniform(pd.Timestamp("2017-01-01").value, NEWEST.value, n))
    days = days.sort_values().tz_localize(None)
    picks = stations.sample(n, replace=True, random_state=3)
    table = pd.DataFrame(
        {
            "EVENT_ID_CNTY": [f"LBR{i}" for i in range(n)],
            "EVENT_DATE": [f"{d:%d %B %Y}" for d in days],
            "EVENT_TYPE": rng.choice(["Riots", "Protests", "Violence against civilians"], n),
            "ADMIN1": picks["admin1"].to_numpy(),
            "LATITUDE": picks["latitude"].to_numpy(),
            "LONGITUDE": picks["longitude"].to_numpy(),
            "FATALITIES": rng.integers(0, 3, n),
        }
    )
    table.loc[n - 1, "EVENT_DATE"] = f"{NEWEST:%d %B %Y}"
    table.to_csv(folder / "incidents.csv", index=False)


def test_span_and_time_texts_keep_the_years() -> None:
    now = pd.Timestamp("2026-10-11T12:00Z")
    a, b = pd.Timestamp("2026-10-11T08:00Z"), pd.Timestamp("2026-10-11T14:00Z")
    assert history.span_text(a, b, now) == "11 Oct 08:00 to 11 Oct 14:00 UTC"
    a, b = pd.Timestamp("2019-12-31T22:00Z"), pd.Timestamp("2020-01-01T02:00Z")
    assert history.span_text(a, b, now) == "31 Dec 2019 22:00 to 01 Jan 2020 02:00 UTC"
    assert history.time_text(pd.Timestamp("2020-03-01T10:00Z"), now) == "01 Mar 2020 10:00"
    assert history.time_text(pd.Timestamp("2026-03-01T10:00Z"), now) == "01 Mar 10:00"


def test_old_feed_only_when_every_record_is_before_the_window() -> None:
    now = pd.Timestamp("2026-10-11T12:00Z")
    day = (now - pd.Timedelta(hours=24), now)
    times = pd.Series(pd.to_datetime(["2017-02-01T00:00", "2020-12-31T16:30"], utc=True))
    old = history.old_feed(times, day, "Incidents", "the last 24 h")
    assert old is not None
    assert old.note == (
        "Incidents: newest 31 Dec 2020; none in the last 24 h. The feed holds 2 records, "
        "from 01 Feb 2017 to 31 Dec 2020."
    )
    assert old.end > times.max() and old.end - old.start >= pd.Timedelta(days=7)
    assert history.old_feed(pd.Series([now], dtype="datetime64[ns, UTC]"), day, "I", "x") is None
    assert history.old_feed(pd.Series([], dtype="datetime64[ns, UTC]"), day, "I", "x") is None
    future = (pd.Timestamp("2010-01-01", tz="UTC"), pd.Timestamp("2011-01-01", tz="UTC"))
    assert history.old_feed(times, future, "I", "x") is None  # records after a past range


def test_an_old_feed_says_so_and_shows_its_last_days_in_one_click(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_folder(sample_folder, tmp_path)
    (folder / "scenario.json").unlink()  # a real export, not an exercise moved to today
    acled_history(folder)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    assert count(at, "Incidents") == 0
    notes = [shown(i.value) for i in at.info]
    assert any(
        "Incidents: newest 31 Dec 2020; none in the last 24 h. The feed holds 400 records, "
        "from" in n
        for n in notes
    ), notes
    at.button(key="old_feed").click().run()
    assert not at.exception, at.exception
    assert at.radio(key="filter_window").value == "custom"
    week = count(at, "Incidents")
    assert week > 0
    assert at.query_params["window"] == "custom"
    assert at.query_params["to"].startswith("2020-12-31")
    captions = " ".join(shown(c.value) for c in at.caption)
    assert "Dec 2020" in captions  # the range with its year
    assert not any("none in" in shown(i.value) for i in at.info)

    at.radio(key="filter_window").set_value("whole feed").run()
    assert not at.exception, at.exception
    assert count(at, "Incidents") == 400
    assert at.query_params["window"] == "all"
