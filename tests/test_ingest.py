"""The ingest into a real PostgreSQL/PostGIS (started here from Debian's packages): every
version the dashboard's reader takes is written once, appended rows as rows, problems
with it, announced by NOTIFY, and read back as the reader gave it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.ingest import Ingest
from layers.io.database import Database
from layers.io.files import write_atomic
from layers.registry import REGISTRY
from layers.scene import SceneLoader
from postgres import postgres_server


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
        heard = [n.payload for n in listener.notifies(timeout=2, stop_after=len(first))]
    assert set(first) >= {"polling_stations", "patrols", "incidents", "convoy_positions"}
    assert sorted(heard) == sorted(f"{feed} {v}" for feed, v in first.items())
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
    said = scene.versions["incidents"].problems
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
