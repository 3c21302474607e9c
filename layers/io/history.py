"""Every version of every feed the dashboard took, kept in one SQLite file, so that a day
can be looked at again as it was (the replay and the after-action report read it).

A version is the file's bytes as they were read. Feeds that grow by appended rows
(incidents, convoy positions, deliveries) are kept as their appended bytes, each on top of
the version before, not as whole copies; identical bytes are kept once. Each look that
took a new version adds a row to ``versions``: the feed, when it was taken, its file's
name, modification time and size, and the digest of its bytes. Writes go to a thread of
their own: a page never waits for the disk.

SQLite is in Python's standard library, one file is easy to copy off a server for the
review, and its write-ahead log lets a reader look while a writer writes. With several
operations centres on one PostgreSQL (:mod:`layers.io.database`), the same tables live
there, in the schema ``pollwatch_history``: the ingest writes them, every dashboard and a
site's standby read them. The store is the same; only the engine under it differs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import shutil
import sqlite3
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    digest TEXT PRIMARY KEY,   -- of the whole version's bytes
    parent TEXT,               -- the version these bytes were appended to (NULL: whole)
    size INTEGER NOT NULL,     -- of the whole version
    data BLOB NOT NULL         -- zlib: the whole bytes, or those appended to the parent's
);
CREATE TABLE IF NOT EXISTS versions (
    feed TEXT NOT NULL,
    taken REAL NOT NULL,       -- when the dashboard took it (UTC, seconds since 1970)
    file TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL, -- the file's modification time then
    digest TEXT NOT NULL REFERENCES blobs(digest)
);
CREATE INDEX IF NOT EXISTS versions_by_feed ON versions (feed, taken);
CREATE TABLE IF NOT EXISTS states (
    feed TEXT NOT NULL,
    since REAL NOT NULL,       -- when the dashboard first saw the feed in this state
    state TEXT NOT NULL,       -- fresh, stale, failed, missing... (layers.analysis.freshness)
    note TEXT                  -- why, for a failed feed
);
CREATE INDEX IF NOT EXISTS states_by_feed ON states (feed, since);
"""
# The same tables in PostgreSQL: seconds as double precision, modification times in
# nanoseconds (64 bits), bytes as bytea; in a schema of their own (the feeds' database
# has a ``pollwatch_versions`` of its own).
PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS pollwatch_history;
CREATE TABLE IF NOT EXISTS pollwatch_history.blobs (
    digest TEXT PRIMARY KEY, parent TEXT, size BIGINT NOT NULL, data BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS pollwatch_history.versions (
    feed TEXT NOT NULL, taken DOUBLE PRECISION NOT NULL, file TEXT NOT NULL,
    mtime_ns BIGINT NOT NULL, digest TEXT NOT NULL REFERENCES pollwatch_history.blobs(digest)
);
CREATE INDEX IF NOT EXISTS versions_by_feed ON pollwatch_history.versions (feed, taken);
CREATE TABLE IF NOT EXISTS pollwatch_history.states (
    feed TEXT NOT NULL, since DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, note TEXT
);
CREATE INDEX IF NOT EXISTS states_by_feed ON pollwatch_history.states (feed, since);
"""
COLUMNS = {
    "blobs": {"digest", "parent", "size", "data"},
    "versions": {"feed", "taken", "file", "mtime_ns", "digest"},
    "states": {"feed", "since", "state", "note"},
}


@dataclass(frozen=True)
class Kept:
    """One version of a feed as the history has it."""

    feed: str
    taken: float
    file: str
    mtime_ns: int
    data: bytes


class HistoryError(RuntimeError):
    """The store could not be read or written (its database is down or unreachable):
    a page says so and goes on with the live picture."""


_OPEN: dict[Path | str, History] = {}
_OPEN_LOCK = threading.Lock()


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


class _Sqlite:
    """The history's tables in the SQLite file ``path`` (made with its folder if missing)."""

    def __init__(self, path: Path):
        self.name = path.name
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)  # IF NOT EXISTS: another process may have made it

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}

    def rows(self, query: str, args: tuple = ()) -> list[tuple]:
        return self._db.execute(query, args).fetchall()

    def many(self, query: str, rows: list[tuple]) -> None:
        self._db.executemany(query, rows)

    def size(self) -> int:
        """Bytes on disk, the write-ahead log folded into the file first (the log holds
        whole pages of every change until then: its size says little)."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())

    def close(self) -> None:
        self._db.close()


class _Postgres:
    """The history's tables in the schema ``pollwatch_history`` of the PostgreSQL at
    ``url``; made there unless ``read_only`` (a dashboard, perhaps on a standby)."""

    def __init__(self, url: str, read_only: bool):
        import psycopg  # noqa: PLC0415 - only with a database

        self.name = "the database's history"
        self._psycopg = psycopg
        self._connect = partial(
            psycopg.connect,
            url,
            autocommit=True,
            connect_timeout=5,
            options="-c search_path=pollwatch_history",
        )
        self._db = self._connect()
        if not read_only:
            self._db.execute("SELECT pg_advisory_lock(4243)")  # one process makes it
            try:
                self._db.execute(PG_SCHEMA)
            finally:
                self._db.execute("SELECT pg_advisory_unlock(4243)")

    def _conn(self):  # noqa: ANN202 - psycopg's type, imported only here
        if self._db.closed or self._db.broken:  # the server dropped it: again
            self._db = self._connect()
        return self._db

    def columns(self, table: str) -> set[str]:
        return {
            row[0]
            for row in self.rows(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'pollwatch_history' AND table_name = ?",
                (table,),
            )
        }

    def rows(self, query: str, args: tuple = ()) -> list[tuple]:
        try:
            with self._conn().cursor() as cur:
                cur.execute(query.replace("?", "%s"), args)
                return cur.fetchall() if cur.description is not None else []
        except self._psycopg.Error as err:
            raise HistoryError(_said(err)) from err

    def many(self, query: str, rows: list[tuple]) -> None:
        try:
            with self._conn().cursor() as cur:
                cur.executemany(query.replace("?", "%s"), rows)
        except self._psycopg.Error as err:
            raise HistoryError(_said(err)) from err

    def size(self) -> int:
        return int(
            self.rows(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'pollwatch_history' "
                "AND c.relkind = 'r'"
            )[0][0]
            or 0
        )

    def close(self) -> None:
        self._db.close()


def _said(err: Exception) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"the database's history could not be read ({first})"


class History:
    """The history store: in the SQLite file ``where`` (a path), or in the PostgreSQL at
    ``where`` (a ``postgresql://`` URL; ``read_only``: a dashboard's, which only reads)."""

    def __init__(self, where: Path | str, read_only: bool = False):
        self._db: _Sqlite | _Postgres = (
            _Postgres(where, read_only)
            if isinstance(where, str) and where.startswith(("postgres://", "postgresql://"))
            else _Sqlite(Path(where))
        )
        for table, wanted in COLUMNS.items():
            found = self._db.columns(table)
            if found != wanted:
                raise ValueError(
                    f"{self._db.name} was written by another version of the dashboard "
                    f"({table} has {', '.join(sorted(found)) or 'no columns'}); move it away "
                    "to start a new history"
                )
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple | None] = queue.Queue()
        # Per feed, the version kept last: its digest, size and last bytes.
        self._last: dict[str, tuple[str, int, bytes]] = {}
        # Per feed, the state noted last (read back from the file on the first note).
        self._states: dict[str, tuple[str, str | None]] | None = None
        self._writer = threading.Thread(target=self._write_all, name="pollwatch-history")
        self._writer.daemon = True
        self._writer.start()

    @classmethod
    def at(cls, path: Path | str | None, read_only: bool = False) -> History | None:
        """The store in the file or database ``path``, shared by every loader of this
        process; None (and a warning in the log) when there is none or it cannot be used:
        the dashboard runs on, without a history."""
        if path is None:
            return None
        with _OPEN_LOCK:
            if path not in _OPEN:
                try:
                    _OPEN[path] = cls(path, read_only)
                except Exception as err:  # noqa: BLE001 - no history, never no dashboard
                    log.warning("no history store at %s: %s", path, err)
                    return None
            return _OPEN[path]

    def record(
        self, feed: str, taken: float, file: str, mtime_ns: int, data: bytes, before: bytes | None
    ) -> None:
        """Keep ``data``, the version of ``feed`` taken at ``taken``; ``before``: the bytes
        of the version it replaced (its appended bytes alone are kept when ``data`` starts
        with them). Written in the background."""
        self._queue.put((feed, taken, file, mtime_ns, data, before))

    def note_states(self, when: float, states: dict[str, tuple[str, str | None]]) -> None:
        """Each feed's state as the dashboard saw it at ``when`` (state, note); only a
        change from the state noted before is kept: the feeds' outages and stale periods
        of the after-action report."""
        self._queue.put(("__states__", when, states))

    def _note_states(self, when: float, states: dict[str, tuple[str, str | None]]) -> None:
        with self._lock:
            if self._states is None:
                self._states = {
                    feed: (state, note)
                    for feed, state, note in self._db.rows(
                        "SELECT feed, state, note FROM states s WHERE since = "
                        "(SELECT MAX(since) FROM states WHERE feed = s.feed)"
                    )
                }
            changed = [
                (feed, when, state, note)
                for feed, (state, note) in states.items()
                if self._states.get(feed, (None, None))[0] != state
            ]
            if changed:
                self._db.many("INSERT INTO states VALUES (?, ?, ?, ?)", changed)
            self._states.update(states)

    def flush(self) -> None:
        """Until every version recorded so far is written."""
        done = threading.Event()
        self._queue.put(("__flush__", done))
        done.wait()

    def _write_all(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if item[0] == "__flush__":
                item[1].set()
                continue
            try:
                if item[0] == "__states__":
                    self._note_states(*item[1:])
                    continue
                self._write(*item)
            except Exception as err:  # noqa: BLE001 - the history must not take a page
                log.warning("history: %s not kept (%s)", item[0], err)

    def _write(
        self, feed: str, taken: float, file: str, mtime_ns: int, data: bytes, before: bytes | None
    ) -> None:
        whole = digest(data)
        last = self._last.get(feed)
        with self._lock:
            known = self._db.rows("SELECT 1 FROM blobs WHERE digest = ?", (whole,))
            if not known:
                parent = None
                if before and data.startswith(before):
                    # The version it grew from is the one kept last (not hashed again).
                    same = last is not None and last[1] == len(before) and before.endswith(last[2])
                    parent = last[0] if same and last is not None else digest(before)
                has_parent = parent is not None and bool(
                    self._db.rows("SELECT 1 FROM blobs WHERE digest = ?", (parent,))
                )
                part = data[len(before) :] if has_parent and before is not None else data
                self._db.rows(
                    "INSERT INTO blobs VALUES (?, ?, ?, ?)",
                    (whole, parent if has_parent else None, len(data), zlib.compress(part, 6)),
                )
            self._db.rows(
                "INSERT INTO versions VALUES (?, ?, ?, ?, ?)",
                (feed, taken, file, int(mtime_ns), whole),
            )
        self._last[feed] = (whole, len(data), data[-4096:])

    def version_at(self, feed: str, when: float) -> Kept | None:
        """The version of ``feed`` the dashboard had taken by ``when`` (None: none yet)."""
        row = self._row_at(feed, when)
        if row is None:
            return None
        with self._lock:
            return Kept(feed, row[0], row[1], row[2], self._bytes(row[3]))

    def _row_at(self, feed: str, when: float) -> tuple[float, str, int, str] | None:
        """(taken, file, mtime_ns, digest) of the version of ``feed`` taken by ``when``."""
        with self._lock:
            found = self._db.rows(
                "SELECT taken, file, mtime_ns, digest FROM versions WHERE feed = ? AND taken <= ? "
                "ORDER BY taken DESC LIMIT 1",
                (feed, when),
            )
        return found[0] if found else None

    def _bytes(self, whole: str) -> bytes:
        """A version's bytes: its first whole version and every part appended since."""
        chain = self._db.rows(
            "WITH RECURSIVE up(digest, parent, data, depth) AS ("
            " SELECT digest, parent, data, 0 FROM blobs WHERE digest = ?"
            " UNION ALL SELECT b.digest, b.parent, b.data, up.depth + 1"
            " FROM blobs b JOIN up ON b.digest = up.parent)"
            " SELECT data FROM up ORDER BY depth DESC",
            (whole,),
        )
        return b"".join(zlib.decompress(part) for (part,) in chain)

    def folder_at(self, when: float, root: Path, feeds: Iterable[str] | None = None) -> Path | None:
        """The feed folder as it was at ``when``: each feed's version then, under the file
        name and modification time it had, in a folder of ``root`` named after those
        versions (the same versions, the same folder; made once). None: nothing kept by
        then. Read like any feed folder, it gives the picture of that time: the same
        reader, the same checks, files as fresh or stale as they were. ``feeds``: only
        these (and the scenario's manifest), for a question that needs no other."""
        # Named by the versions' digests (a look in the index): a page rerun on a replay
        # finds its folder without rebuilding and hashing the files again.
        wanted = self.feeds() if feeds is None else [*feeds, "scenario"]
        rows = [(f, r) for f in wanted if (r := self._row_at(f, when)) is not None]
        if not rows:
            return None
        name = digest(repr(sorted((f, r[1], r[2], r[3]) for f, r in rows)).encode())
        folder = Path(root) / name
        if not folder.is_dir():
            made = Path(root) / f".{name}.{threading.get_ident()}"
            made.mkdir(parents=True, exist_ok=True)
            for feed, (_, file, mtime_ns, _) in rows:
                kept = self.version_at(feed, when)
                assert kept is not None  # the row above
                path = made / file
                path.write_bytes(kept.data)
                os.utime(path, ns=(mtime_ns, mtime_ns))
            try:
                made.rename(folder)  # whole or not at all: another page may be making it
            except OSError:
                shutil.rmtree(made, ignore_errors=True)
        return folder

    def feeds(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.rows("SELECT DISTINCT feed FROM versions")]

    def versions(self, start: float, end: float) -> pd.DataFrame:
        """The versions taken in [start, end): feed, taken (UTC), file, size, digest."""
        with self._lock:
            rows = self._db.rows(
                "SELECT v.feed, v.taken, v.file, b.size, v.digest FROM versions v "
                "JOIN blobs b ON b.digest = v.digest WHERE v.taken >= ? AND v.taken < ? "
                "ORDER BY v.taken",
                (start, end),
            )
        out = pd.DataFrame(rows, columns=["feed", "taken", "file", "size", "digest"])
        out["taken"] = pd.to_datetime(out["taken"], unit="s", utc=True)
        return out

    def states(self, start: float, end: float) -> pd.DataFrame:
        """Each feed's states from ``start`` to ``end``: feed, state, since, until (UTC;
        the state held at ``start`` begins there), note."""
        with self._lock:
            rows = self._db.rows(
                "SELECT feed, since, state, note FROM states s WHERE since < ? AND ("
                " since >= ? OR since = (SELECT MAX(since) FROM states"
                " WHERE feed = s.feed AND since < ?)) ORDER BY feed, since",
                (end, start, start),
            )
        out = pd.DataFrame(rows, columns=["feed", "since", "state", "note"])
        since = out["since"].clip(lower=start)
        until = since.groupby(out["feed"]).shift(-1).fillna(end)
        out["since"] = pd.to_datetime(since, unit="s", utc=True)
        out["until"] = pd.to_datetime(until, unit="s", utc=True)
        return out[["feed", "state", "since", "until", "note"]]

    def first_taken(self) -> float | None:
        """When the history's first version was taken (None: empty)."""
        with self._lock:
            (first,) = self._db.rows("SELECT MIN(taken) FROM versions")[0]
        return None if first is None else float(first)

    def size(self) -> int:
        """Bytes the store takes on disk."""
        with self._lock:
            return self._db.size()

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join(5)
        self._db.close()


def replay_time(text: str, timezone: str) -> pd.Timestamp:
    """The time a link's ``?at=`` names (``2026-11-29T14:00``, local time of ``timezone``
    unless it says its zone), in UTC; ValueError saying what is expected."""
    try:
        when = pd.Timestamp(text.strip())
    except (ValueError, TypeError) as err:
        raise ValueError(f"{text[:40]!r} is not a time like 2026-11-29T14:00") from err
    if when is pd.NaT:
        raise ValueError(f"{text[:40]!r} is not a time like 2026-11-29T14:00")
    when = when.tz_localize(timezone) if when.tzinfo is None else when
    return when.tz_convert("UTC")
