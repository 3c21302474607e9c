"""The audit trail: whole lines, one file per day, nothing lost to a crash."""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

from layers.access.audit import AuditLog

DAY = dt.date(2026, 11, 29)
AT = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def test_events_are_read_back_oldest_first_from_a_file_per_day(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit")
    log.record("ops@x", "operations", "sign-in", source="10.0.0.5", now=AT)
    log.record("ops@x", "operations", "view", {"page": "coverage", "area": ["Bong"]}, now=AT)
    log.record("ops@x", "partner", "view-as", {"from": "operations"}, now=AT + dt.timedelta(days=1))
    got = log.read(DAY, DAY + dt.timedelta(days=1))
    assert got.unreadable == 0
    assert list(got.events["event"]) == ["sign-in", "view", "view-as"]
    assert got.events["detail"][1] == {"page": "coverage", "area": ["Bong"]}
    assert sorted(p.name for p in (tmp_path / "audit").iterdir()) == [
        "audit-2026-11-29.jsonl",
        "audit-2026-11-30.jsonl",
    ]
    mode = stat.S_IMODE((tmp_path / "audit" / "audit-2026-11-29.jsonl").stat().st_mode)
    assert mode == 0o600  # other users of the machine cannot read who looked at what


def test_a_line_cut_by_a_crash_is_skipped_and_never_joined_to_the_next(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.record("a", "operations", "view", now=AT)
    with open(log.path(DAY), "ab") as fh:
        fh.write(b'{"time":"2026-11-29T12:00:01","who":"b","ro')  # the crash
    log.record("c", "partner", "view", now=AT)
    got = log.read(DAY, DAY)
    assert list(got.events["who"]) == ["a", "c"] and got.unreadable == 1


def test_sessions_writing_at_once_never_mix_their_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)

    def writer(n: int) -> None:
        for i in range(200):
            log.record(f"user{n}", "operations", "view", {"i": i, "pad": "x" * 300}, now=AT)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = log.read(DAY, DAY)
    assert got.unreadable == 0 and len(got.events) == 1600


WRITER = """
import datetime as dt, sys
from pathlib import Path
from layers.access.audit import AuditLog
log = AuditLog(Path(sys.argv[1]))
at = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
i = 0
while True:
    log.record("ops", "operations", "view", {"i": i, "pad": "y" * 2000}, now=at)
    i += 1
"""


def test_a_killed_server_loses_no_line_written_before(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], cwd=Path(__file__).parents[1]
    )
    written = AuditLog(tmp_path).path(DAY)
    deadline = time.monotonic() + 60  # a loaded machine may take seconds to start Python
    while time.monotonic() < deadline:
        if written.exists() and written.stat().st_size > 20 * 2000:
            break
        time.sleep(0.1)
    time.sleep(0.3)  # killed in the middle of writing, not before it starts
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    got = AuditLog(tmp_path).read(DAY, DAY)
    numbers = [d["i"] for d in got.events["detail"]]
    assert len(numbers) > 10 and got.unreadable == 0
    assert numbers == list(range(len(numbers)))  # every line, in order, none missing
