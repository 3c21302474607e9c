"""The shared store at national scale: PostgreSQL with PostGIS, started here from Debian's
packages, with a hot standby.

    python benchmarks/database.py [--folder DIR] [--steps 20]

Printed (medians): the ingest's first write of every feed (one version each, whole); the
time of one appended batch (new incidents and pings, as the simulator appends them),
from the files written to the rows committed; the time from that commit to a dashboard
process holding the new scene (it hears NOTIFY, fetches the appended rows, its checks
run); the replication lag, from the commit on the primary to the standby having replayed
it; and a dashboard's first read of the whole scene from the database against its first
read of the folder (parsed feeds kept on disk); the history store's size in the database.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402
from timing import Batches, line, national_arguments, national_folder  # noqa: E402

from layers.analysis.freshness import reading  # noqa: E402
from layers.core.settings import Settings  # noqa: E402
from layers.ingest import Ingest  # noqa: E402
from layers.io.database import Database  # noqa: E402
from layers.io.history import History  # noqa: E402
from layers.scene import SceneLoader  # noqa: E402
from postgres import postgres_cluster, standby_of  # noqa: E402


def main() -> None:
    parser = national_arguments(__doc__, repeat=3)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    source = national_folder(args.folder)
    work = Path(tempfile.mkdtemp(prefix="pollwatch-db-bench-"))
    feeds = work / "feeds"
    shutil.copytree(source, feeds)
    env = {
        "POLLWATCH_FEEDS": str(feeds),
        "POLLWATCH_HISTORY": "off",
        "POLLWATCH_CACHE": str(work / "kept"),
        "POLLWATCH_SETTLE_S": "0",
    }
    with postgres_cluster() as primary, standby_of(primary) as standby:
        # The ingest as `python -m layers.ingest` runs it: the history store in the
        # database too, written by a thread of its own.
        history = History.at(primary.url)
        loader = SceneLoader(Settings.from_env(env), history=history)
        while reading(loader.load()):
            time.sleep(0.1)
        ingest = Ingest(loader, Database(primary.url))
        t0 = time.perf_counter()
        written = ingest.once()
        line(
            f"ingest, first write of {len(written)} feeds (whole)",
            f"{time.perf_counter() - t0:.1f} s",
        )
        hq = Database(primary.url)
        rows = dict(
            hq.conn.execute("SELECT feed, rows FROM pollwatch_versions ORDER BY id").fetchall()
        )
        line("rows written", ", ".join(f"{k} {v:,}" for k, v in rows.items()))
        size = hq.conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        line("database size after the first write", f"{size / 2**20:,.0f} MB")

        db_env = {**env, "POLLWATCH_DATABASE": primary.url}
        t0 = time.perf_counter()
        first = SceneLoader(Settings.from_env(db_env))
        first.load()
        from_db = time.perf_counter() - t0
        first.store.close()  # type: ignore[union-attr]
        t0 = time.perf_counter()
        SceneLoader(Settings.from_env(env)).load()
        from_folder = time.perf_counter() - t0
        line(
            "a dashboard's first read: from the database / from the folder (kept on disk)",
            f"{from_db:.2f} s / {from_folder:.2f} s",
        )

        dashboard = SceneLoader(Settings.from_env(db_env))
        dashboard.load()
        site = Database(standby.url, make_schema=False)
        batches = Batches(feeds)
        batch_s, heard_s, lag_s = [], [], []
        for _ in range(args.steps):
            before = len(dashboard.load()["incidents"])
            dashboard.store.heard.clear()
            t0 = time.perf_counter()
            added = batches.next()
            made = ingest.once()
            committed = time.perf_counter()
            batch_s.append(committed - t0)
            dashboard.store.heard.wait(10)
            while len(dashboard.load()["incidents"]) < before + added:
                time.sleep(0.01)
            heard_s.append(time.perf_counter() - committed)
            newest = max(made.values())
            while site.newest_versions().get("incidents", 0) < made.get("incidents", newest):
                time.sleep(0.005)
            lag_s.append(time.perf_counter() - committed)
        line(
            f"an appended batch, files written to rows committed (median of {args.steps})",
            _ms(batch_s),
        )
        line("commit to a dashboard process holding the new scene (NOTIFY)", _ms(heard_s))
        line("replication lag: commit to the standby having it", _ms(lag_s))
        assert history is not None
        t0 = time.perf_counter()
        history.flush()
        line("history: its writer done after the last batch", f"{time.perf_counter() - t0:.2f} s")
        line(
            f"history in the database after the first read and {args.steps} batches",
            f"{history.size() / 2**20:,.1f} MB",
        )
        dashboard.store.close()  # type: ignore[union-attr]  # before its server stops
    shutil.rmtree(work, ignore_errors=True)


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms (p95 {np.percentile(values, 95) * 1000:.0f})"


if __name__ == "__main__":
    main()
