"""A version of a feed is shown only when it is whole: files still being written, files that
lost rows or changed rows already shown, oversized and binary files."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from layers.core.settings import Settings
from layers.io.files import write_atomic
from layers.io.parsing import parse
from layers.io.raw import FeedError
from layers.io.spec import ReadContext
from layers.io.store import Acceptance, FeedStore
from layers.registry import REGISTRY
from layers.scene import SceneLoader

HEAD = "id,time,type,severity,latitude,longitude\n"


def incidents(n: int, start: int = 0, lon: str = "-10.5") -> str:
    return "".join(
        f"I{i},2026-10-11T10:{i % 60:02d}:00Z,Protest,low,{6 + i / 1000:.4f},{lon}\n"
        for i in range(start, start + n)
    )


def stations(n: int) -> str:
    return "id,name,latitude,longitude\n" + "".join(
        f"S{i},Station {i},{6 + i / 1000:.4f},-10.4\n" for i in range(n)
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(folder: Path, clock: Clock, **rules: object) -> FeedStore:
    def build(feed: str, raw):  # type: ignore[no-untyped-def]
        return REGISTRY[feed].load(raw, ReadContext())

    settings = {"settle_s": 0.0, "hold_s": 120.0, "grows": frozenset({"incidents"}), **rules}
    return FeedStore(folder, build, rules=Acceptance(**settings), clock=clock)  # type: ignore[arg-type]


def test_a_growing_feed_that_shrank_is_held_until_accepted(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_atomic(path, HEAD + incidents(600))
    feeds = store(tmp_path, Clock())
    assert len(feeds.get("incidents").data) == 600
    write_atomic(path, HEAD + incidents(300))  # a writer truncated it and was caught half-way
    version = feeds.get("incidents")
    assert version.stale_copy and len(version.data) == 600
    first = version.problems[0]
    assert first.kind == "held_back"
    assert first.message == "incidents.csv shrank from 600 to 300 rows; still showing the 600."
    assert "accept it on the Feeds page" in first.fix
    assert set(feeds.held()) == {"incidents"}
    assert feeds.accept("incidents")
    assert len(feeds.get("incidents").data) == 300 and not feeds.held()
    assert not feeds.accept("incidents")


def test_a_held_version_that_stays_unchanged_is_taken_by_itself(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_atomic(path, HEAD + incidents(600))
    clock = Clock()
    feeds = store(tmp_path, clock)
    feeds.get("incidents")
    write_atomic(path, HEAD + incidents(500))
    assert len(feeds.get("incidents").data) == 600
    clock.now += 119
    assert len(feeds.get("incidents").data) == 600
    clock.now += 2
    version = feeds.get("incidents")
    assert len(version.data) == 500 and not version.stale_copy


def test_a_rewrite_that_grows_back_whole_is_shown_without_holding(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_atomic(path, HEAD + incidents(600))
    feeds = store(tmp_path, Clock())
    feeds.get("incidents")
    write_atomic(path, HEAD + incidents(300))
    assert feeds.get("incidents").stale_copy
    write_atomic(path, HEAD + incidents(601))  # the writer finished, and added one row
    version = feeds.get("incidents")
    assert len(version.data) == 601 and not version.stale_copy and not feeds.held()


def test_rows_already_shown_that_changed_are_held(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_atomic(path, HEAD + incidents(600))
    feeds = store(tmp_path, Clock())
    feeds.get("incidents")
    lines = (HEAD + incidents(600)).splitlines(keepends=True)
    lines[200] = lines[200].replace("-10.5", "-10.0")  # a longitude changed under the screen
    write_atomic(path, "".join(lines) + incidents(5, start=600))
    version = feeds.get("incidents")
    assert version.stale_copy and len(version.data) == 600
    assert version.problems[0].message == (
        "incidents.csv changed 1 of the 600 rows already shown; still showing the 600."
    )


def test_other_feeds_hold_a_drop_over_the_configured_share(tmp_path: Path) -> None:
    path = tmp_path / "polling_stations.csv"
    write_atomic(path, stations(1000))
    feeds = store(tmp_path, Clock(), max_drop=0.2)
    feeds.get("polling_stations")
    write_atomic(path, stations(850))  # 15 %: a real edit, taken
    assert len(feeds.get("polling_stations").data) == 850
    write_atomic(path, stations(400))  # 53 %: held
    version = feeds.get("polling_stations")
    assert len(version.data) == 850
    assert version.problems[0].message == (
        "polling_stations.csv dropped from 850 to 400 rows (53%); still showing the 850."
    )


def test_a_file_still_being_written_is_not_read_until_it_settles(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_atomic(path, HEAD + incidents(50))
    # The writer pauses 20 ms between rows; a settle time 50 times that keeps a writer
    # held up by a busy machine (CI, two cores) from looking finished.
    feeds = store(tmp_path, Clock(), settle_s=1.0)
    time.sleep(1.05)
    assert len(feeds.get("incidents").data) == 50
    stop = threading.Event()

    written = threading.Event()  # the last row is in: a look from then on may take it

    def writer() -> None:  # rewrites the file in place, a few rows at a time
        with open(path, "w") as fh:
            fh.write(HEAD)
            for i in range(200):
                fh.write(incidents(1, start=i))
                fh.flush()
                if i == 199:
                    written.set()
                time.sleep(0.02)
                if stop.is_set():
                    return

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []
    try:
        while not written.is_set():
            version = feeds.get("incidents")
            if written.is_set() and len(version.data) == 200:
                break  # this look began as the writer finished, and rightly took it whole
            seen.append((len(version.data), version.stale_copy, version.problems[:1]))
    finally:
        stop.set()
        thread.join()
    assert seen and all(n == 50 and not stale for n, stale, _ in seen), [
        s[2][0].message for s in seen if s[1]
    ][:3]
    time.sleep(1.05)
    version = feeds.get("incidents")
    assert len(version.data) == 200 and not version.stale_copy


def test_an_oversized_file_is_refused_once_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_atomic(path, HEAD + incidents(100))
    feeds = store(tmp_path, Clock(), max_bytes=20_000)
    assert len(feeds.get("incidents").data) == 100
    with open(path, "ab") as fh:
        fh.write(b"x" * 30_000)
    reads = []
    original = Path.read_bytes
    try:
        Path.read_bytes = lambda self: reads.append(self) or original(self)  # type: ignore[method-assign]
        for _ in range(3):
            version = feeds.get("incidents")
    finally:
        Path.read_bytes = original  # type: ignore[method-assign]
    assert reads == [] and version.stale_copy and len(version.data) == 100
    too_large = next(p for p in version.problems if p.kind == "too_large")
    assert too_large.message == (
        f"the file is {path.stat().st_size / 1024:.1f} kB, over the limit of 19.5 kB; "
        "it was not read."
    )
    assert "POLLWATCH_MAX_FEED_MB" in too_large.fix


@pytest.mark.parametrize("size", [1_000, 2_000_000])
def test_random_bytes_are_refused_as_not_text(size: int) -> None:
    data = os.urandom(size)
    started = time.perf_counter()
    with pytest.raises(FeedError) as err:
        parse("incidents", Path("incidents.csv"), data)
    assert err.value.problem.kind == "not_text"
    assert time.perf_counter() - started < 1.0


def test_settings_read_the_acceptance_rules_and_refuse_nonsense() -> None:
    settings = Settings.from_env(
        {"POLLWATCH_MAX_FEED_MB": "64", "POLLWATCH_HOLD_S": "30", "POLLWATCH_MAX_DROP": "0.5"}
    )
    assert (settings.max_feed_mb, settings.hold_s, settings.max_drop) == (64, 30, 0.5)
    assert settings.settle_s == 1.0
    loader = SceneLoader(settings)
    assert loader.store.rules.grows == {"incidents", "convoy_positions", "deliveries"}
    assert loader.store.rules.max_bytes == 64 * 2**20
    for bad in ({"POLLWATCH_MAX_DROP": "2"}, {"POLLWATCH_HOLD_S": "soon"}):
        with pytest.raises(ValueError, match="POLLWATCH_"):
            Settings.from_env(bad)


def test_a_held_feed_shows_in_the_banner_and_is_accepted_on_the_feeds_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT, shown
    from layers.exercise.simulator import Simulator

    Simulator(tmp_path)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(tmp_path))
    monkeypatch.setenv("POLLWATCH_SETTLE_S", "0")
    at = AppTest.from_file(str(ROOT / "dashboard" / "feeds.py"), default_timeout=60)
    at.run()
    path = tmp_path / "incidents.csv"
    lines = path.read_text().splitlines(keepends=True)
    write_atomic(path, "".join(lines[: len(lines) // 2]))
    at.run()
    assert not at.exception, at.exception
    shown_rows = len(lines) - 1
    banner = next(shown(w.value) for w in at.warning if w.value.startswith("Feeds"))
    assert (
        f"Incidents: incidents.csv shrank from {shown_rows:,} to {len(lines) // 2 - 1:,} rows; "
        f"still showing the {shown_rows:,}"
    ) in banner
    table = at.dataframe[0].value.set_index("feed")
    assert table.loc["Incidents", "rows"] == shown_rows
    at.button(key="accept_incidents").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("feed")
    assert table.loc["Incidents", "rows"] == len(lines) // 2 - 1
    assert not any(b.key == "accept_incidents" for b in at.button)


def test_a_large_file_is_read_in_the_background_with_progress(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_atomic(path, HEAD + incidents(120_000))
    release = threading.Event()
    builds: list[int] = []

    def build(feed: str, raw):  # type: ignore[no-untyped-def]
        release.wait(30)
        builds.append(len(raw.values))
        return REGISTRY[feed].load(raw, ReadContext())

    feeds = FeedStore(
        tmp_path,
        build,
        rules=Acceptance(settle_s=0.0, background_bytes=1_000_000),
        clock=Clock(),
    )
    version = feeds.get("incidents")  # the first look starts the reading and returns
    assert version.data is None and version.path == path
    notice = version.problems[0]
    assert notice.kind == "reading" and notice.message.startswith(
        ("reading incidents.csv: ", "checking incidents.csv: ")
    )
    deadline = time.monotonic() + 30
    while not feeds.get("incidents").problems[0].message.startswith("checking"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert feeds.get("incidents").problems[0].message == (
        "checking incidents.csv: 120,000 rows read"
    )
    release.set()
    while (version := feeds.get("incidents")).data is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(version.data) == 120_000 and builds == [120_000]
    assert not any(p.kind == "reading" for p in version.problems)
    # A newer version while one is read: the last good stays, with the progress beside it.
    release.clear()
    write_atomic(path, HEAD + incidents(120_001))
    during = feeds.get("incidents")
    assert len(during.data) == 120_000 and during.problems[0].kind == "reading"
    release.set()
    while len((version := feeds.get("incidents")).data) == 120_000:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(version.data) == 120_001


def test_a_read_that_takes_too_long_is_stopped_and_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_atomic(path, HEAD + incidents(60_000))
    feeds = store(tmp_path, Clock(), background_bytes=1, max_read_s=0.0)
    deadline = time.monotonic() + 30
    version = feeds.get("incidents")
    while version.problems[0].kind == "reading":
        assert time.monotonic() < deadline
        time.sleep(0.05)
        version = feeds.get("incidents")
    assert version.data is None
    assert version.problems[0].kind == "too_slow"
    assert re.fullmatch(r"reading stopped after 0 s at [\d,]+ rows\.", version.problems[0].message)
    assert feeds.get("incidents") is version  # remembered: not read again until it changes
