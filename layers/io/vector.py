"""Files GIS tools and GPS units write, to a RawTable.

- Shapefile sets (read as one zip of their parts, see :func:`layers.io.files.read_whole`),
  zipped shapefiles, GeoPackage, KML, KMZ and GPX: through pyogrio (GDAL), which knows
  their formats, encodings and projections.
- The times of KML tracks (``gx:Track``, ``gx:MultiTrack``), which GDAL reads as lines
  without their times: through defusedxml (the standard library's XML parser, guarded
  against entity expansion: a feed file comes from outside).
- A zip holding one CSV or GeoJSON file (UCDP's downloads): its member, handed back to
  the text reader.

Which layer of a file with several: the one named in settings (``POLLWATCH_LAYERS``),
else for KML every folder (each row keeps its folder), for GPX the waypoints, routes or
tracks that fit the feed (track points with their times for a feed that
:attr:`~layers.io.spec.FeedSpec.tracks`), else the first layer whose geometry fits.
"""

from __future__ import annotations

import io
import math
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeVar

import defusedxml.ElementTree as SafeET
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from layers.core.problems import Level, Problem
from layers.io.raw import FeedError, RawTable, _normalise_columns
from layers.io.spec import AREA_TYPES, LINE_TYPES, POINT_TYPES, FeedSpec

T = TypeVar("T")
ZIP_MAGIC = b"PK\x03\x04"
SQLITE_MAGIC = b"SQLite format 3\x00"
VECTOR_SUFFIXES = (".shp", ".zip", ".gpkg", ".kml", ".kmz", ".gpx")
TEXT_MEMBERS = (".csv", ".tsv", ".txt", ".geojson", ".json")
# A zip may not unpack to more than this: a small file that unpacks to gigabytes is
# not a feed (a "zip bomb"), and reading it would take the server's memory.
MAX_UNZIPPED = 2**30
_XML_START = re.compile(rb"^(\xef\xbb\xbf)?\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(kml|gpx)\b", re.S)


@dataclass(frozen=True)
class FileOptions:
    """How to read one feed's file, from settings: the layer to take from a file with
    several (GeoPackage, KML, GPX), and the CRS of a CSV's coordinates."""

    layer: str | None = None
    crs: str | None = None


def kind_of(name: str, data: bytes) -> str | None:
    """'zip', 'gpkg', 'kml' or 'gpx' for a file this module reads, by content first, then
    by name; None for text (CSV, GeoJSON)."""
    if data.startswith(ZIP_MAGIC):
        return "zip"
    if data.startswith(SQLITE_MAGIC):
        return "gpkg"
    head = _XML_START.match(data[:4096])
    if head:
        return head.group(4).decode().lower()
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in (".kml", ".gpx"):
        return suffix[1:]
    if suffix in (".shp", ".zip", ".kmz", ".gpkg"):
        return {".shp": "zip", ".kmz": "zip"}.get(suffix, suffix[1:])
    return None


def read_vector(
    spec: FeedSpec,
    name: str,
    data: bytes,
    kind: str,
    options: FileOptions,
    text_reader: Callable[[str, bytes], RawTable],
) -> RawTable:
    """The records of a vector file (or of the text file a zip holds)."""
    feed = spec.name
    notes: list[Problem] = []
    if kind == "zip":
        members = _zip_members(feed, name, data)
        spatial = [m for m in members if m.lower().endswith((".shp", ".kml", ".gpkg", ".gpx"))]
        if not spatial:
            texts = [m for m in members if m.lower().endswith(TEXT_MEMBERS)]
            if len(texts) != 1:
                raise FeedError.whole(
                    feed,
                    name,
                    "the zip holds no shapefile, KML, GeoPackage or GPX, and not one CSV or "
                    f"GeoJSON file (it holds {_listed(members)}).",
                    "Put one feed's file in the zip, or the file itself in the folder.",
                    "unparseable",
                )
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return text_reader(f"{name}:{texts[0]}", archive.read(texts[0]))
        if spatial[0].lower().endswith(".kml"):
            kind = "kml"
        for shp in (m for m in spatial if m.lower().endswith(".shp")):
            stem = shp[:-4].lower()
            lacking = [s for s in (".dbf", ".shx") if f"{stem}{s}" not in map(str.lower, members)]
            if lacking:
                base = PurePosixPath(name).stem if name.lower().endswith(".shp") else shp[:-4]
                raise FeedError.whole(
                    feed,
                    name,
                    f"the shapefile has no {' and no '.join(base + s for s in lacking)} "
                    "(a shapefile is a set: .shp, .shx, .dbf and .prj).",
                    "Copy every part of the shapefile into the folder, or send it zipped.",
                    "unparseable",
                )
    frame, layer_notes = _read_layers(spec, name, data, kind, options)
    notes += layer_notes
    return _raw_table(feed, name, frame, notes)


