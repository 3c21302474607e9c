"""Feed files on disk: find a feed's file, its signature, read it whole, write it atomically."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from layers.core.problems import Level, Problem

FEED_SUFFIXES = (".geojson", ".json", ".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class Signature:
    """Cheap identity of one version of a file."""

    mtime_ns: int
    size: int

    @property
    def mtime(self) -> pd.Timestamp:
        return pd.Timestamp(self.mtime_ns, unit="ns", tz="UTC")


def locate(folder: Path, feed: str) -> tuple[Path | None, list[Problem]]:
    """The file that holds ``feed`` in ``folder``, or None, with a problem if it is ambiguous."""
    found = [
        folder / f"{feed}{suffix}"
        for suffix in FEED_SUFFIXES
        if (folder / f"{feed}{suffix}").is_file()
    ]
    if not found:
        return None, []
    problems = []
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        problems.append(
            Problem(
                feed,
                found[0].name,
                None,
                None,
                f"several files for this feed ({names}); using {found[0].name}.",
                "Keep one file per feed in the folder.",
                Level.WARNING,
                "several_files",
            )
        )
    return found[0], problems


def signature(path: Path) -> Signature:
    """Modification time and size of ``path``."""
    st = path.stat()
    return Signature(st.st_mtime_ns, st.st_size)


class StillWriting(Exception):
    """The file changed between two looks: somebody is still writing it."""


def settled(path: Path, sig: Signature, settle_s: float) -> None:
    """Return when ``path``, seen as ``sig``, did not move between two looks: the second
    once the file is ``settle_s`` seconds old, and at least a tenth of that after the
    first (a file system may show a truncated file with its old time for a moment).
    Raise :class:`StillWriting` when its size or time moved in between."""
    if settle_s <= 0:
        return
    age = (time.time_ns() - sig.mtime_ns) / 1e9
    time.sleep(min(max(settle_s - age, settle_s / 10), settle_s))
    if signature(path) != sig:
        raise StillWriting(path.name)


def read_whole(path: Path, attempts: int = 3) -> tuple[bytes, Signature]:
    """Read a file in one piece: if it changed while being read, read it again; raise
    :class:`StillWriting` when it kept changing."""
    for attempt in range(attempts):
        before = signature(path)
        data = path.read_bytes()
        after = signature(path)
        if before == after and len(data) == after.size:
            return data, after
        time.sleep(0.05 * (attempt + 1))
    raise StillWriting(path.name)


def write_atomic(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Write ``path`` so that a reader sees the old file or the new one, never half of one.

    ``mode``: by default readable by all (a feed folder is shared with the dashboard's
    user); 0o600 for what only this user may read."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
