"""Feed files: find them, read them whole, parse them into raw tables, keep the last good copy.

A feed is one file in the feed folder, named after the layer it feeds
(``incidents.csv``, ``polling_stations.geojson``...). This module knows nothing
about what the columns mean: it turns bytes into a :class:`RawTable` of text
values (plus coordinates or shapes for GeoJSON) and reports what it could not read.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import math
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely
import shapely.errors
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from layers.problems import Level, Problem

log = logging.getLogger(__name__)
FEED_SUFFIXES = (".geojson", ".json", ".csv", ".tsv", ".txt")
LAT_NAMES = ("lat", "latitude", "y", "lat_dd", "#geo+lat")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "lon_dd", "#geo+lon")
WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:4326",
}


class FeedError(Exception):
    """A whole feed could not be used; carries the problem to show."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem

    @classmethod
    def whole(
        cls,
        feed: str,
        file: str | None,
        message: str,
        fix: str,
        kind: str,
        column: str | None = None,
    ) -> FeedError:
        """The error for a feed file that cannot be used at all."""
        return cls(Problem(feed, file, None, column, message, fix, Level.ERROR, kind))


@dataclass(frozen=True)
class Signature:
    """Cheap identity of one version of a file."""

    mtime_ns: int
    size: int

    @property
    def mtime(self) -> pd.Timestamp:
        return pd.Timestamp(self.mtime_ns, unit="ns", tz="UTC")


@dataclass
class RawTable:
    """One feed file as read: text values per record, plus geometry for GeoJSON.

    ``values`` has one row per record and the file's own column names (normalised
    with :func:`normalise_name`). For GeoJSON, ``geom_type`` gives each feature's
    geometry type ('' when missing), ``lon``/``lat`` hold point coordinates (NaN
    otherwise) and ``shapes`` the other geometries by position.
    """

    feed: str
    file: str
    values: pd.DataFrame
    rows: np.ndarray
    problems: list[Problem] = field(default_factory=list)
    hxl: dict[str, str] = field(default_factory=dict)
    geom_type: list[str] | None = None
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None
    shapes: dict[int, BaseGeometry] = field(default_factory=dict)
    records: int = 0  # CSV records in the text, blank ones included (header = record 1)
    # For rows appended to a file already read: that file's built rows, so checks across
    # rows (repeated ids, points far from the rest) see them too.
    earlier: Any = None

    @property
    def is_geojson(self) -> bool:
        return self.geom_type is not None


def normalise_name(name: object) -> str:
    """Column name as compared: 'Event Date ' -> 'event_date', 'a:b' -> 'a_b'."""
    text = str(name).strip().lower()
    if text.startswith("#"):  # an HXL tag keeps its own syntax
        return re.sub(r"\s+", "", text)
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


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


def read_whole(path: Path, attempts: int = 5) -> tuple[bytes, Signature]:
    """Read a file in one piece: if it changed while being read, read it again."""
    for attempt in range(attempts):
        before = signature(path)
        data = path.read_bytes()
        after = signature(path)
        if before == after and len(data) == after.size:
            return data, after
        time.sleep(0.02 * (attempt + 1))
    return data, after


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``path`` so that a reader sees the old file or the new one, never half of one."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # a feed folder is shared: readable by the dashboard's user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------- parsing


def parse(feed: str, path: Path, data: bytes) -> RawTable:
    """Parse one feed file's bytes; raises FeedError when nothing usable is in it."""
    name = path.name
    if not data.strip():
        raise FeedError.whole(
            feed,
            name,
            "the file is empty.",
            "Check that the system writing this feed finished writing it.",
            kind="empty_file",
        )
    text, encoding_problem = _decode(feed, name, data)
    looks_json = text.lstrip()[:1] in ("{", "[")
    if path.suffix.lower() in (".geojson", ".json") or looks_json:
        table = _parse_geojson(feed, name, text)
    else:
        table = _parse_csv(feed, name, text)
    if encoding_problem:
        table.problems.insert(0, encoding_problem)
    return table


def _decode(feed: str, name: str, data: bytes) -> tuple[str, Problem | None]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        problem = Problem(
            feed,
            name,
            None,
            None,
            f"the file is not UTF-8 (byte {err.start}); it was read as Windows-1252.",
            "Save the file as UTF-8 so that names with accents read correctly.",
            Level.WARNING,
            "encoding",
        )
        return data.decode("cp1252", errors="replace"), problem


