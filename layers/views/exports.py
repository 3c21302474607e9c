"""Downloads: CSV a spreadsheet opens safely, HXL-tagged CSV, and GeoJSON.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by spreadsheet programs (CSV injection); such text cells get a leading
apostrophe, which spreadsheets show as text. Numbers stay numbers, rounded for people
(:func:`for_people`).
"""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.predicates import located
from layers.io.spec import FeedSpec
from layers.map.payload import display_value

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COORDINATE_DIGITS = 6  # about 0.1 m
PERCENT_DIGITS = 1
DIGITS = 2  # every other number with a fraction: km, hours, km/h
LATLON_TAGS = {"latitude": "#geo+lat", "longitude": "#geo+lon"}


def digits(column: str) -> int:
    """Decimals a person reads in ``column``: coordinates 6, percentages 1, others 2."""
    name = column.lower()
    if name in LATLON_TAGS or name in ("lat", "lon", "x", "y"):
        return COORDINATE_DIGITS
    if name.endswith(("_pct", "pct", "%")):
        return PERCENT_DIGITS
    return DIGITS


def for_people(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every column of fractional numbers rounded (:func:`digits`): no
    ``58.57476891600599`` in a download."""
    table = pd.DataFrame(frame).copy()
    for column in table.columns:
        if pd.api.types.is_float_dtype(table[column].dtype):
            table[column] = table[column].round(digits(str(column)))
    return table


def neutralise(value: object) -> object:
    """``value`` made safe for a spreadsheet cell (text only; numbers untouched)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame, spec: FeedSpec | None = None) -> bytes:
    """The frame (without geometry; with lat/lon when it has points) as UTF-8 CSV; with
    ``spec``, an HXL hashtag row under the header (:func:`hxl_tags`)."""
    table = _table(frame)
    header = table.columns.tolist()
    for column in table.columns:
        if table[column].dtype == object or isinstance(table[column].dtype, pd.StringDtype):
            table[column] = table[column].map(neutralise)
    table.columns = [str(neutralise(str(c))) for c in header]
    if spec is not None:
        tags = hxl_tags(header, spec)
        table = pd.concat([pd.DataFrame([tags], columns=table.columns), table], ignore_index=True)
    # Text quoted (a bare carriage return inside a cell would break the row); the BOM
    # makes spreadsheet programs read UTF-8.
    return table.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8-sig")


def hxl_tags(columns: list[str], spec: FeedSpec) -> list[str]:
    """The HXL hashtag of each column: the one its field accepts on reading (the first
    ``#`` alias), ``#geo+lat``/``#geo+lon`` for coordinates, empty for the others
    (HXL tools skip a column without a tag)."""
    known = {f.name: next((a for a in f.aliases if a.startswith("#")), "") for f in spec.fields}
    return [LATLON_TAGS.get(c) or known.get(c, "") for c in columns]


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without geometry, with latitude/longitude of its points, rounded."""
    table = pd.DataFrame(
        frame.drop(
            columns=[
                c for c in frame.columns if isinstance(frame[c].dtype, gpd.array.GeometryDtype)
            ]
        )
    )
    if isinstance(frame, gpd.GeoDataFrame) and (frame.geom_type == "Point").any():
        points = frame.geometry.where(frame.geom_type == "Point")
        table["latitude"] = points.y
        table["longitude"] = points.x
    return for_people(table)


def geojson(frame: gpd.GeoDataFrame) -> bytes:
    """A FeatureCollection of the located rows, properties as JSON can carry them."""
    placed = frame[located(frame.geometry)]
    rounded = for_people(placed.drop(columns=placed.geometry.name))
    props = [
        c
        for c in placed.columns
        if c != placed.geometry.name and not isinstance(placed[c].dtype, gpd.array.GeometryDtype)
    ]
    features = []
    shapes = shapely.transform(
        placed.geometry.to_numpy(), lambda xy: np.round(xy, COORDINATE_DIGITS)
    )
    for geom, row in zip(shapes, rounded[props].itertuples(index=False), strict=True):
        features.append(
            {
                "type": "Feature",
                "geometry": geom.__geo_interface__,
                "properties": {k: display_value(v) for k, v in zip(props, row, strict=True)},
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False
    ).encode("utf-8")
