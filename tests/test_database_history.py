"""The history store and the audit trail in the real PostgreSQL (started here from Debian's
packages): the ingest keeps every version it takes there, a dashboard on the database
replays and reviews from it with no folder and no history of its own, and every
dashboard's audit events land in one trail, a read-only standby's kept in its files."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from layers import replay
from layers.access.audit import AuditLog, DatabaseAudit
from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.ingest import Ingest
from layers.io.database import Database
from layers.io.files import write_atomic
from layers.io.history import History, HistoryError
from layers.scene import SceneLoader
from postgres import fresh_database, postgres_cluster, standby_of


def on_database(tmp_path: Path, url: str) -> Settings:
    """A dashboard's settings with the database only: no folder, no history file."""
    return Settings.from_env(
        {
            "POLLWATCH_FEEDS": str(tmp_path / "no-folder"),
            "POLLWATCH_DATABASE": url,
            "POLLWATCH_HISTORY": "off",
            "POLLWATCH_CACHE": str(tmp_path / "cache"),
        }
    )


def test_a_dashboard_on_the_database_replays_and_reviews_what_the_ingest_kept(
    tmp_path: Path, postgres_url: str
) -> None:
    url = fresh_database(postgres_url)
    sim = Simulator(tmp_path / "feeds")
    source = Settings.from_env(
        {"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": "off", "POLLWATCH_CACHE": "off"}
    )
    ingest = Ingest.of(source, url)
    shown: list[tuple[float, list[str]]] = []  # what the folder read at each look
    for _ in range(4):
        ingest.once()
        ingest.loader.history.flush()  # type: ignore[union-attr]
        shown.append((time.time(), SceneLoader(source).load()["incidents"]["id"].tolist()))
        time.sleep(1.1)  # looks a second apart: each has its own time
        sim.step(incidents=3)
    settings = on_database(tmp_path, url)
    assert not (tmp_path / "no-folder").exists()
    for when, ids in shown:
        past = replay.scene_at(settings, pd.Timestamp(when, unit="s", tz="UTC"))
        assert past is not None
        assert past["incidents"]["id"].tolist() == ids  # the picture of that look
    assert replay.scene_at(settings, pd.Timestamp(shown[0][0] - 3600, unit="s", tz="UTC")) is None

    # A file cut short at the folder: the ingest notes the feed's state in the database.
    text = (sim.out / "patrols.geojson").read_text()
    write_atomic(sim.out / "patrols.geojson", text[: len(text) // 2])
    for _ in range(40):
        ingest.once()
        if ingest.db.latest("patrols").stale_copy:  # type: ignore[union-attr]
            break
        time.sleep(0.1)
    ingest.loader.history.flush()  # type: ignore[union-attr]
    now = pd.Timestamp.now(tz="UTC")
    history = replay.history_of(settings)
    assert history is not None
    states = history.states(now.timestamp() - 3600, now.timestamp() + 1)
    patrols = states[states["feed"] == "patrols"]["state"].tolist()
    assert patrols[-1] == "failed" and "fresh" in patrols

    review = replay.review_of(settings, now.tz_convert("UTC").date(), now)
    assert review is not None
    versions = history.versions(now.timestamp() - 3600, now.timestamp() + 1)
    kept = dict(review.feeds.set_index("feed")["versions"])
    # the four looks, and the three incidents of the last step taken with the cut file
    assert kept["incidents"] == (versions["feed"] == "incidents").sum() == 5
    assert set(review.outages["feed"]) == {"Patrol bases"}  # its title
    ingest.db.close()


def test_every_dashboards_audit_events_land_in_one_trail_in_the_database(
    tmp_path: Path, postgres_url: str
) -> None:
    url = fresh_database(postgres_url)
    one = DatabaseAudit(url, AuditLog(tmp_path / "one"))
    two = DatabaseAudit(url, AuditLog(tmp_path / "two"))
    one.record("amina", "operations", "sign-in", {"signin": "oidc"}, "10.0.0.5")
    two.record("jon", "partner", "export", {"file": "<b>x</b>.csv"}, "10.0.0.6")
    one.record("amina", "operations", "view", {"page": "Operations"}, "10.0.0.5")
    today = dt.datetime.now(dt.UTC).date()
    for trail in (one, two):
        read = trail.read(today, today)
        assert read.unreached is None and read.unreadable == 0
        assert read.events["event"].tolist() == ["sign-in", "export", "view"]
        assert read.events.loc[1, "detail"] == {"file": "<b>x</b>.csv"}
    assert not (tmp_path / "one").exists()  # nothing went to the files
    assert one.folder == tmp_path / "one"  # where this dashboard keeps its own (packs)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM pollwatch_audit").fetchone()[0] == 3


def test_a_standby_sites_events_are_kept_in_its_files_and_read_with_the_trail(
    tmp_path: Path,
) -> None:
    with postgres_cluster() as primary:
        hq = DatabaseAudit(primary.url, AuditLog(tmp_path / "hq"))
        hq.record("amina", "operations", "sign-in", None, "10.0.0.5")
        with standby_of(primary) as standby:
            site = DatabaseAudit(standby.url, AuditLog(tmp_path / "site"))
            site.record("kuol", "operations", "view", {"page": "Wall"}, "10.1.0.9")
            today = dt.datetime.now(dt.UTC).date()
            read = site.read(today, today)
            assert read.events["who"].tolist() == ["amina", "kuol"]  # both, oldest first
            assert len(AuditLog(tmp_path / "site").read(today, today).events) == 1
            primary.stop()  # the whole database gone too: nothing lost, and said
            standby.stop()
            site.record("kuol", "operations", "export", {"file": "a.csv"})
            down = site.read(today, today)
            assert down.unreached and "could not be read" in down.unreached
            assert down.events["event"].tolist() == ["view", "export"]


def test_the_history_tables_sit_beside_the_feeds_tables_without_a_clash(
    postgres_url: str,
) -> None:
    url = fresh_database(postgres_url)
    Database(url).close()  # the feeds' own pollwatch_versions first
    History(url).close()
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name IN ('blobs', 'versions', 'states', 'pollwatch_versions') "
            "ORDER BY 1, 2"
        ).fetchall()
    assert found == [
        ("pollwatch_history", "blobs"),
        ("pollwatch_history", "states"),
        ("pollwatch_history", "versions"),
        ("public", "pollwatch_versions"),
    ]


def test_a_replay_with_the_database_down_says_so_and_leaves_the_live_picture(
    tmp_path: Path,
) -> None:
    with postgres_cluster() as db:
        sim = Simulator(tmp_path / "feeds")
        source = Settings.from_env(
            {"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": "off", "POLLWATCH_CACHE": "off"}
        )
        ingest = Ingest.of(source, db.url)
        ingest.once()
        ingest.loader.history.flush()  # type: ignore[union-attr]
        settings = on_database(tmp_path, db.url)
        now = pd.Timestamp.now(tz="UTC")
        assert replay.settings_at(settings, now)[0] is not None
        ingest.db.close()
        db.stop()
        past, why = replay.settings_at(settings, now)
        assert past is None and why.startswith("the database's history could not be read")
        with pytest.raises(HistoryError):
            replay.first_kept(settings)
