"""Downloads: CSV a spreadsheet opens safely, HXL-tagged CSV, and GeoJSON.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by spreadsheet programs (CSV injection); such text cells get a leading
apostrophe, which spreadsheets show as text. Numbers stay numbers, rounded for people
(:func:`for_people`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping

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


def safe_csv(frame: pd.DataFrame, tags: Mapping[str, str] | None = None) -> bytes:
    """The frame (without geometry; with lat/lon when it has points) as UTF-8 CSV; with
    ``tags`` (column: HXL hashtag, :func:`hxl_tags`), an HXL hashtag row under the header
    (coordinates #geo+lat/#geo+lon; a column without a tag gets none, and HXL tools skip
    it)."""
    table = _table(frame)
    header = table.columns.tolist()
    for column in table.columns:
        if table[column].dtype == object or isinstance(table[column].dtype, pd.StringDtype):
            table[column] = table[column].map(neutralise)
    table.columns = [str(neutralise(str(c))) for c in header]
    if tags is not None:
        row = [LATLON_TAGS.get(c) or tags.get(c, "") for c in header]
        table = pd.concat([pd.DataFrame([row], columns=table.columns), table], ignore_index=True)
    # Text quoted (a bare carriage return inside a cell would break the row); the BOM
    # makes spreadsheet programs read UTF-8.
    return table.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8-sig")


def hxl_tags(spec: FeedSpec) -> dict[str, str]:
    """The HXL hashtag of each field of ``spec``: the one the field accepts on reading (its
    first ``#`` alias), so that a tagged export reads back as the same feed."""
    tags = {f.name: next((a for a in f.aliases if a.startswith("#")), "") for f in spec.fields}
    return {name: tag for name, tag in tags.items() if tag}


# Per-area figures (layers.analysis.briefing.area_figures) have no feed of their own.
AREA_TAGS = {
    "area": "#adm1+name",
    "stations": "#meta+stations+num",
    "registered_voters": "#population+voters+num",
    "covered": "#meta+stations+covered+num",
    "covered_pct": "#meta+stations+covered+pct",
    "voters_covered": "#population+voters+covered+num",
    "voters_covered_pct": "#population+voters+covered+pct",
    "incidents": "#event+num",
}


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


# What a view can be taken away as: every layer but the areas (taken with their figures),
# by the file name's stem, its name unless said here. A role gets those of the layers it
# sees as rows (layers.access.policy), as the page's filters keep them.
STEMS = {"convoy_positions": "convoys", "training": "training_by_area"}
NOT_TAKEN = frozenset({"areas"})
FIRST = ("polling_stations", "incidents", "patrols", "convoy_positions")  # offered first


def taken() -> dict[str, str]:
    """Layer name: file stem, of every layer a view can be taken away as."""
    from layers.registry import REGISTRY  # noqa: PLC0415 - the layers import this module

    names = [*FIRST, *(n for n in REGISTRY if n not in FIRST)]
    return {name: STEMS.get(name, name) for name in names if name not in NOT_TAKEN}


FORMATS = {  # label: (extension, MIME type)
    "CSV": ("csv", "text/csv"),
    "HXL CSV": ("hxl.csv", "text/csv"),
    "GeoJSON": ("geojson", "application/geo+json"),
}


def takeaway(
    frames: Mapping[str, gpd.GeoDataFrame], feeds: Iterable[str]
) -> dict[str, tuple[gpd.GeoDataFrame, dict[str, str]]]:
    """The filtered frames of the layers ``feeds`` (those the role sees as rows) that can
    be exported, by file stem, without the reader's bookkeeping (``source_row``), each
    with its HXL tags."""
    from layers.registry import REGISTRY  # the layers import this module

    return {
        stem: (
            frames[name].drop(columns=["source_row"], errors="ignore"),
            hxl_tags(REGISTRY[name].SPEC),
        )
        for name, stem in taken().items()
        if name in feeds and name in frames
    }


def areas_with_figures(areas: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Per-area figures (one row per area of ``table``) with each area's polygon where
    the areas feed has one (by name), for a GeoJSON of the figures."""
    shapes = areas[["name", areas.geometry.name]].rename(columns={"name": "area"})
    joined = pd.DataFrame(table).merge(shapes, on="area", how="left")
    return gpd.GeoDataFrame(joined, geometry=areas.geometry.name, crs=areas.crs)


def encoded(frame: gpd.GeoDataFrame, fmt: str, tags: Mapping[str, str]) -> bytes:
    """``frame`` in the format labelled ``fmt`` (:data:`FORMATS`); ``tags`` for HXL."""
    if fmt == "GeoJSON":
        return geojson(frame)
    return safe_csv(frame, tags if fmt == "HXL CSV" else None)