def _parse_geojson(feed: str, name: str, text: str) -> RawTable:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise FeedError.whole(
            feed,
            name,
            f"the file is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}).",
            "It may be half-written or cut off: check the system that writes it.",
            kind="unparseable",
        ) from err
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, list):
        features = doc
    else:
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise FeedError.whole(
            feed,
            name,
            f"expected a GeoJSON FeatureCollection, got {found!r}.",
            "Export the layer as a GeoJSON FeatureCollection.",
            kind="unparseable",
        )
    if not isinstance(features, list):
        raise FeedError.whole(
            feed,
            name,
            "'features' is not a list.",
            "Export the layer as a GeoJSON FeatureCollection.",
            kind="unparseable",
        )
    transformer = _crs_transformer(feed, name, doc)

    n = len(features)
    props: list[dict[str, Any]] = []
    geom_type = [""] * n
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    shapes: dict[int, BaseGeometry] = {}
    problems: list[Problem] = []
    for i, feat in enumerate(features):
        if not isinstance(feat, dict):
            props.append({})
            problems.append(
                Problem(
                    feed,
                    name,
                    i + 1,
                    "geometry",
                    "this entry is not a GeoJSON Feature.",
                    "Remove it or make it a Feature.",
                    kind="invalid_geometry",
                )
            )
            continue
        p = feat.get("properties")
        p = dict(p) if isinstance(p, dict) else {}
        if "id" in feat and "id" not in p:
            p["id"] = feat["id"]
        props.append(p)
        geom = feat.get("geometry")
        if not geom:
            continue
        gtype = geom.get("type", "") if isinstance(geom, dict) else ""
        geom_type[i] = str(gtype)
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if gtype == "Point" and isinstance(coords, list) and len(coords) >= 2:
            lon[i], lat[i] = _number(coords[0]), _number(coords[1])
            continue
        try:
            shapes[i] = shapely.geometry.shape(geom)
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            IndexError,
            shapely.errors.ShapelyError,
        ) as err:
            problems.append(
                Problem(
                    feed,
                    name,
                    i + 1,
                    "geometry",
                    f"the geometry could not be read ({err}).",
                    "Fix the feature's coordinates in the source.",
                    kind="invalid_geometry",
                )
            )
            geom_type[i] = ""
    if transformer is not None:
        ok = ~(np.isnan(lon) | np.isnan(lat))
        lon[ok], lat[ok] = transformer.transform(lon[ok], lat[ok])
        for i, shape in shapes.items():
            shapes[i] = shapely.transform(
                shape, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
            )
    values = pd.DataFrame.from_records(props, index=range(n)) if n else pd.DataFrame(index=range(0))
    values = _normalise_columns(values, feed, name, problems)
    return RawTable(
        feed, name, values, np.arange(1, n + 1), problems, {}, geom_type, lon, lat, shapes
    )


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _crs_transformer(feed: str, name: str, doc: Any) -> pyproj.Transformer | None:
    """Transformer to WGS84 lon/lat when the document declares another CRS (old GeoJSON)."""
    crs = doc.get("crs") if isinstance(doc, dict) else None
    if not isinstance(crs, dict):
        return None
    crs_name = str((crs.get("properties") or {}).get("name", "")).strip()
    if not crs_name or crs_name.lower() in WGS84_NAMES:
        return None
    try:
        source = pyproj.CRS.from_user_input(crs_name)
    except pyproj.exceptions.CRSError as err:
        raise FeedError.whole(
            feed,
            name,
            f"the file declares a CRS that is not known: {crs_name!r}.",
            "Export it in WGS84 (EPSG:4326), as RFC 7946 asks.",
            kind="unknown_crs",
        ) from err
    if source.equals(pyproj.CRS("EPSG:4326"), ignore_axis_order=True):
        return None
    return pyproj.Transformer.from_crs(source, "EPSG:4326", always_xy=True)


