"""The audit trail: who did what, when, as which role and from where, in JSON lines, one
file per day (``audit-YYYY-MM-DD.jsonl``, UTC days).

Each event is one ``write`` of one whole line to a file opened for appending, then
``fsync``: a crash loses no line written before it, and lines of several sessions never
mix. A line cut by a crash in its middle is never joined to the next one (a new line is
started first) and is skipped, with a count, when the log is read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

FIELDS = ("time", "who", "role", "event", "detail", "source")


@dataclass(frozen=True)
class Read:
    """The events of the days read, and how many lines could not be read."""

    events: pd.DataFrame
    unreadable: int


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


def _ends_mid_line(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
