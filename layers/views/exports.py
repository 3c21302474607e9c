"""Downloads: CSV a spreadsheet opens safely, and GeoJSON.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by spreadsheet programs (CSV injection); such text cells get a leading
apostrophe, which spreadsheets show as text. Numbers are left as numbers.
"""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import pandas as pd

from layers.core.predicates import located
from layers.map.payload import display_value

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """``value`` made safe for a spreadsheet cell (text only; numbers untouched)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> bytes:
    """The frame (without geometry; with lat/lon when it has points) as UTF-8 CSV."""
    table = pd.DataFrame(
        frame.drop(
            columns=[
                c for c in frame.columns if isinstance(frame[c].dtype, gpd.array.GeometryDtype)
            ]
        )
    )
    if isinstance(frame, gpd.GeoDataFrame) and (frame.geom_type == "Point").any():
        points = frame.geometry.where(frame.geom_type == "Point")
        table["latitude"] = points.y.round(6)
        table["longitude"] = points.x.round(6)
    for column in table.columns:
        if table[column].dtype == object or isinstance(table[column].dtype, pd.StringDtype):
            table[column] = table[column].map(neutralise)
    table.columns = [str(neutralise(str(c))) for c in table.columns]
    # Text quoted (a bare carriage return inside a cell would break the row); the BOM
    # makes spreadsheet programs read UTF-8.
    return table.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8-sig")


def geojson(frame: gpd.GeoDataFrame) -> bytes:
    """A FeatureCollection of the located rows, properties as JSON can carry them."""
    placed = frame[located(frame.geometry)]
    props = [
        c
        for c in placed.columns
        if c != placed.geometry.name and not isinstance(placed[c].dtype, gpd.array.GeometryDtype)
    ]
    features = []
    for geom, row in zip(placed.geometry, placed[props].itertuples(index=False), strict=True):
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