def stripped_text(values: Sequence[object]) -> np.ndarray:
    """Text cells without surrounding whitespace, empty ones as None (one Arrow pass)."""
    arr = pa.array(values, type=pa.string(), from_pandas=True)
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def _parse_csv(feed: str, name: str, text: str) -> RawTable:
    problems: list[Problem] = []
    lines = text.splitlines()
    sample = "\n".join(lines[:20])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if name.endswith(".tsv") else ","
    records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    # Rows with a non-empty cell, found in C; rows of only spaces go after stripping.
    filled = np.fromiter(map(any, records), dtype=bool, count=len(records))
    candidates = np.flatnonzero(filled)
    first = next((int(i) for i in candidates if "".join(records[i]).strip()), None)
    if first is None:
        raise FeedError.whole(
            feed,
            name,
            "the file has no rows.",
            "Check that the system writing this feed finished writing it.",
            kind="empty_file",
        )
    header = [h.strip() for h in records[first]]
    header = [h or f"column_{i + 1}" for i, h in enumerate(header)]
    body_at = candidates[candidates > first]
    hxl: dict[str, str] = {}
    if len(body_at) and _is_hxl_row(records[body_at[0]]):
        hxl = {
            normalise_name(h): normalise_name(t)
            for h, t in zip(header, records[body_at[0]], strict=False)
            if t.strip().startswith("#")
        }
        body_at = body_at[1:]
    body = list(map(records.__getitem__, body_at.tolist()))
    header = _fit_header(feed, name, header, body, problems)
    width = len(header)
    lengths = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
    ragged = np.flatnonzero(lengths != width).tolist()
    spaces = [k for k in ragged if not "".join(body[k]).strip()]  # blank lines, not rows
    if spaces:
        keep = np.ones(len(body), dtype=bool)
        keep[spaces] = False
        body = [r for r, k in zip(body, keep, strict=True) if k]
        body_at = body_at[keep]
        lengths = lengths[keep]
        ragged = np.flatnonzero(lengths != width).tolist()
    for k in ragged:
        rec = body[k]
        what = "fewer" if len(rec) < width else "more"
        problems.append(
            Problem(
                feed,
                name,
                int(body_at[k]) + 1,
                None,
                f"this row has {len(rec)} fields where the header has {width} ({what}).",
                "Check the row for a missing or extra delimiter; a cut-off last row means "
                "the file was half-written.",
                Level.WARNING,
                "row_length",
            )
        )
        body[k] = (rec + [""] * width)[:width]
    by_column = list(zip(*body, strict=True)) if body else [()] * width
    columns = [stripped_text(column) for column in by_column]
    rows = body_at + 1  # as a spreadsheet counts lines: the header is row 1
    spaces_only = (
        np.logical_and.reduce([c == None for c in columns])  # noqa: E711 (elementwise)
        if columns
        else np.zeros(len(rows), dtype=bool)
    )
    if spaces_only.any():
        columns = [c[~spaces_only] for c in columns]
        rows = rows[~spaces_only]
    values = pd.DataFrame(dict(enumerate(columns)), dtype=object)
    values.columns = header
    record_count = len(records)
    values = _normalise_columns(values, feed, name, problems)
    return RawTable(feed, name, values, rows, problems, hxl, records=record_count)


def _is_hxl_row(cells: Sequence[str]) -> bool:
    """An HXL hashtag row: (almost) every filled cell is a tag; an index cell may be a number."""
    filled = [c.strip() for c in cells if c.strip()]
    tags = [c for c in filled if c.startswith("#")]
    return len(tags) >= 2 and len(tags) >= 0.8 * len(filled)


def _fit_header(
    feed: str,
    name: str,
    header: list[str],
    body: list[list[str]],
    problems: list[Problem],
) -> list[str]:
    """Header with one name per field; notices a header shorter than its rows.

    A naive reader shifts every column left of the gap; here the missing names are
    placed where the coordinate columns read as coordinates, and the user is told.
    """
    if not body:
        return header
    widths = pd.Series(np.fromiter(map(len, body), dtype=np.int64, count=len(body)))
    width = int(widths.mode().iloc[0])
    missing = width - len(header)
    if missing <= 0:
        return header
    sample = [r for r in body if len(r) == width][:500]
    best, best_score = len(header), -1.0
    for k in range(len(header), -1, -1):
        names = header[:k] + [f"column_{k + j + 1}" for j in range(missing)] + header[k:]
        score = _coordinate_score(names, sample)
        if score > best_score:
            best, best_score = k, score
    names = header[:best] + [f"column_{best + j + 1}" for j in range(missing)] + header[best:]
    unnamed = ", ".join(names[best : best + missing])
    problems.append(
        Problem(
            feed,
            name,
            1,
            None,
            f"the header has {len(header)} names but the rows have {width} fields; the field(s) "
            f"without a name were read as {unnamed}, placed so that "
            f"{', '.join(header[best:]) or 'the named columns'} keep their values.",
            f"Add the missing column name(s) to the header of {name}.",
            Level.WARNING,
            "short_header",
        )
    )
    return names


