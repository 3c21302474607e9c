"""A feed rewritten in a loop by another process is never read half-written."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from layers.io.files import StillWriting, read_whole
from layers.io.parsing import parse
from layers.io.raw import FeedError
from layers.io.spec import ReadContext
from layers.registry import REGISTRY

WRITER = """
import sys, time
from pathlib import Path
from layers.io.files import write_atomic
path, a, b, seconds = Path(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
texts = [Path(a).read_text(), Path(b).read_text()]
end = time.monotonic() + seconds
n = 0
while time.monotonic() < end:
    write_atomic(path, texts[n % 2])
    n += 1
print(n)
"""


def rows(n: int) -> str:
    head = "id,time,type,severity,latitude,longitude\n"
    return head + "".join(
        f"I{i},2026-10-11T10:{i % 60:02d}:00Z,Protest,low,{6 + i / 1000:.4f},-10.5\n"
        for i in range(n)
    )


def test_thousands_of_reads_during_atomic_rewrites_never_fail(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(rows(40))
    b.write_text(rows(70))
    feed = tmp_path / "incidents.csv"
    feed.write_text(rows(40))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(feed), str(a), str(b), "4"],
        stdout=subprocess.PIPE,
        text=True,
    )
    counts: dict[int, int] = {}
    failures = []
    reads = moving = 0
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline or reads < 2_000:
        try:
            data, _ = read_whole(feed)
        except StillWriting:  # changed at every look: left for the next one, never half-read
            moving += 1
            continue
        try:
            raw = parse("incidents", feed, data)
        except FeedError as err:  # would be a half-written file
            failures.append(str(err.problem))
            continue
        n = len(raw.values)
        complete = data.endswith(b"\n") and data.count(b"\n") == n + 1
        if raw.problems or n not in (40, 70) or not complete:
            failures.append(f"{n} rows, {raw.problems[:1]}")
        counts[n] = counts.get(n, 0) + 1
        reads += 1
    # And the layer takes the last version whole.
    frame, problems = REGISTRY["incidents"].load(raw, ReadContext())
    assert len(frame) in (40, 70) and not problems
    writes = int(writer.communicate(timeout=30)[0])
    assert reads >= 2_000 and writes > 50 and moving < reads
    assert failures == []
    assert set(counts) == {40, 70}  # both versions were really seen
