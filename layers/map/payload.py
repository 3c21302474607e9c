"""The browser payload format: columnar point sets, details, chunks, compact FeatureCollections.

The same format is read by dashboard/static/pollwatch-*/pollwatch.js (see ``load``, ``joined``,
``patched`` and ``laidOver`` there).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.predicates import located

PRECISION = 5  # decimals of a degree: about 1 m


def columnar(
    frame: gpd.GeoDataFrame,
    properties: Sequence[str],
    style_index: Sequence[int] | np.ndarray | None = None,
    time: str | None = None,
    radius: str | None = None,
    coordinates: bool = True,
) -> dict[str, Any]:
    """The located points of ``frame`` as compact column arrays for :class:`PointCloud`.

    x/y to 1 m, ``s`` style index, ``t`` epoch seconds of column ``time``, ``r`` radius in
    metres from column ``radius``; text columns with few distinct values are sent as
    labels plus codes (-1 for missing). ``coordinates=False``: no x/y, for an ``overlay``
    on a dataset of the same frame that has them.
    """
    geoms = frame.geometry
    here = located(geoms)
    wanted = [c for c in (*properties, time, radius) if c is not None and c in frame]
    rows = pd.DataFrame({c: frame[c] for c in dict.fromkeys(wanted)}, index=frame.index)[here]
    styles = (
        np.zeros(len(frame), dtype=int)
        if style_index is None
        else np.asarray(style_index, dtype=int)
    )[here]
    data: dict[str, Any] = {"n": len(rows), "s": styles.tolist(), "columns": {}}
    if coordinates:
        shapes = geoms[here]
        points = (
            shapes.representative_point()
            if len(shapes) and not (shapes.geom_type == "Point").all()
            else shapes
        ).to_numpy()
        data["x"] = np.round(shapely.get_x(points), PRECISION).tolist()
        data["y"] = np.round(shapely.get_y(points), PRECISION).tolist()
    if time is not None:
        stamps = pd.to_datetime(rows[time], utc=True)
        seconds = (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        data["t"] = [None if pd.isna(v) else int(v) for v in seconds.tolist()]
    if radius is not None:
        data["r"] = [None if pd.isna(v) else round(float(v), 1) for v in rows[radius].tolist()]
    for name in properties:
        if name not in rows:
            continue
        column = rows[name]
        if column.dtype == object or isinstance(column.dtype, pd.CategoricalDtype | pd.StringDtype):
            codes, labels = pd.factorize(column, use_na_sentinel=True)
            if len(labels) <= max(1, len(rows) // 4):
                data["columns"][name] = {
                    "labels": [display_value(v) for v in labels.tolist()],
                    "codes": codes.tolist(),
                }
                continue
        data["columns"][name] = _json_values(column)
    return data


def joined_columnar(earlier: dict[str, Any], added: dict[str, Any]) -> dict[str, Any]:
    """The :func:`columnar` dataset of a frame's rows, from that of its first rows
    (``earlier``) and that of the rest (``added``): the rows a feed appended are built
    alone. Labelled columns share their labels (kept as labels while few enough)."""
    n = earlier["n"] + added["n"]
    out: dict[str, Any] = {"n": n}
    for name in ("s", "x", "y", "t", "r"):
        if name in earlier:
            out[name] = earlier[name] + added[name]
    out["columns"] = {
        name: _joined_column(column, added["columns"][name], n)
        for name, column in earlier["columns"].items()
    }
    return out


def _joined_column(earlier: Any, added: Any, n: int) -> Any:
    if isinstance(earlier, dict) and isinstance(added, dict):
        labels = list(earlier["labels"])
        place = {v: i for i, v in enumerate(labels)}
        remap = []
        for v in added["labels"]:
            if v not in place:
                place[v] = len(labels)
                labels.append(v)
            remap.append(place[v])
        if len(labels) <= max(1, n // 4):
            codes = [remap[c] if c >= 0 else -1 for c in added["codes"]]
            return {"labels": labels, "codes": earlier["codes"] + codes}
    return _plain(earlier) + _plain(added)


def _plain(column: Any) -> list[Any]:
    """A column's values, whether labelled or not."""
    if not isinstance(column, dict):
        return list(column)
    labels = column["labels"]
    return [labels[c] if c >= 0 else None for c in column["codes"]]


