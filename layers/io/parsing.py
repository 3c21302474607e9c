"""Bytes of a feed file to a RawTable: decode, then CSV or GeoJSON."""

from __future__ import annotations

import codecs
from pathlib import Path

from layers.core.problems import Level, Problem
from layers.io.csv_text import _parse_csv
from layers.io.geojson_text import _parse_geojson
from layers.io.raw import FeedError, RawTable


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
