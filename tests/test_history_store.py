"""The history store (layers/io/history.py): every version of every feed taken, appended
rows kept as such, and any version given back whole as it was at a time."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.io.files import write_atomic
from layers.io.history import History
from layers.scene import SceneLoader


def test_versions_come_back_whole_as_they_were_at_each_time(history_at: Path | str) -> None:
    history = History(history_at)
    one = b"id,time\n1,a\n"
    two = one + b"2,b\n"
    three = b"id,time\n9,z\n"  # rewritten, not appended
    history.record("incidents", 100.0, "incidents.csv", 99, one, None)
    history.record("incidents", 200.0, "incidents.csv", 199, two, one)
    history.record("incidents", 300.0, "incidents.csv", 299, three, two)
    history.record("incidents", 400.0, "incidents.csv", 399, two, three)  # back again
    history.flush()
    assert history.version_at("incidents", 50.0) is None
    assert history.version_at("incidents", 150.0).data == one
    kept = history.version_at("incidents", 250.0)
    assert kept.data == two and kept.taken == 200.0 and kept.mtime_ns == 199
    assert history.version_at("incidents", 350.0).data == three
    assert history.version_at("incidents", 1e12).data == two  # kept once, found again
    rows = history._db.rows("SELECT parent IS NOT NULL, size FROM blobs")
    assert sorted(rows) == [(0, len(one)), (0, len(three)), (1, len(two))]  # two: a tail
    history.close()
    again = History(history_at)  # a restart finds it all
    assert again.version_at("incidents", 250.0).data == two
    assert again.feeds() == ["incidents"]
    again.close()


def test_the_dashboard_keeps_each_version_it_takes_and_only_the_rows_appended(
    tmp_path: Path, history_at: Path | str
) -> None:
    folder = tmp_path / "feeds"
    sim = Simulator(folder)
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder), "POLLWATCH_HISTORY": "off"})
    loader = SceneLoader(settings, history=History(history_at))
    loader.load()
    first = (folder / "incidents.csv").read_bytes()
    t_first = time.time()
    for _ in range(5):
        sim.step(incidents=2)
        loader.load()
    loader.history.flush()
    last = (folder / "incidents.csv").read_bytes()
    assert loader.history.version_at("incidents", t_first).data == first
    assert loader.history.version_at("incidents", time.time()).data == last
    stations = loader.history.version_at("polling_stations", time.time())
    assert stations.data == (folder / "polling_stations.csv").read_bytes()
    assert stations.file == "polling_stations.csv"
    sizes = dict(
        loader.history._db.rows(
            "SELECT v.feed, SUM(length(b.data)) FROM versions v JOIN blobs b USING (digest) "
            "GROUP BY v.feed"
        )
    )
    versions = dict(loader.history._db.rows("SELECT feed, COUNT(*) FROM versions GROUP BY feed"))
    assert versions["incidents"] == 6
    # five appended versions of incidents cost less than one more whole copy
    whole = len(__import__("zlib").compress(last, 6))
    assert sizes["incidents"] < 2 * whole


def test_a_file_rewritten_in_place_is_kept_whole_and_a_held_version_is_not_kept(
    tmp_path: Path,
) -> None:
    folder, store = tmp_path / "feeds", tmp_path / "history"
    Simulator(folder)
    settings = Settings.from_env(
        {"POLLWATCH_FEEDS": str(folder), "POLLWATCH_HISTORY": str(store), "POLLWATCH_SETTLE_S": "0"}
    )
    loader = SceneLoader(settings)
    loader.load()
    path = folder / "incidents.csv"
    shown = path.read_bytes()
    write_atomic(path, b"\n".join(shown.splitlines(keepends=False)[:50]) + b"\n")  # shrank
    assert loader.load().versions["incidents"].stale_copy  # held back, not taken
    loader.history.flush()
    assert loader.history.version_at("incidents", time.time()).data == shown


def test_the_folder_as_it_was_reads_as_the_dashboard_read_it_then(tmp_path: Path) -> None:
    folder, store = tmp_path / "feeds", tmp_path / "history"
    sim = Simulator(folder)
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder), "POLLWATCH_HISTORY": str(store)})
    loader = SceneLoader(settings)
    then = loader.load()
    mtime = (folder / "incidents.csv").stat().st_mtime_ns
    t_then = time.time()
    time.sleep(0.05)
    sim.step(incidents=5)
    loader.load()
    loader.history.flush()
    past = loader.history.folder_at(t_then, tmp_path / "replay")
    assert past is not None and past == loader.history.folder_at(t_then, tmp_path / "replay")
    assert (past / "incidents.csv").stat().st_mtime_ns == mtime
    assert loader.history.folder_at(0.0, tmp_path / "replay") is None
    replayed = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(past)})).load(now=then.now)
    for feed in ("incidents", "polling_stations", "deliveries"):
        pd.testing.assert_frame_equal(
            replayed[feed].drop(columns="source_row"), then[feed].drop(columns="source_row")
        )
    assert len(replayed["incidents"]) == len(sim.incidents) - 5


def test_a_store_of_another_schema_is_refused_and_the_dashboard_runs_on(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old" / "history.sqlite"
    path.parent.mkdir()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE versions (feed TEXT, taken REAL, file TEXT, mtime REAL)")
    assert History.at(path) is None  # refused, logged
    feeds = tmp_path / "feeds"
    Simulator(feeds)
    settings = Settings.from_env(
        {"POLLWATCH_FEEDS": str(feeds), "POLLWATCH_HISTORY": str(path.parent)}
    )
    scene = SceneLoader(settings).load()
    assert len(scene["incidents"]) > 0


def test_the_loader_notes_each_feeds_state_when_it_changes(tmp_path: Path) -> None:
    folder, store = tmp_path / "feeds", tmp_path / "history"
    Simulator(folder)
    env = {"POLLWATCH_FEEDS": str(folder), "POLLWATCH_HISTORY": str(store)}
    loader = SceneLoader(Settings.from_env({**env, "POLLWATCH_SETTLE_S": "0"}))
    loader.load()
    began = time.time()
    write_atomic(folder / "patrols.geojson", '{"type": "FeatureCollection", "feat')  # cut short
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if loader.load().versions["patrols"].stale_copy:
            break
        time.sleep(0.2)
    loader.load()  # again: no change, nothing more noted
    loader.history.flush()
    states = loader.history.states(began - 60, time.time() + 1)
    patrols = states[states["feed"] == "patrols"]
    assert list(patrols["state"]) == ["fresh", "failed"]
    assert "patrols.geojson" in patrols["note"].iloc[-1]
    assert patrols["until"].iloc[0] == patrols["since"].iloc[1]
    assert len(states[states["feed"] == "incidents"]) == 1  # one state all along