def _coordinate_score(names: list[str], sample: list[list[str]]) -> float:
    """Share of sample values in columns named like coordinates that read as numbers in range."""
    checks = [(i, 90.0) for i, n in enumerate(names) if normalise_name(n) in LAT_NAMES]
    checks += [(i, 180.0) for i, n in enumerate(names) if normalise_name(n) in LON_NAMES]
    if not checks or not sample:
        return 0.0
    good = total = 0
    for rec in sample:
        for i, limit in checks:
            total += 1
            v = _number(rec[i]) if i < len(rec) else math.nan
            good += int(not math.isnan(v) and abs(v) <= limit)
    return good / total


def _normalise_columns(
    values: pd.DataFrame, feed: str, name: str, problems: list[Problem]
) -> pd.DataFrame:
    seen: dict[str, str] = {}
    keep = []
    new_names = []
    for i, col in enumerate(values.columns):
        norm = normalise_name(col) or f"column_{i + 1}"
        if norm in seen:
            problems.append(
                Problem(
                    feed,
                    name,
                    None,
                    str(col),
                    f"two columns are both called {norm!r} (also {seen[norm]!r}); "
                    "the first is used.",
                    "Give each column its own name.",
                    Level.WARNING,
                    "duplicate_column",
                )
            )
            continue
        seen[norm] = str(col)
        keep.append(i)
        new_names.append(norm)
    out = values.iloc[:, keep].copy()
    out.columns = new_names
    return out


# ---------------------------------------------------------------------------- last good copy


def os_problem(feed: str, file: object, err: OSError) -> Problem:
    """An operating-system failure while reading ``feed`` as a problem to show."""
    name = Path(str(file)).name if file else None
    reason = err.strerror or type(err).__name__
    return Problem(
        feed,
        name,
        None,
        None,
        f"the file could not be read: {reason}.",
        "Check that the file exists and that the dashboard's user may read it; it is "
        "tried again at the next refresh.",
        Level.ERROR,
        "os_error",
    )


def fault_problem(feed: str, file: str | None, err: Exception) -> Problem:
    """A fault of this program while reading or deriving ``feed``, as a problem to show
    (the traceback goes to the server's log)."""
    return Problem(
        feed,
        file,
        None,
        None,
        f"Pollwatch could not use this version ({type(err).__name__}: {str(err)[:200]}).",
        "This is a fault in Pollwatch, not necessarily in the file: the last good version "
        "stays on screen; please report it with the file.",
        Level.ERROR,
        "internal_error",
    )


T = TypeVar("T")


@dataclass
class FeedVersion(Generic[T]):
    """What a page shows for one feed: the data, where it came from, and what went wrong."""

    feed: str
    path: Path | None
    data: T | None
    signature: Signature | None
    problems: list[Problem]
    loaded_at: pd.Timestamp | None = None
    stale_copy: bool = False  # True when data is an older version kept because the new one failed
    good_signature: Signature | None = None  # of the file the data came from

    @property
    def updated(self) -> pd.Timestamp | None:
        """When the file the shown data came from was written (None when there is none)."""
        return self.good_signature.mtime if self.good_signature is not None else None


SHOWN_FAILURES = 3  # failures named in the one-line "showing 14:02 data" message
# Signs of a damaged file, not of messy data: a location or geometry that is not text a
# reader can parse, or a row cut short. An empty location, (0, 0) or swapped values are
# data a feed may well carry in every version (reported, the row kept, never held back).
DAMAGE_KINDS = frozenset({"not_a_number", "invalid_geometry"})  # at error level: a location
CUT_SHORT = "row_length"


