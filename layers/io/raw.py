"""A feed file as read, before meaning: text values per record; the error that stops a feed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from shapely.geometry.base import BaseGeometry

from layers.core.problems import Level, Problem

LAT_NAMES = ("lat", "latitude", "y", "lat_dd", "#geo+lat", "#lat_deg")  # HXL 1.x and 0.x
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "lon_dd", "#geo+lon", "#lon_deg")
# Projected coordinates (read when the feed's CRS is declared: see layers.io.vector).
EASTING_NAMES = ("easting", "eastings", "xordinate", "x_coord", "x_coordinate", "e")
NORTHING_NAMES = ("northing", "northings", "yordinate", "y_coord", "y_coordinate", "n")
# A survey's location question exported as '<label>.lat' and '<label>.lon' (Ushahidi v3).
LAT_ENDINGS = ("_lat", "_latitude")
LON_ENDINGS = ("_lon", "_lng", "_long", "_longitude")


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
    # The coordinate system of a CSV's coordinate columns, when declared (a .prj beside
    # it, or settings); None: WGS84 degrees.
    crs: str | None = None

    @property
    def is_geojson(self) -> bool:
        return self.geom_type is not None


def normalise_name(name: object) -> str:
    """Column name as compared: 'Event Date ' -> 'event_date', 'a:b' -> 'a_b'."""
    text = str(name).strip().lower()
    if text.startswith("#"):  # an HXL tag keeps its own syntax
        return re.sub(r"\s+", "", text)
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def stripped_text(values: Sequence[object]) -> np.ndarray:
    """Text cells without surrounding whitespace, empty ones as None (one Arrow pass)."""
    arr = pa.array(values, type=pa.string(), from_pandas=True)
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


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
