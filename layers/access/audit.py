"""The audit trail: who did what, when, as which role and from where, in JSON lines, one
file per day (``audit-YYYY-MM-DD.jsonl``, UTC days); or, with several operations centres
on one PostgreSQL, in its table ``pollwatch_audit`` (:class:`DatabaseAudit`).

Each event is one ``write`` of one whole line to a file opened for appending, then
``fsync``: a crash loses no line written before it, and lines of several sessions never
mix. A line cut by a crash in its middle is never joined to the next one (a new line is
started first) and is skipped, with a count, when the log is read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)
FIELDS = ("time", "who", "role", "event", "detail", "source")


@dataclass(frozen=True)
class Read:
    """The events of the days read, how many lines could not be read, and what part of
    the trail could not be reached (None: all of it was read)."""

    events: pd.DataFrame
    unreadable: int
    unreached: str | None = None


class AuditLog:
    """Appends events to ``folder`` (made when missing, readable by its owner only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def path(self, day: dt.date) -> Path:
        return self.folder / f"audit-{day:%Y-%m-%d}.jsonl"

    def record(
        self,
        who: str,
        role: str,
        event: str,
        detail: dict[str, Any] | None = None,
        source: str | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        """Append one event: ``event`` (sign-in, view, export, ...) with its ``detail``."""
        when = now or dt.datetime.now(dt.UTC)
        line = json.dumps(
            {
                "time": when.isoformat(timespec="milliseconds"),
                "who": who,
                "role": role,
                "event": event,
                "detail": detail or {},
                "source": source,
            },
            ensure_ascii=False,
            default=str,
            separators=(",", ":"),
        )
        data = (line + "\n").encode("utf-8")
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path(when.date()), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if _ends_mid_line(fd):  # a crash cut the last line: start a new one
                    data = b"\n" + data
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self, first: dt.date, last: dt.date) -> Read:
        """Every whole event from day ``first`` to day ``last``, oldest first."""
        rows: list[dict[str, Any]] = []
        unreadable = 0
        day = first
        while day <= last:
            try:
                text = self.path(day).read_bytes()
            except FileNotFoundError:
                text = b""
            for raw in text.split(b"\n"):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except ValueError:  # cut by a crash, or not ours
                    unreadable += 1
                    continue
                if isinstance(row, dict):
                    rows.append({f: row.get(f) for f in FIELDS})
                else:
                    unreadable += 1
            day += dt.timedelta(days=1)
        events = pd.DataFrame(rows, columns=list(FIELDS))
        events["time"] = pd.to_datetime(events["time"], utc=True, errors="coerce")
        return Read(events, unreadable)


AUDIT_TABLE = """
CREATE TABLE IF NOT EXISTS pollwatch_audit (
    time TIMESTAMPTZ NOT NULL,
    who TEXT,
    role TEXT,
    event TEXT NOT NULL,
    detail JSONB NOT NULL,
    source TEXT
);
CREATE INDEX IF NOT EXISTS pollwatch_audit_time ON pollwatch_audit (time);
"""


class DatabaseAudit:
    """The audit trail in the PostgreSQL at ``url``, beside the feeds and the history:
    one trail for every dashboard of every site, each event committed when recorded.

    A dashboard that cannot write there (it reads a site's read-only standby, or the
    database is down) keeps the event in the files of ``fallback`` instead and says so
    in its log: no event is lost. Reading gives the events of both, oldest first."""

    def __init__(self, url: str, fallback: AuditLog) -> None:
        self.url = url
        self.fallback = fallback
        self._lock = threading.Lock()
        self._conn: Any = None
        self._made = False

    @property
    def folder(self) -> Path:
        """This dashboard's own folder (the files of what the database could not take)."""
        return self.fallback.folder

    def _connection(self) -> Any:
        import psycopg  # noqa: PLC0415 - only with a database

        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        if not self._made:
            in_recovery = self._conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            if not in_recovery:  # a standby has the primary's table, or none yet
                self._conn.execute(AUDIT_TABLE)
            self._made = True
        return self._conn

    def record(
        self,
        who: str,
        role: str,
        event: str,
        detail: dict[str, Any] | None = None,
        source: str | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        """Append one event (as :meth:`AuditLog.record`)."""
        import psycopg  # noqa: PLC0415

        when = now or dt.datetime.now(dt.UTC)
        text = json.dumps(detail or {}, ensure_ascii=False, default=str)
        try:
            with self._lock:
                self._connection().execute(
                    "INSERT INTO pollwatch_audit VALUES (%s, %s, %s, %s, %s::jsonb, %s)",
                    (when, who, role, event, text, source),
                )
            return
        except psycopg.Error as err:
            log.warning(
                "audit: the database took no event (%s); kept in %s instead",
                str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__,
                self.fallback.folder,
            )
        self.fallback.record(who, role, event, detail, source, when)

    def read(self, first: dt.date, last: dt.date) -> Read:
        """Every event from day ``first`` to day ``last`` (UTC), the database's and those
        kept in files while it could not be written, oldest first."""
        import psycopg  # noqa: PLC0415

        start = dt.datetime.combine(first, dt.time(), dt.UTC)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
        local = self.fallback.read(first, last)
        unreached = None
        rows: list[tuple] = []
        try:
            with self._lock:
                rows = (
                    self._connection()
                    .execute(
                        "SELECT time, who, role, event, detail, source FROM pollwatch_audit "
                        "WHERE time >= %s AND time < %s ORDER BY time",
                        (start, end),
                    )
                    .fetchall()
                )
        except psycopg.Error as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
            unreached = f"the database's trail could not be read ({reason or 'no answer'})"
        stored = pd.DataFrame(rows, columns=list(FIELDS))
        stored["time"] = pd.to_datetime(stored["time"], utc=True)
        parts = [f for f in (stored, local.events) if len(f)]
        events = (
            pd.concat(parts, ignore_index=True).sort_values("time", kind="stable")
            if parts
            else local.events
        )
        return Read(events.reset_index(drop=True), local.unreadable, unreached)


def _ends_mid_line(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
