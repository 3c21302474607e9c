"""The wall view's parts: feed chips, the ticker, the clock's zone, the frame of a chosen
area, and feed text kept as text in the HTML of our own making."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from layers.analysis.filters import Filters, Picture, framed
from layers.views import wall

NOW = pd.Timestamp("2026-11-30 12:00", tz="UTC")


def _freshness(rows: list[tuple[str, str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame([{"feed": f, "state": s, "age_min": a, "note": None} for f, s, a in rows])


def test_a_chip_per_feed_says_its_state_and_age() -> None:
    shown = wall.chips(
        _freshness(
            [
                ("Incidents", "fresh", 3.2),
                ("Patrol bases", "stale", 45.0),
                ("Convoy routes", "failed", 300.0),
                ("Areas", "missing", None),
                ("Convoy positions", "not provided", None),
                ("Polling stations", "exercise", 130.0),
            ]
        )
    )
    assert [(c.feed, c.tone, c.text) for c in shown] == [
        ("Incidents", "ok", "3 min"),
        ("Bases", "warn", "STALE 45 min"),  # short names: one line of chips
        ("Routes", "bad", "FAILED 5 h"),
        ("Areas", "bad", "MISSING"),
        ("Stations", "ok", ""),  # an exercise: its files' age says nothing
    ]
    html = wall.chips_html(shown, [], dark=True)
    assert ">Stations</span>" in html and ">Bases · STALE 45 min</span>" in html


def _incidents() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "time": [NOW - pd.Timedelta(minutes=m) for m in (5, 50, 10, 90)],
            "type": ["Riot", "Protest", "Armed attack", "Arson"],
            "severity": ["high", "low", "critical", "high"],
            "area": ["Bong", "Lofa", None, "Nimba"],
        },
        geometry=[shapely.Point(-9, 7)] * 4,
        crs="EPSG:4326",
    )


def test_the_ticker_lists_the_newest_serious_incidents_in_the_clocks_zone() -> None:
    items = wall.ticker(_incidents(), ZoneInfo("Africa/Nairobi"), n=2)
    assert [(i.time, i.type, i.severity, i.area) for i in items] == [
        ("14:55", "Riot", "high", "Bong"),
        ("14:50", "Armed attack", "critical", ""),
    ]
    assert wall.ticker(_incidents().iloc[0:0], ZoneInfo("UTC")) == []


def test_an_unknown_time_zone_falls_back_to_utc_and_says_so() -> None:
    assert wall.zone("Africa/Monrovia") == (ZoneInfo("Africa/Monrovia"), None)
    zone, note = wall.zone("<b>Mars</b>")
    assert zone == ZoneInfo("UTC") and note is not None and "UTC" in note
    assert wall.zone(None) == (ZoneInfo("UTC"), None)


HOSTILE = '<img src=x onerror="window.top.pwned=1">'


def test_feed_text_and_link_text_stay_text_in_the_walls_html() -> None:
    items = [wall.TickerItem("12:00", HOSTILE, "high", "<script>alert(1)</script>")]
    chips = [wall.Chip(HOSTILE, "fresh", "ok", "3 min")]
    for html in (
        wall.ticker_html(items, "none", dark=True),
        wall.chips_html(chips, [HOSTILE], dark=False),
        wall.strip_html([(HOSTILE, "1")], "12:00:00", HOSTILE, HOSTILE, dark=True),
    ):
        assert "<img" not in html and "<script" not in html
        assert "&lt;img src=x onerror=&quot;window.top.pwned=1&quot;&gt;" in html


def test_a_chosen_area_frames_the_map_on_it() -> None:
    areas = gpd.GeoDataFrame(
        {"name": ["Bong"]}, geometry=[shapely.box(-10, 6, -9, 7.5)], crs="EPSG:4326"
    )
    stations = gpd.GeoDataFrame(
        {"area": ["Bong", "Bong"]},
        geometry=[shapely.Point(-9.5, 6.5), None],
        crs="EPSG:4326",
    )
    picture = Picture({"areas": areas, "polling_stations": stations})
    whole = (-11.5, 4.3, -7.4, 8.6)
    assert framed(picture, Filters(), whole) == whole
    minx, miny, maxx, maxy = framed(picture, Filters(areas=("Bong",)), whole)  # type: ignore[misc]
    assert (minx, miny) < (-10, 6) and -9 < maxx < -8.9 and 7.5 < maxy < 7.6
    # a sub-area: its stations only
    sub = framed(picture, Filters(sub_areas=("Bong / Jorquelleh",)), whole)
    assert sub is not None and sub[2] - sub[0] < 0.2
    # nothing located: the whole frame
    empty = Picture({"areas": areas.iloc[0:0], "polling_stations": stations.iloc[1:]})
    assert framed(empty, Filters(areas=("Bong",)), whole) == whole


def test_a_rotating_wall_cycles_the_link_the_busiest_areas_and_the_coverage() -> None:
    incidents = _incidents()  # in the last hour: Bong 1 (5 min), Lofa 1 (50 min), none 1
    views = wall.rotation(incidents, Filters(window="7 days"), NOW, top=3)
    assert [v.name for v in views] == ["The whole picture", "Bong", "Lofa", "Coverage"]
    assert views[1].filters.areas == ("Bong",) and views[1].filters.window == "7 days"
    assert views[1].why == "1 incident in the last hour"
    assert views[-1].layers is not None and "incidents" not in views[-1].layers
    quiet = wall.rotation(incidents, Filters(), NOW + pd.Timedelta(hours=3))
    assert [v.name for v in quiet] == ["The whole picture", "Coverage"]
    # every wall on a link shows the same view at the same time, in turn
    assert [wall.turn(views, 60, t) for t in (0, 59, 60, 180, 240)] == [0, 0, 1, 3, 0]
    assert wall.every("60") == (60.0, None)
    for bad in ("1", "nan", "soon"):
        seconds, note = wall.every(bad)
        assert seconds is None and note is not None
    assert wall.every(None) == (None, None)


def _wall_html(at: AppTest) -> str:
    """Everything the wall page drew as HTML of its own (strip, chips, ticker)."""
    return "".join(e.proto.body for e in at.get("html"))


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(lambda good: good[: len(good) // 2], id="cut-short-mid-row"),
        pytest.param(lambda good: bytes(range(256)) * 64, id="garbage"),
        pytest.param(lambda good: b"<html><body>502 Bad Gateway</body></html>\n", id="html"),
        pytest.param(lambda good: b"", id="emptied"),
    ],
)
def test_a_wall_keeps_its_picture_and_turns_the_feeds_chip_red_on_a_bad_file(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: Callable
) -> None:
    folder = tmp_path / "feeds"
    shutil.copytree(sample_folder, folder)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    monkeypatch.setenv("POLLWATCH_SETTLE_S", "0")
    at = AppTest.from_file(str(ROOT / "dashboard" / "wall.py"), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    before = _wall_html(at)
    assert 'data-state="failed"' not in before
    figures = re.findall(r'class="pw-value">([^<]+)<', before)
    assert figures, before[:500]
    path = folder / "incidents.csv"
    good = path.read_bytes()
    path.write_bytes(fault(good))
    os.utime(path, ns=(time.time_ns() + 10**9,) * 2)  # a new version, whatever the clock
    at.run()
    assert not at.exception, at.exception
    after = _wall_html(at)
    chip = re.search(r'<span class="pw-chip pw-(\w+)" data-state="(\w+)">Incidents', after)
    assert chip is not None and chip.groups() == ("bad", "failed"), after[:800]
    # The last good copy stays on the wall: the same figures, incidents included.
    assert re.findall(r'class="pw-value">([^<]+)<', after) == figures
    path.write_bytes(good)
    os.utime(path, ns=(time.time_ns() + 2 * 10**9,) * 2)
    at.run()
    assert 'data-state="failed"' not in _wall_html(at)