def _json_values(column: pd.Series) -> list[Any]:
    """A column's values as JSON can carry them; vectorised for numbers and plain text."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        known = column.notna().to_numpy()
        truth = column.fillna(False).to_numpy(dtype=bool)
        out = np.full(len(column), None, dtype=object)
        out[known & truth] = "yes"
        out[known & ~truth] = "no"
        return list(out.tolist())
    if pd.api.types.is_numeric_dtype(dtype):
        values = column.astype("float64").to_numpy(na_value=np.nan)
        whole = pd.api.types.is_integer_dtype(dtype)
        rounded = values if whole else np.round(values, 3)
        out = rounded.astype(object)
        if whole:
            ok = ~np.isnan(values)
            out[ok] = values[ok].astype(np.int64)
        out[np.isnan(values)] = None
        return list(out.tolist())
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        stamps = pd.to_datetime(column, utc=True)
        text = stamps.dt.strftime("%Y-%m-%d %H:%M UTC").to_numpy(dtype=object)
        text[stamps.isna().to_numpy()] = None
        return list(text.tolist())
    values = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return list(values.tolist())
    return [display_value(v) for v in values.tolist()]


def split_details(
    data: dict[str, Any], keep: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the map draws and filters with, the other columns) of a :func:`columnar` dataset."""
    main = {k: v for k, v in data.items() if k != "columns"}
    main["columns"] = {k: v for k, v in data["columns"].items() if k in keep}
    details = {
        "n": data["n"],
        "columns": {k: v for k, v in data["columns"].items() if k not in keep},
    }
    return main, details


def display_value(value: object) -> object:
    """A value as JSON can carry it: times as text, missing as None, numbers as numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return round(float(value), 3)
    if isinstance(value, np.bool_ | bool):
        return "yes" if value else "no"
    return value if isinstance(value, int | float) else str(value)


def feature_collection(
    frame: gpd.GeoDataFrame,
    properties: Sequence[str],
    style_index: Sequence[int] | np.ndarray | None = None,
) -> dict[str, Any]:
    """Compact FeatureCollection of the located rows: chosen properties, coordinates to 1 m."""
    here = located(frame.geometry)
    rows = frame[here]
    styles = (np.zeros(len(frame), dtype=int) if style_index is None else np.asarray(style_index))[
        here
    ]
    geoms = rows.geometry.to_numpy()
    if len(rows) and (rows.geom_type == "Point").all():
        xs = np.round(shapely.get_x(geoms), PRECISION).tolist()
        ys = np.round(shapely.get_y(geoms), PRECISION).tolist()
        shapes: list[dict[str, Any]] = [
            {"type": "Point", "coordinates": [x, y]} for x, y in zip(xs, ys, strict=True)
        ]
    else:
        rounded = shapely.transform(geoms, lambda xy: np.round(xy, PRECISION))
        shapes = [json.loads(s) for s in shapely.to_geojson(rounded)]
    columns = {p: _json_values(rows[p]) for p in properties if p in rows}
    features = []
    for i, shape in enumerate(shapes):
        props = {p: col[i] for p, col in columns.items()}
        props["_s"] = int(styles[i])
        features.append({"type": "Feature", "geometry": shape, "properties": props})
    return {"type": "FeatureCollection", "features": features}


def popup_columns(popup: Sequence[tuple[str, str]], tooltip: str | None = None) -> list[str]:
    """The columns a layer's popup and tooltip show."""
    return list(dict.fromkeys([*(p for _, p in popup), *([tooltip] if tooltip else [])]))


def category_index(values: pd.Series, order: Sequence[str]) -> np.ndarray:
    """Index of each value in ``order``; values not in it get the last index."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = {v: i for i, v in enumerate(order)}
    last = len(order) - 1
    per_unique = np.array([lookup.get(v, last) for v in uniques.tolist()] + [last], dtype=int)
    return per_unique[codes]  # code -1 (missing) takes the last entry