def damage_since(before: Sequence[Problem], after: Sequence[Problem]) -> list[Problem]:
    """The signs of damage in ``after`` that ``before`` did not have: a location that
    cannot be parsed, a row cut short. Compared by what and where in the row (kind,
    column, message with the value), not by row number, which shifts as rows come and
    go: a feed's known bad rows do not count again, a new one does."""

    def damaging(p: Problem) -> bool:
        if p.row is None:
            return False
        return p.kind == CUT_SHORT or (p.level == Level.ERROR and p.kind in DAMAGE_KINDS)

    known = Counter((p.kind, p.column, p.message) for p in before if damaging(p))
    out = []
    for p in after:
        if not damaging(p):
            continue
        key = (p.kind, p.column, p.message)
        if known[key] > 0:
            known[key] -= 1
        else:
            out.append(p)
    return out


@dataclass(frozen=True)
class _ReadText:
    """A good version's bytes and how its CSV begins, to read rows appended to it."""

    data: bytes
    head: bytes  # the lines before the first row (header, HXL tags)
    head_records: int
    records: int
    columns: list[str]
    hxl: dict[str, str]
    appendable: bool  # a CSV ending in a newline, one record per line

    @classmethod
    def of(cls, data: bytes, raw: RawTable, before: _ReadText | None = None) -> _ReadText:
        if before is not None:  # an appended part: the head stays the first file's
            head, head_records = before.head, before.head_records
        else:
            head_records = int(raw.rows[0]) - 1 if len(raw.rows) else raw.records
            head = b"".join(data.splitlines(keepends=True)[:head_records])
        # One record per line, so appended bytes are appended records. For an appended
        # part only its own bytes are counted: the earlier ones were counted before.
        lines = (
            before.records + data.count(b"\n", len(before.data))
            if before is not None and before.appendable
            else data.count(b"\n")
        )
        appendable = (
            not raw.is_geojson
            and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))  # lines: bytes
            and raw.records > 0
            and data.endswith(b"\n")
            and lines == raw.records
        )
        return cls(
            data, head, head_records, raw.records, list(raw.values.columns), raw.hxl, appendable
        )


