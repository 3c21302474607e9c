"""Bytes of a feed file to a RawTable: a GIS file (shapefile, GeoPackage, KML, GPX, a zip)
by its content and name, else text: decoded, then CSV or GeoJSON."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

from layers.core.problems import Level, Problem
from layers.io.csv_text import _parse_csv
from layers.io.geojson_text import _parse_geojson
from layers.io.raw import FeedError, RawTable
from layers.io.spec import AREA_TYPES, LINE_TYPES, POINT_TYPES, FeedSpec
from layers.io.vector import FileOptions, kind_of, read_vector


def parse(
    feed: str,
    path: Path,
    data: bytes,
    progress: Callable[[int], None] | None = None,
    spec: FeedSpec | None = None,
    options: FileOptions | None = None,
) -> RawTable:
    """Parse one feed file's bytes; raises FeedError when nothing usable is in it.
    ``progress`` is told the number of CSV records read so far, now and then. ``spec``
    (the feed's geometry) picks the layer of a file with several; ``options`` are the
    settings for this feed's file (:class:`~layers.io.vector.FileOptions`)."""
    name = path.name
    if not data.strip():
        raise FeedError.whole(
            feed,
            name,
            "the file is empty.",
            "Check that the system writing this feed finished writing it.",
            kind="empty_file",
        )
    kind = kind_of(name, data)
    if kind is not None:
        return read_vector(
            spec or FeedSpec(feed, feed, (*POINT_TYPES, *LINE_TYPES, *AREA_TYPES), ()),
            name,
            data,
            kind,
            options or FileOptions(),
            lambda member, member_data: parse(feed, Path(member), member_data, progress, spec),
        )
    text, encoding_problem = _decode(feed, name, data)
    looks_json = text.lstrip(" \t\r\n\x1e")[:1] in ("{", "[")
    if path.suffix.lower() in (*GEOJSON_SUFFIXES, *SEQUENCE_SUFFIXES) or looks_json:
        table = _parse_geojson(feed, name, text)
    else:
        table = _parse_csv(feed, name, text, progress)
        table.crs = options.crs if options else None
    if encoding_problem:
        table.problems.insert(0, encoding_problem)
    return table


GEOJSON_SUFFIXES = (".geojson", ".json")
SEQUENCE_SUFFIXES = (".geojsonl", ".geojsons", ".ndjson", ".jsonl", ".seq")


# Bytes text files do not hold (NUL and the other C0 controls but tab, LF, VT, FF, CR, ESC):
# in a sample of random bytes about one in eleven, in text none.
CONTROL_BYTES = bytes([*range(0, 9), *range(14, 27), *range(28, 32)])
BINARY_SHARE = 0.01


def _decode(feed: str, name: str, data: bytes) -> tuple[str, Problem | None]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), None
    unmarked = _utf16_without_bom(data)
    if unmarked is None:
        head = data[:65536]
        control = len(head) - len(head.translate(None, CONTROL_BYTES))
        if control > BINARY_SHARE * len(head):
            raise FeedError.whole(
                feed,
                name,
                f"this is not a text file ({control:,} control bytes in its first "
                f"{len(head):,}); it was not read.",
                "Check that the system writing this feed wrote a CSV or GeoJSON file here, "
                "not a spreadsheet, an archive or a damaged copy.",
                kind="not_text",
            )
    if unmarked is not None:
        problem = Problem(
            feed,
            name,
            None,
            None,
            f"the file is UTF-16 without a byte-order mark; it was read as {unmarked}.",
            "Save it as UTF-8, or as UTF-16 with a byte-order mark.",
            Level.NOTICE,
            "encoding",
        )
        return data.decode(unmarked, errors="replace"), problem
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


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when ``data`` looks like UTF-16 text without its mark:
    mostly ASCII characters, so every other byte is NUL (text in other encodings has
    no NULs)."""
    head = data[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None
