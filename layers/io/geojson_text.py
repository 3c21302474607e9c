"""GeoJSON text to a RawTable: features, coordinates, an old-style crs reprojected."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.errors
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from layers.core.problems import Problem
from layers.io.raw import FeedError, RawTable, _normalise_columns

WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:4326",
}


GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


def _parse_geojson(feed: str, name: str, text: str) -> RawTable:
    problems: list[Problem] = []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        if text.lstrip(" \t\r\n").startswith("\x1e") or err.msg == "Extra data":
            doc = _sequence(feed, name, text, problems)
        else:
            raise _not_json(feed, name, err) from err
    except RecursionError as err:  # brackets nested thousands deep: no GeoJSON is
        raise FeedError.whole(
            feed,
            name,
            "the JSON is nested too deep to be GeoJSON (thousands of brackets inside each other).",
            "Check the system that writes this file: it is not a GeoJSON export.",
            kind="unparseable",
        ) from err
    return _features_table(feed, name, doc, problems)


def _not_json(feed: str, name: str, err: json.JSONDecodeError) -> FeedError:
    return FeedError.whole(
        feed,
        name,
        f"the file is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}).",
        "It may be half-written or cut off: check the system that writes it.",
        kind="unparseable",
    )


def _sequence(feed: str, name: str, text: str, problems: list[Problem]) -> dict[str, Any]:
    """A GeoJSON text sequence (RFC 8142, records after RS characters) or newline-delimited
    GeoJSON, as one FeatureCollection. A record that is not JSON (a last line cut short) is
    reported and left out; the others are read."""
    records = text.split("\x1e") if "\x1e" in text else text.splitlines()
    features: list[Any] = []
    for number, record in enumerate(records, start=0 if "\x1e" in text else 1):
        if not record.strip():
            continue
        try:
            item = json.loads(record)
        except (json.JSONDecodeError, RecursionError):
            problems.append(
                Problem(
                    feed,
                    name,
                    None,
                    None,
                    f"record {number} of the GeoJSON sequence is not JSON; it was left out.",
                    "It may be cut short: check the system that writes the file.",
                    kind="unparseable",
                )
            )
            continue
        if isinstance(item, dict) and item.get("type") == "FeatureCollection":
            features += item.get("features") or []
        else:
            features.append(item)
    if not features:
        raise FeedError.whole(
            feed,
            name,
            "no record of the GeoJSON sequence could be read.",
            "Check the system that writes this file.",
            kind="unparseable",
        )
    return {"type": "FeatureCollection", "features": features}


def _features_table(feed: str, name: str, doc: Any, problems: list[Problem]) -> RawTable:
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and doc.get("type") in GEOMETRY_TYPES:  # a bare geometry
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
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
        p = _flattened(p) if isinstance(p, dict) else {}
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


def _flattened(properties: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted names: {"site": {"name": "A"}} -> {"site.name": "A"}."""
    out: dict[str, Any] = {}
    for key, value in properties.items():
        if isinstance(value, dict) and value:
            out.update(_flattened(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


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
    properties = crs.get("properties") or {}
    if not isinstance(properties, dict):
        raise FeedError.whole(
            feed,
            name,
            f"the crs member's properties are a {type(properties).__name__}, not an object.",
            "Remove the crs member (RFC 7946 files are WGS84) or write it as "
            '{"type": "name", "properties": {"name": "EPSG:4326"}}.',
            kind="unknown_crs",
        )
    crs_name = str(properties.get("name", "")).strip()
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
