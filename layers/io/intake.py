"""A file a person adds to the feed folder from the browser: what would be read from it,
and writing it in under the feed's name.

The same readers and checks as a file written by another system (:func:`parse`, the
layer's ``load``), so what the preview shows is what the dashboard will show. Written
atomically (a reader never sees half of it); another file of the same feed (a
``incidents.csv`` replaced by ``incidents.geojson``) is moved into ``.replaced/`` in the
folder, never deleted, and so is the file it replaces.
"""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from layers.core.problems import Level, Problem
from layers.io.files import FEED_SUFFIXES, SHAPEFILE_PARTS, locate, write_atomic
from layers.io.parsing import parse
from layers.io.raw import FeedError
from layers.io.rows import RowReader
from layers.io.spec import ReadContext
from layers.io.vector import FileOptions

if TYPE_CHECKING:
    from layers.contract import Layer

REPLACED = ".replaced"  # hidden: the folder listing (files.unread) leaves it out


@dataclass(frozen=True)
class Upload:
    """One file as it would be added: its name in the folder and its bytes (a shapefile's
    parts given one by one are zipped into ``<feed>.zip``)."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Preview:
    """What the dashboard would read from an upload as ``feed``."""

    feed: str
    upload: Upload
    frame: gpd.GeoDataFrame | None  # None: nothing could be read
    problems: list[Problem]
    mapping: list[tuple[str, str]]  # (the file's column, the feed's field)
    fields: int = 0  # the feed's fields the file has a column for

    @property
    def rows(self) -> int:
        return 0 if self.frame is None else len(self.frame)

    @property
    def located(self) -> int:
        """Rows with a usable location: what the map and the figures count."""
        if self.frame is None:
            return 0
        geoms = self.frame.geometry
        return int((geoms.notna() & ~geoms.is_empty).sum())

    @property
    def usable(self) -> bool:
        return self.frame is not None


def upload_of(feed: str, files: list[tuple[str, bytes]]) -> Upload:
    """The file to add as ``feed`` from what was dropped: one file, renamed to the feed
    with its own extension; a shapefile's parts, zipped."""
    if not files:
        raise ValueError("no file")
    suffixes = {PurePosixPath(name).suffix.lower() for name, _ in files}
    if len(files) > 1:
        if ".shp" not in suffixes or not suffixes <= set(SHAPEFILE_PARTS) | {".sbn", ".sbx"}:
            raise ValueError(
                "several files were dropped; only a shapefile's parts (.shp, .shx, .dbf, "
                ".prj, .cpg) go together. Drop one file, or the parts of one shapefile."
            )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files:
                archive.writestr(feed + PurePosixPath(name).suffix.lower(), data)
        return Upload(f"{feed}.zip", buffer.getvalue())
    name, data = files[0]
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".shp":
        raise ValueError(
            "a shapefile is a set of files: drop its .shp, .shx, .dbf and .prj together, "
            "or the zip that holds them."
        )
    if suffix not in FEED_SUFFIXES:
        raise ValueError(
            f"{suffix or 'a file without an extension'} is not a format the dashboard reads; "
            "see docs/feeds.md for the formats (CSV, GeoJSON, shapefile, GeoPackage, KML, GPX)."
        )
    return Upload(f"{feed}{suffix}", data)


def guess_feed(file_name: str, feeds: list[str]) -> str | None:
    """The feed of ``feeds`` a dropped file is named after ('incidents_2026.csv' ->
    incidents)."""
    stem = PurePosixPath(file_name).stem.lower()
    for feed in sorted(feeds, key=len, reverse=True):
        if stem == feed or stem.startswith(feed):
            return feed
    return None


GUESS_BYTES = 20 * 2**20  # a larger file is not read six times to guess its feed


def best_feed(layers: list[Layer], files: list[tuple[str, bytes]], ctx: ReadContext) -> str | None:
    """The feed a dropped file reads best as, by content: the most rows with a location,
    then the most of the feed's fields found, then the fewest errors, then the order of
    ``layers`` (None: none reads, or too large to try them all)."""
    if sum(len(data) for _, data in files) > GUESS_BYTES:
        return None
    scores = []
    for rank, layer in enumerate(layers):
        try:
            seen = preview(layer, upload_of(layer.SPEC.name, files), ctx)
        except ValueError:
            return None
        if seen.usable and seen.located:
            scores.append(
                (-seen.located, -seen.fields, errors(seen.problems), rank, layer.SPEC.name)
            )
    return min(scores)[4] if scores else None


def preview(
    layer: Layer, upload: Upload, ctx: ReadContext, options: FileOptions | None = None
) -> Preview:
    """What the dashboard would read from ``upload`` as ``layer``'s feed."""
    feed = layer.SPEC.name
    try:
        raw = parse(feed, Path(upload.name), upload.data, None, layer.SPEC, options)
        frame, problems = layer.load(raw, ctx)
    except FeedError as err:
        return Preview(feed, upload, None, [err.problem], [])
    found = [*raw.problems, *problems]
    # Each field's column, found as the reader finds it.
    reader = RowReader(raw, layer.SPEC, ctx)
    columns = {f.name: reader.source_column((f.name, *f.aliases)) for f in layer.SPEC.fields}
    mapping = [(col, name) for name, col in columns.items() if col is not None and col != name]
    fields = sum(col is not None for col in columns.values())
    return Preview(feed, upload, frame, found, mapping, fields)


def install(folder: Path, upload: Upload) -> list[str]:
    """Write ``upload`` into ``folder`` atomically; other files of the same feed, and the
    one it replaces, are moved into ``.replaced/`` first. Returns what was moved."""
    feed = PurePosixPath(upload.name).stem
    moved: list[str] = []
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = folder / REPLACED
    while True:
        found, _ = locate(folder, feed)
        if found is None:
            break
        aside.mkdir(exist_ok=True)
        going = (
            [p for p in folder.iterdir() if p.name.startswith(found.stem + ".") and p.is_file()]
            if found.suffix.lower() == ".shp"
            else [found]
        )
        for part in going:
            part.replace(aside / f"{stamp}-{part.name}")
            moved.append(part.name)
    write_atomic(folder / upload.name, upload.data)
    return moved


def errors(problems: list[Problem]) -> int:
    return sum(p.level == Level.ERROR for p in problems)


def problem_table(problems: list[Problem]) -> pd.DataFrame:
    """The problems as the Feeds page lists them."""
    return pd.DataFrame([p.as_dict() for p in problems])
