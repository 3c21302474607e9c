"""CSV text to a RawTable: dialect, short headers fitted, HXL hashtag rows."""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from layers.core.problems import Level, Problem
from layers.io.geojson_text import _number
from layers.io.raw import (
    LAT_NAMES,
    LON_NAMES,
    FeedError,
    RawTable,
    _normalise_columns,
    normalise_name,
    stripped_text,
)

LONE_CR = re.compile(r"\r(?!\n)")


# Records read between two progress reports, and rows turned into columns at a time: a
# large file is read in a thread beside the pages, and a C call over a million rows would
# hold the interpreter (and every page) for seconds.
PROGRESS_EVERY = 10_000
COLUMNS_EVERY = 20_000


def _parse_csv(
    feed: str, name: str, text: str, progress: Callable[[int], None] | None = None
) -> RawTable:
    problems: list[Problem] = []
    sample = "\n".join(text[:65536].splitlines()[:20])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if name.endswith(".tsv") else ","
    # A lone CR is a line end (old Mac files) or a stray one in a cell: either way a
    # line break, never an error; CRLF stays as the csv module reads it.
    text = LONE_CR.sub("\n", text)
    # A last line without its line end may be cut short (a file still being written, a
    # copy cut off inside a field): it is never read as values, only reported.
    # (A file of one line is its header: it has no values to cut.)
    end = text.rfind("\n") + 1
    text, tail = (text[:end], text[end:]) if end else (text, "")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        records: list[list[str]] = []
        while chunk := list(itertools.islice(reader, PROGRESS_EVERY)):
            records += chunk
            if progress is not None:
                progress(max(len(records) - 1, 0))  # rows below the header
    except csv.Error as err:
        raise FeedError.whole(
            feed,
            name,
            f"line {reader.line_num} cannot be read as CSV ({err}).",
            f"Cells are limited to {csv.field_size_limit():,} characters and may not hold "
            "NUL bytes: check that this is the CSV export you meant to send.",
            kind="unparseable",
        ) from err
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
    first = _below_preamble(feed, name, records, candidates, first, problems)
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
    by_column: list[list[str]] = [[] for _ in range(width)]
    for start in range(0, len(body), COLUMNS_EVERY):
        for column, values in zip(
            by_column, zip(*body[start : start + COLUMNS_EVERY], strict=True), strict=True
        ):
            column.extend(values)
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
    if tail.strip():
        problems.append(
            Problem(
                feed,
                name,
                record_count + 1,
                None,
                f"the last row has no line end, so it may be cut short ({_clip(tail)}); "
                "it is not shown.",
                "It is read once its line is ended: a file still being written gets it "
                "then; a copy cut off must be copied again.",
                Level.WARNING,
                "unterminated_row",
            )
        )
    return RawTable(feed, name, values, rows, problems, hxl, records=record_count)


def _clip(text: str, limit: int = 60) -> str:
    """The start of ``text`` as a quoted value for a message."""
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


PREAMBLE_ROWS = 25  # HXL: the hashtag row may be anywhere in a file's first 25 rows


def _below_preamble(
    feed: str,
    name: str,
    records: list[list[str]],
    candidates: np.ndarray,
    first: int,
    problems: list[Problem],
) -> int:
    """The header's record: the first filled one, or, when an HXL hashtag row comes
    further down (a title and notes above the table, as HDX exports have), the one just
    above that row; the rows above it are reported once, never read as values."""
    filled = [int(i) for i in candidates[:PREAMBLE_ROWS] if "".join(records[i]).strip()]
    tags = next((k for k, i in enumerate(filled) if _is_hxl_row(records[i])), None)
    if tags is None or tags < 2:  # none, or right under the first row (its header)
        return first
    header = filled[tags - 1]
    problems.append(
        Problem(
            feed,
            name,
            None,
            None,
            f"{tags - 1} row(s) above the header (a title or notes) were not read as values; "
            f"the header is row {header + 1}, above the HXL hashtag row.",
            "",
            Level.NOTICE,
            "preamble",
        )
    )
    return header


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