def _zip_members(feed: str, name: str, data: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, EOFError) as err:
        raise FeedError.whole(
            feed,
            name,
            f"the zip cannot be opened ({err}); it may be cut short.",
            "Copy the whole file again.",
            "unparseable",
        ) from err
    unzipped = sum(i.file_size for i in infos)
    if unzipped > MAX_UNZIPPED:
        raise FeedError.whole(
            feed,
            name,
            f"the zip unpacks to {unzipped / 2**20:,.0f} MB, more than the "
            f"{MAX_UNZIPPED / 2**20:,.0f} MB a feed may hold; it was not read.",
            "Send the feed's own file, not an archive of many.",
            "too_large",
        )
    return [i.filename for i in infos if not PurePosixPath(i.filename).name.startswith(".")]


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:6]) or "nothing"
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def _fits(geometry_type: str | None, wanted: tuple[str, ...]) -> bool:
    if geometry_type is None:
        return False
    base = geometry_type.replace(" Z", "").replace("25D", "").removeprefix("Multi")
    return base == "Unknown" or any(base == w.removeprefix("Multi") for w in wanted)


def _read_layers(
    spec: FeedSpec, name: str, data: bytes, kind: str, options: FileOptions
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    feed = spec.name
    encoding = _shapefile_encoding(data) if kind == "zip" else None
    listed = _gdal(
        feed,
        name,
        f"GDAL cannot read this {kind.upper()} file",
        lambda: pyogrio.list_layers(io.BytesIO(data)),
    )
    layers = [(str(n), t) for n, t in listed]
    notes: list[Problem] = []
    if options.layer is not None:
        named = [layer for layer in layers if layer[0].strip() == options.layer]
        if not named:
            raise FeedError.whole(
                feed,
                name,
                f"the file has no layer {options.layer!r} (settings name it); it has "
                f"{_listed([n.strip() for n, _ in layers])}.",
                "Name one of its layers in POLLWATCH_LAYERS.",
                "unparseable",
            )
        chosen = named
    else:
        chosen = _choose(spec, name, kind, layers, data, encoding, notes)
    frames = []
    for layer, _ in chosen:
        frame = _read_one(feed, name, data, layer, encoding)
        if kind == "kml" and len(chosen) > 1:
            frame.insert(0, "folder", layer.strip())
        frames.append(frame)
    if kind == "gpx" and chosen and chosen[0][0] == "track_points":
        frames = [_named_track_points(feed, name, data, frames[0], encoding)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if kind == "kml" and spec.tracks:
        timed = kml_track_points(feed, name, data)
        if len(timed):
            notes.append(_note(feed, name, f"read {len(timed):,} timed points of its tracks."))
            frame = timed
    return gpd.GeoDataFrame(frame, geometry="geometry"), notes


def _choose(
    spec: FeedSpec,
    name: str,
    kind: str,
    layers: list[tuple[str, object]],
    data: bytes,
    encoding: str | None,
    notes: list[Problem],
) -> list[tuple[str, object]]:
    feed = spec.name
    wanted = spec.geometry
    if kind == "kml":
        return layers  # every folder; the reader reports placemarks of other kinds
    if kind == "gpx":
        order = (
            ("track_points", "route_points", "waypoints")
            if spec.tracks
            else ("waypoints", "route_points", "track_points")
            if set(wanted) & set(POINT_TYPES)
            else ("tracks", "routes")
            if set(wanted) & set(LINE_TYPES)
            else ()
        )
        for layer in order:
            if any(n == layer for n, _ in layers) and _count(data, layer) > 0:
                return [(layer, None)]
        raise FeedError.whole(
            feed,
            name,
            f"the GPX file has no {_what(wanted)} for this feed (it has {_gpx_counts(data)}).",
            "GPX holds waypoints, routes and tracks: use it for points or routes.",
            "wrong_geometry",
        )
    fitting = [layer for layer in layers if _fits(layer[1], wanted)]  # type: ignore[arg-type]
    if not fitting:
        raise FeedError.whole(
            feed,
            name,
            f"no layer of the file holds {_what(wanted)} (it has "
            f"{_listed([f'{n} ({t})' for n, t in layers])}).",
            f"Put the {spec.title.lower()} in this feed's file.",
            "wrong_geometry",
        )
    if len(layers) > 1:
        others = [n for n, _ in layers if n != fitting[0][0]]
        notes.append(
            _note(
                feed,
                name,
                f"the file has {len(layers)} layers; read {fitting[0][0]!r}, not "
                f"{_listed(others)}.",
                f"To read another, set POLLWATCH_LAYERS={feed}=<layer>.",
            )
        )
    return fitting[:1]


def _what(wanted: tuple[str, ...]) -> str:
    if set(wanted) & set(POINT_TYPES) and set(wanted) & set(AREA_TYPES):
        return "points or polygons"
    if set(wanted) & set(POINT_TYPES):
        return "points"
    return "lines" if set(wanted) & set(LINE_TYPES) else "polygons"


def _count(data: bytes, layer: str) -> int:
    try:
        return int(
            pyogrio.read_info(io.BytesIO(data), layer=layer, force_feature_count=True)["features"]
        )
    except Exception:  # noqa: BLE001 - a layer GDAL cannot count is one we do not take
        return 0


def _gpx_counts(data: bytes) -> str:
    return ", ".join(
        f"{_count(data, layer):,} {layer.replace('_', ' ')}"
        for layer in ("waypoints", "routes", "tracks")
    )


def _read_one(
    feed: str, name: str, data: bytes, layer: str, encoding: str | None
) -> gpd.GeoDataFrame:
    return _gdal(
        feed,
        name,
        f"the layer {layer.strip()!r} cannot be read",
        lambda: pyogrio.read_dataframe(
            io.BytesIO(data), layer=layer, encoding=encoding, use_arrow=False
        ),
    )


def _gdal(feed: str, name: str, failed: str, call: Callable[[], T]) -> T:
    """``call()`` of GDAL, its remarks silenced; any error it raises for a damaged file
    is the feed's error, saying ``failed`` and why."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL's remarks; problems are reported apart
            return call()
    except Exception as err:  # noqa: BLE001 - GDAL raises its own errors for damaged files
        raise FeedError.whole(
            feed,
            name,
            f"{failed} ({_short(err)}).",
            "It may be cut short or damaged: copy or export it again.",
            "unparseable",
        ) from err


def _named_track_points(
    feed: str, name: str, data: bytes, points: gpd.GeoDataFrame, encoding: str | None
) -> gpd.GeoDataFrame:
    """GPX track points with the name of their track (``track``), first of each row."""
    tracks = _read_one(feed, name, data, "tracks", encoding)
    names = tracks["name"].tolist() if "name" in tracks else []
    fid = points["track_fid"].to_numpy() if "track_fid" in points else np.zeros(len(points))
    label = [
        str(names[int(i)]) if 0 <= int(i) < len(names) and names[int(i)] else f"track {int(i) + 1}"
        for i in fid
    ]
    points = points.drop(columns=[c for c in ("name",) if c in points])
    points.insert(0, "track", label)
    return points


def _shapefile_encoding(data: bytes) -> str | None:
    """The encoding of a zipped shapefile's attributes: its .cpg, else its DBF's language
    mark, else UTF-8 when the text decodes as UTF-8, else Windows-1252. None: GDAL's
    own choice (a .cpg or the DBF's mark)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if any(n.lower().endswith(".cpg") for n in names):
                return None
            dbf = next((n for n in names if n.lower().endswith(".dbf")), None)
            if dbf is None:
                return None
            head = archive.read(dbf)
    except (zipfile.BadZipFile, EOFError, KeyError):
        return None
    if len(head) < 32 or head[29] != 0:  # a language driver mark: GDAL reads it
        return None
    header_size = int.from_bytes(head[8:10], "little")
    try:
        head[header_size:].decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "UTF-8"


def kml_track_points(feed: str, name: str, data: bytes) -> gpd.GeoDataFrame:
    """One row per timed point of each ``gx:Track`` in a KML (or KMZ) file: ``track``
    (its placemark's name), ``time`` and the point."""
    if data.startswith(ZIP_MAGIC):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inner = next((n for n in archive.namelist() if n.lower().endswith(".kml")), None)
            if inner is None:
                return _points([], [], [], [])
            data = archive.read(inner)
    try:
        root = SafeET.fromstring(data)
    except Exception as err:  # noqa: BLE001 - defusedxml refuses entities with its own errors
        raise FeedError.whole(
            feed,
            name,
            f"the KML is not well-formed XML ({_short(err)}).",
            "Export it again.",
            "unparseable",
        ) from err
    tracks, times, lons, lats = [], [], [], []
    for n, placemark in enumerate(_all(root, "Placemark")):
        label = next((e.text for e in placemark if _local(e.tag) == "name" and e.text), None)
        label = (label or f"track {n + 1}").strip()
        for track in _all(placemark, "Track"):
            whens = [e.text or "" for e in track if _local(e.tag) == "when"]
            coords = [e.text or "" for e in track if _local(e.tag) == "coord"]
            for when, coord in zip(whens, coords, strict=False):
                parts = coord.split()
                tracks.append(label)
                times.append(when.strip())
                lons.append(_float(parts[0]) if parts else math.nan)
                lats.append(_float(parts[1]) if len(parts) > 1 else math.nan)
    return _points(tracks, times, lons, lats)


def _points(tracks: list, times: list, lons: list, lats: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"track": tracks, "time": times},
        geometry=gpd.points_from_xy(lons, lats),
        crs="EPSG:4326",
    )


def _all(element: Any, tag: str) -> Iterator[Any]:
    return (e for e in element.iter() if _local(e.tag) == tag)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _short(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__


def _note(feed: str, name: str, message: str, fix: str = "") -> Problem:
    return Problem(feed, name, None, None, message, fix, Level.NOTICE, "file_format")


def _raw_table(feed: str, name: str, frame: gpd.GeoDataFrame, notes: list[Problem]) -> RawTable:
    """A GeoDataFrame read by GDAL as a RawTable: attribute values as text, locations in
    WGS84 longitude/latitude (reprojected from the file's own CRS)."""
    problems = list(notes)
    geoms = frame.geometry
    if geoms.crs is None:
        bounds = geoms.total_bounds if len(geoms) else np.array([0.0, 0.0, 0.0, 0.0])
        if np.isfinite(bounds).all() and (
            np.abs(bounds[[0, 2]]).max() > 180 or np.abs(bounds[[1, 3]]).max() > 90
        ):
            raise FeedError.whole(
                feed,
                name,
                "the file declares no coordinate system (no .prj) and its coordinates are "
                "not longitude and latitude.",
                "Send the shapefile's .prj with it, or export it in WGS84 (EPSG:4326).",
                "unknown_crs",
            )
    elif not pyproj.CRS(geoms.crs).equals(pyproj.CRS("EPSG:4326"), ignore_axis_order=True):
        problems.append(_note(feed, name, f"reprojected from {pyproj.CRS(geoms.crs).name}."))
        geoms = geoms.to_crs("EPSG:4326")
    values = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for col in values.columns:
        if pd.api.types.is_datetime64_any_dtype(values[col]):
            values[col] = values[col].map(lambda t: None if pd.isna(t) else t.isoformat())
    values = _normalise_columns(values.reset_index(drop=True), feed, name, problems)
    n = len(values)
    arr = geoms.to_numpy()
    geom_type = ["" if g is None or g.is_empty else str(g.geom_type) for g in arr]
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    shapes: dict[int, BaseGeometry] = {}
    for i, (g, t) in enumerate(zip(arr, geom_type, strict=True)):
        if t == "Point":
            lon[i], lat[i] = g.x, g.y
        elif t:
            shapes[i] = shapely.force_2d(g)
    return RawTable(
        feed, name, values, np.arange(1, n + 1), problems, {}, geom_type, lon, lat, shapes
    )
