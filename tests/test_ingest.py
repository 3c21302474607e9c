"""The ingest into a real PostgreSQL/PostGIS (started here from Debian's packages): every
version the dashboard's reader takes is written once, appended rows as rows, problems
with it, announced by NOTIFY, and read back as the reader gave it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from test_faults import CONTENT_FAULTS, INCIDENT

from layers.core import growth
from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.ingest import Ingest
from layers.io.database import Database
from layers.io.files import write_atomic
from layers.registry import REGISTRY
from layers.scene import SceneLoader
from postgres import fresh_database, postgres_cluster, postgres_server, standby_of


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def count(url: str, query: str, *args: object) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(query, args).fetchone()[0])  # type: ignore[index]


def test_each_feed_lands_in_its_table_with_geometry_versions_and_problems(
    tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "feeds"
    sim = Simulator(folder)
    sim.incidents.loc[len(sim.incidents) - 1, ["latitude", "longitude"]] = ["0", "0"]
    sim.step(incidents=1)  # written with a row at (0, 0): a problem, the row kept
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder), "POLLWATCH_HISTORY": "off"})
    loader = SceneLoader(settings)
    db = Database(database_url)
    ingest = Ingest(loader, db)
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("LISTEN pollwatch")
        first = ingest.once()
        heard = [n.payload for n in listener.notifies(timeout=2, stop_after=len(first) + 1)]
    assert set(first) >= {"polling_stations", "patrols", "incidents", "convoy_positions"}
    assert sorted(heard) == sorted(["scenario 0", *(f"{feed} {v}" for feed, v in first.items())])
    scene = loader.load()
    stations = scene["polling_stations"]
    assert count(database_url, "SELECT count(*) FROM feed_polling_stations") == len(stations)
    assert (
        count(database_url, "SELECT count(*) FROM feed_polling_stations WHERE ST_SRID(geom) = 4326")
        == stations.geometry.notna().sum()
    )
    assert (
        count(
            database_url,
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'feed_polling_stations' "
            "AND indexdef LIKE '%%USING gist%%'",
        )
        == 1
    )
    # Problems come with their version: the row at (0, 0).
    said = loader.store.get("incidents").problems
    kept = db.problems(first["incidents"])
    assert said and [(p.kind, p.row, p.message) for p in kept] == [
        (p.kind, p.row, p.message) for p in said
    ]
    # Read back as the reader gave it.
    back = db.frame(REGISTRY["polling_stations"].SPEC, first["polling_stations"])
    assert list(back["id"]) == list(stations["id"])
    assert back["registered_voters"].dtype == stations["registered_voters"].dtype
    assert back.geometry.geom_equals_exact(stations.geometry.reset_index(drop=True), 1e-9).all()
    incidents = db.frame(REGISTRY["incidents"].SPEC, first["incidents"])
    pd.testing.assert_series_equal(
        incidents["time"], scene["incidents"]["time"].reset_index(drop=True), check_names=False
    )

    # Rows appended: only they are written; the version reads as the whole feed.
    sim.step(incidents=4)
    second = ingest.once()
    assert "polling_stations" not in second  # unchanged: not written again
    version = second["incidents"]
    added = count(database_url, "SELECT count(*) FROM feed_incidents WHERE since = %s", version)
    assert added == 4
    now = loader.load()["incidents"]
    again = db.frame(REGISTRY["incidents"].SPEC, version)
    assert list(again["id"]) == list(now["id"])
    assert len(db.frame(REGISTRY["incidents"].SPEC, first["incidents"])) == len(now) - 4

    # A file cut short: the last good rows stay, the version says so, nothing lost.
    text = (folder / "patrols.geojson").read_text()
    write_atomic(folder / "patrols.geojson", text[: len(text) // 2])
    third = {}
    for _ in range(50):
        third = ingest.once()
        if "patrols" in third:
            break
    latest = db.latest("patrols")
    assert latest is not None and latest.stale_copy
    assert len(db.frame(REGISTRY["patrols"].SPEC, latest.id)) == len(scene["patrols"])
    assert any(p.kind for p in db.problems(latest.id))
    db.close()


def test_dashboards_read_the_database_agree_and_hear_each_new_version(
    tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "feeds"
    sim = Simulator(folder)
    source = Settings.from_env({"POLLWATCH_FEEDS": str(folder), "POLLWATCH_HISTORY": "off"})
    ingest = Ingest(SceneLoader(source), Database(database_url))
    ingest.once()
    # Two dashboards with no folder at all: only the database.
    env = {
        "POLLWATCH_FEEDS": str(tmp_path / "nowhere"),
        "POLLWATCH_DATABASE": database_url,
        "POLLWATCH_HISTORY": "off",
    }
    one, two = (SceneLoader(Settings.from_env(env)) for _ in range(2))
    first = one.load()
    assert first.scenario.label and "SIMULATION" in first.scenario.label.upper()
    local = SceneLoader(source).load()  # what a dashboard on the folder shows
    for feed in ("polling_stations", "incidents", "deliveries", "training"):
        assert list(first[feed]["id" if "id" in first[feed] else "station_id"]) == list(
            local[feed]["id" if "id" in local[feed] else "station_id"]
        ), feed
    assert len(first.problems) == len(local.problems)
    incidents_before = len(first["incidents"])
    assert two.load()["incidents"]["id"].tolist() == first["incidents"]["id"].tolist()
    store = one.store
    store.heard.clear()
    sim.step(incidents=3)
    ingest.once()
    assert store.heard.wait(5)  # announced, not polled
    time.sleep(0.2)
    after_one, after_two = one.load(), two.load()
    assert len(after_one["incidents"]) == incidents_before + 3
    assert after_one["incidents"]["id"].tolist() == after_two["incidents"]["id"].tolist()
    assert after_one.key("incidents") == after_two.key("incidents")  # one version, one key
    assert growth.extends(after_one["incidents"], first["incidents"])  # appended rows only
    for loader in (one, two):
        loader.store.close()  # type: ignore[union-attr]


def test_a_sites_standby_keeps_the_last_picture_says_the_link_is_lost_and_catches_up(
    tmp_path: Path,
) -> None:
    with postgres_cluster() as primary, standby_of(primary) as standby:
        sim = Simulator(tmp_path / "feeds")
        source = Settings.from_env({"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": "off"})
        ingest = Ingest(SceneLoader(source), Database(primary.url))
        ingest.once()
        hq = Database(primary.url)

        def caught_up() -> bool:
            try:
                return Database(standby.url, make_schema=False).newest_versions() == (
                    hq.newest_versions()
                )
            except psycopg.Error:
                return False

        wait_for(caught_up)
        env = {
            "POLLWATCH_FEEDS": str(tmp_path / "no-folder"),
            "POLLWATCH_DATABASE": standby.url,
            "POLLWATCH_HISTORY": "off",
        }
        site = SceneLoader(Settings.from_env(env))
        assert site.store.standby
        first = site.load()
        assert not [p for p in first.problems if p.kind == "link_lost"]
        shown = len(first["incidents"])
        assert shown == len(SceneLoader(source).load()["incidents"])

        hq.close()
        ingest.db.close()
        primary.stop()  # the link to headquarters goes
        wait_for(lambda: not site.store.db.link()[0])
        cut = site.load()
        lost = [p for p in cut.problems if p.kind == "link_lost"]
        assert lost and "Link to headquarters lost" in lost[0].message
        assert len(cut["incidents"]) == shown  # the last picture stays
        assert all(v.stale_copy for v in cut.versions.values())

        primary.start()  # back: the site catches up by itself
        sim.step(incidents=2)
        Ingest(SceneLoader(source), Database(primary.url)).once()
        wait_for(lambda: site.store.db.link()[0])
        wait_for(lambda: len(site.load()["incidents"]) == shown + 2)
        assert not [p for p in site.load().problems if p.kind == "link_lost"]
        site.store.close()  # type: ignore[union-attr]


def wait_for(ok: object, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if ok():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError(f"not within {limit_s:g} s")


@pytest.mark.parametrize("fault", sorted(CONTENT_FAULTS))
def test_a_bad_file_at_the_folder_leaves_every_dashboard_the_last_good_rows(
    tmp_path: Path, postgres_url: str, fault: str
) -> None:
    """The faults a shared drive makes (tests/test_faults.py's, there in the browser on
    a folder), here through the ingest: a dashboard on the database keeps every good row,
    says what is wrong, and takes the next good file."""
    url = fresh_database(postgres_url)
    sim = Simulator(tmp_path / "feeds")
    source = Settings.from_env(
        {"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": "off", "POLLWATCH_CACHE": "off"}
    )
    ingest = Ingest.of(source, url)
    ingest.once()
    env = {
        "POLLWATCH_FEEDS": str(tmp_path / "no-folder"),
        "POLLWATCH_DATABASE": url,
        "POLLWATCH_HISTORY": "off",
    }
    path = sim.out / "incidents.csv"
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = path.read_text(encoding="utf-8") + INCIDENT.format(n=1, time=when)
    write_atomic(path, text)  # a good version ending on the row the faults spoil
    wait_for(lambda: "incidents" in ingest.once())
    dashboard = SceneLoader(Settings.from_env(env))
    good = dashboard.load()["incidents"]["id"].tolist()
    assert good[-1] == "INC-F000000001"
    make, said = CONTENT_FAULTS[fault]
    write_atomic(path, make(text))
    wait_for(lambda: "incidents" in ingest.once())
    dashboard.store.heard.wait(5)  # type: ignore[union-attr]
    scene = dashboard.load()
    assert scene["incidents"]["id"].tolist() == good  # every good row, none made up
    told = " ".join(p.message for p in scene.versions["incidents"].problems)
    assert said in told, told
    write_atomic(path, text + INCIDENT.format(n=2, time=when))  # the next good file
    wait_for(lambda: "incidents" in ingest.once())
    wait_for(lambda: len(dashboard.load()["incidents"]) == len(good) + 1)
    assert not dashboard.load().versions["incidents"].problems
    dashboard.store.close()  # type: ignore[union-attr]
    ingest.db.close()