class FeedStore(Generic[T]):
    """Reads feeds from a folder, re-reading a file only when its signature changes.

    The first version of a feed shows every good row and reports the bad ones. After
    that, a new version that cannot be used at all, or that shows damage the shown version
    did not (a location that is not a number, a cut-off row: see :func:`damage_since`),
    is held back: the last good version stays on screen, the failure beside it, until a
    good file arrives. A screen that updates with rows silently missing would look live
    and complete when it is neither.
    """

    def __init__(
        self,
        folder: Path,
        build: Callable[[str, RawTable], tuple[T, list[Problem]]],
        extend: Callable[[T, T], T] | None = None,
    ):
        self.folder = Path(folder)
        self._build = build
        self._extend = extend  # earlier rows + appended rows, for append-only files
        self._good: dict[str, FeedVersion[T]] = {}
        self._seen: dict[str, tuple[Path | None, Signature | None, FeedVersion[T]]] = {}
        self._text: dict[str, _ReadText] = {}  # the good version's bytes, for appends

    def get(self, feed: str) -> FeedVersion[T]:
        """The current version of ``feed`` (cached while its file is unchanged).

        A failure of the operating system (permission denied, a file that vanished
        between listing and reading, an I/O error) is reported like any failed version
        and not remembered: the file is tried again at the next look, since fixing a
        permission changes neither its time nor its size."""
        path: Path | None = None
        try:
            path, locate_problems = locate(self.folder, feed)
            sig = signature(path) if path is not None else None
            seen = self._seen.get(feed)
            if seen is not None and seen[0] == path and seen[1] == sig:
                return seen[2]
            version = self._load(feed, path, locate_problems)
        except OSError as err:
            name = path.name if path is not None else getattr(err, "filename", None)
            return self._failed(feed, path, None, [os_problem(feed, name, err)])
        self._seen[feed] = (path, version.signature, version)
        return version

    def _load(self, feed: str, path: Path | None, problems: list[Problem]) -> FeedVersion[T]:
        if path is None:
            missing = Problem(
                feed,
                None,
                None,
                None,
                f"no {feed}.csv or {feed}.geojson in the feed folder.",
                f"Add {feed}.csv or {feed}.geojson to {self.folder.name}/ (docs/feeds.md "
                "describes its fields), or point POLLWATCH_FEEDS at the folder that has it.",
                kind="missing_file",
            )
            return self._failed(feed, None, None, [*problems, missing])
        try:
            data, sig = read_whole(path)
            read = self._read_appended(feed, path, data, problems)
            if read is None:
                raw = parse(feed, path, data)
                built, build_problems = self._build(feed, raw)
                found = [*problems, *raw.problems, *build_problems]
                text = _ReadText.of(data, raw)
            else:
                built, found, text = read
        except FeedError as err:
            sig = signature(path)
            return self._failed(feed, path, sig, [*problems, err.problem])
        except OSError:
            raise  # reported by get(), and not remembered
        except Exception as err:  # noqa: BLE001 - one layer's fault must not take the page
            log.exception("reading %s from %s failed", feed, path)
            sig = signature(path)
            return self._failed(feed, path, sig, [*problems, fault_problem(feed, path.name, err)])
        good = self._good.get(feed)
        worse = damage_since(good.problems, found) if good is not None else []
        if worse:
            held = len(built) if isinstance(built, Sized) else 0
            return self._failed(feed, path, sig, worse, held_rows=held)
        version = FeedVersion(
            feed, path, built, sig, found, pd.Timestamp.now(tz="UTC"), good_signature=sig
        )
        self._good[feed] = version
        self._text[feed] = text
        return version

    def _read_appended(
        self, feed: str, path: Path, data: bytes, located: list[Problem]
    ) -> tuple[T, list[Problem], _ReadText] | None:
        """When ``data`` is the good version's CSV with rows added at the end (how incident
        and position feeds grow), read only the added rows; None when it is not."""
        good, before = self._good.get(feed), self._text.get(feed)
        if (
            self._extend is None
            or good is None
            or good.data is None
            or before is None
            or good.path != path
            or not before.appendable
            or len(data) <= len(before.data)
            or not data.startswith(before.data)
        ):
            return None
        part = parse(feed, path, before.head + data[len(before.data) :])
        if list(part.values.columns) != before.columns or part.hxl != before.hxl:
            return None
        shift = before.records - before.head_records  # tail record k is file record k + shift
        part.rows = part.rows + shift
        part.records = before.records + part.records - before.head_records
        part.earlier = good.data
        built, part_problems = self._build(feed, part)
        said = {(p.kind, p.column, p.message) for p in good.problems if p.row is None}
        # The parser numbered the part's rows from its own start; the builder saw them shifted.
        parsed = [p if p.row is None else replace(p, row=p.row + shift) for p in part.problems]
        added = [
            p
            for p in [*located, *parsed, *part_problems]
            if p.row is not None or (p.kind, p.column, p.message) not in said
        ]
        joined = self._extend(good.data, built)
        return joined, [*good.problems, *added], _ReadText.of(data, part, before)

    def _failed(
        self,
        feed: str,
        path: Path | None,
        sig: Signature | None,
        problems: list[Problem],
        held_rows: int = 0,
    ) -> FeedVersion[T]:
        good = self._good.get(feed)
        if good is None:
            return FeedVersion(feed, path, None, sig, problems)
        when = good.signature.mtime.strftime("%H:%M") if good.signature else "earlier"
        failed_at = sig.mtime.strftime("%H:%M") if sig else "now"
        if when == failed_at and good.signature and sig:  # the same minute: say the seconds
            when, failed_at = (t.mtime.strftime("%H:%M:%S") for t in (good.signature, sig))
        shown = "; ".join(f"{p.where}: {p.message}" for p in problems[:SHOWN_FAILURES])
        if len(problems) > SHOWN_FAILURES:
            shown += f"; and {len(problems) - SHOWN_FAILURES} more"
        held = f" Its {held_rows:,} readable rows wait until then." if held_rows else ""
        kept = Problem(
            feed,
            good.path.name if good.path else None,
            None,
            None,
            f"showing {when} data; the {failed_at} file failed: {shown}",
            "The last good version stays on screen until a good file arrives." + held,
            Level.WARNING,
            "kept_last_good",
        )
        return FeedVersion(
            feed,
            good.path,
            good.data,
            sig,
            [kept, *problems, *good.problems],
            good.loaded_at,
            stale_copy=True,
            good_signature=good.signature,
        )
