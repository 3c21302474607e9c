"""Feed files on disk: find a feed's file, its signature, read it whole, write it atomically."""

from __future__ import annotations

import io
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from layers.core.problems import Level, Problem

# In this order of preference when a folder holds a feed in several files.
FEED_SUFFIXES = (
    ".geojson",
    ".json",
    ".csv",
    ".tsv",
    ".txt",
    ".geojsonl",
    ".geojsons",
    ".ndjson",
    ".jsonl",
    ".seq",
    ".shp",
    ".zip",
    ".gpkg",
    ".kml",
    ".kmz",
    ".gpx",
)
# A shapefile is a set of files: the geometry (.shp) and, read with it, these. A CSV may
# have a .prj beside it: the coordinate system of its coordinates.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
SIDECARS = (".prj",)


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


def parts(path: Path) -> list[Path]:
    """The files read as one feed file: a shapefile's set, or a file and its .prj."""
    if path.suffix.lower() == ".shp":
        found = [p for p in (_beside(path, s) for s in SHAPEFILE_PARTS) if p is not None]
        return [path, *(p for p in found if p != path)]
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return [path, *(p for p in (_beside(path, s) for s in SIDECARS) if p is not None)]
    return [path]


def _beside(path: Path, suffix: str) -> Path | None:
    """The file with ``path``'s stem and ``suffix`` in any case (GIS tools write .SHP and
    .shp alike), or None."""
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def unread(folder: Path, feeds: dict[str, Path | None]) -> list[tuple[str, str]]:
    """(file, why it is not read) for each file in ``folder`` that no feed reads; ``feeds``:
    each feed's file, as :func:`locate` found it. Hidden files (a writer's temporary
    copies) and the scenario manifest are not listed."""
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError:
        return []
    read = {part.name for path in feeds.values() if path is not None for part in parts(path)}
    # A shapefile's other parts (indexes, metadata: .sbn, .shp.xml...) go with it.
    sets = tuple(p.stem + "." for p in feeds.values() if p is not None and p.suffix == ".shp")
    by_stem = {name: path for name, path in feeds.items()}
    out = []
    for entry in entries:
        if entry.name in read or entry.name.startswith(sets) or entry.name == "scenario.json":
            continue
        if entry.is_dir():
            out.append((entry.name + "/", "a folder: feeds are files at the top of the folder."))
            continue
        stem, suffix = entry.stem, entry.suffix.lower()
        chosen = by_stem.get(stem)
        if chosen is not None and suffix in FEED_SUFFIXES:
            reason = f"{stem} is read from {chosen.name}; keep one file per feed."
        elif suffix in SHAPEFILE_PARTS + (".sbn", ".sbx", ".xml", ".qix", ".qmd"):
            reason = (
                f"part of a shapefile without its {stem}.shp."
                if stem in by_stem
                else f"part of a shapefile not named after a feed ({_feed_names(feeds)})."
            )
        elif stem in by_stem:
            reason = (
                f"{suffix or 'no extension'} is not a format the dashboard reads; save it as "
                "CSV, GeoJSON, a shapefile, GeoPackage, KML or GPX."
            )
        elif suffix in FEED_SUFFIXES:
            reason = (
                f"not named after a feed: rename it to one of {_feed_names(feeds)} "
                f"(keeping {suffix}) to read it."
            )
        else:
            reason = "neither named after a feed nor in a format the dashboard reads."
        out.append((entry.name, reason))
    return out


def _feed_names(feeds: dict[str, Path | None]) -> str:
    return ", ".join(feeds)


def signature(path: Path) -> Signature:
    """Modification time and size of ``path`` (the newest time and the total size of
    the files read with it: a shapefile's parts, a CSV's .prj)."""
    st = path.stat()
    mtime, size = st.st_mtime_ns, st.st_size
    for part in parts(path)[1:]:
        try:
            other = part.stat()
        except FileNotFoundError:  # removed since it was listed: the next look sees it
            continue
        mtime, size = max(mtime, other.st_mtime_ns), size + other.st_size
    return Signature(mtime, size)


class StillWriting(Exception):
    """The file changed between two looks: somebody is still writing it."""


def settled(path: Path, sig: Signature, settle_s: float) -> None:
    """Return when ``path``, seen as ``sig``, did not move between two looks: the second
    once the file is ``settle_s`` seconds old, and at least a tenth of that after the
    first (a file system may show a truncated file with its old time for a moment).
    Raise :class:`StillWriting` when its size or time moved in between."""
    if settle_s <= 0:
        return
    time.sleep(settle_pause(sig, settle_s))
    if signature(path) != sig:
        raise StillWriting(path.name)


def settle_pause(sig: Signature, settle_s: float) -> float:
    """Seconds to wait before the second look at a file seen as ``sig`` (:func:`settled`)."""
    age = (time.time_ns() - sig.mtime_ns) / 1e9
    return min(max(settle_s - age, settle_s / 10), settle_s)


def read_whole(path: Path, attempts: int = 3) -> tuple[bytes, Signature]:
    """Read a file in one piece: if it changed while being read, read it again; raise
    :class:`StillWriting` when it kept changing."""
    for attempt in range(attempts):
        before = signature(path)
        files = parts(path)
        contents = [p.read_bytes() for p in files]
        after = signature(path)
        if before == after and sum(map(len, contents)) == after.size:
            return _joined(path, files, contents), after
        time.sleep(0.05 * (attempt + 1))
    raise StillWriting(path.name)


def _joined(path: Path, files: list[Path], contents: list[bytes]) -> bytes:
    """A file's bytes; a shapefile set as one zip of its parts (how it is read, see
    :mod:`layers.io.vector`); a CSV with its .prj as the CSV (its .prj: :func:`crs_beside`)."""
    if path.suffix.lower() != ".shp":
        return contents[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for part, data in zip(files, contents, strict=True):
            archive.writestr(path.stem + part.suffix.lower(), data)
    return buffer.getvalue()


def crs_beside(path: Path) -> str | None:
    """The coordinate system a .prj beside a CSV declares (its WKT), or None."""
    prj = next((p for p in parts(path)[1:] if p.suffix.lower() == ".prj"), None)
    if prj is None:
        return None
    try:
        return prj.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


def write_atomic(path: Path, data: bytes | str, mode: int = 0o644, durable: bool = True) -> None:
    """Write ``path`` so that a reader sees the old file or the new one, never half of one.

    ``mode``: by default readable by all (a feed folder is shared with the dashboard's
    user); 0o600 for what only this user may read. ``durable=False``: not flushed to the
    disk before it replaces the old one (for files no restart reads: a page's datasets,
    where waiting for the disk cost a screen 0.3 s after a restart)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
