"""Declared feed contracts, and the one routine that turns a raw table into a clean frame.

Every layer declares its feed as data (:class:`FeedSpec`: fields, their aliases,
types, allowed values, geometry types). :func:`build_frame` maps the file's
columns onto those fields, converts and checks every value and coordinate, and
reports each problem with its row and column. Rows are kept: a bad value becomes
empty, a bad location becomes an empty geometry; only a repeated id is left out."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.core import growth
from layers.core.problems import Level, Problem
from layers.io.raw import LAT_NAMES, LON_NAMES, FeedError, RawTable, normalise_name
from layers.io.spec import (
    AREA_TYPES,
    LINE_TYPES,
    POINT_TYPES,
    UNKNOWN,
    WKT_NAMES,
    FeedSpec,
    Field,
    ReadContext,
    _dtype,
)
from layers.io.values import _map_distinct, as_text, parse_times, plain_text, to_numbers


def build_frame(
    raw: RawTable, spec: FeedSpec, ctx: ReadContext = ReadContext()
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean GeoDataFrame (EPSG:4326) of ``raw`` under ``spec``, and the problems found."""
    reader = _Reader(raw, spec, ctx)
    return reader.run()


class _Reader:
    def __init__(self, raw: RawTable, spec: FeedSpec, ctx: ReadContext):
        self.raw, self.spec, self.ctx = raw, spec, ctx
        self.problems: list[Problem] = []
        self.rows = raw.rows

    def report(
        self,
        index: int | None,
        column: str | None,
        message: str,
        fix: str,
        level: Level = Level.ERROR,
        kind: str = "other",
    ) -> None:
        row = int(self.rows[index]) if index is not None else None
        self.problems.append(
            Problem(self.spec.name, self.raw.file, row, column, message, fix, level, kind)
        )

    def source_column(self, names: tuple[str, ...]) -> str | None:
        cols = list(self.raw.values.columns)
        wanted = [normalise_name(n) for n in names]
        for w in wanted:
            if w in cols:
                return w
        for col, tag in self.raw.hxl.items():
            if tag in wanted or any(tag.startswith(w + "+") for w in wanted if w.startswith("#")):
                return col
        return None

    def run(self) -> tuple[gpd.GeoDataFrame, list[Problem]]:
        n = len(self.raw.values)
        out: dict[str, object] = {"source_row": self.rows.astype("int64")}
        used: set[str] = set()
        for f in self.spec.fields:
            col = self.source_column((f.name, *f.aliases))
            if col is None:
                if f.required:
                    raise FeedError.whole(
                        self.spec.name,
                        self.raw.file,
                        f"the required column {f.name!r} is missing (also looked for "
                        f"{', '.join(f.aliases) or 'no other name'}).",
                        f"Add a {f.name!r} column; see docs/feeds.md.",
                        "missing_column",
                        column=f.name,
                    )
                out[f.name] = self.default_column(f, n)
                continue
            used.add(col)
            if col != f.name:
                self.report(
                    None,
                    col,
                    f"read column {col!r} as {f.name!r}.",
                    "",
                    Level.NOTICE,
                    "column_mapping",
                )
            out[f.name] = self.convert(f, col, self.raw.values[col])
        geometry = self.geometry(used)
        frame = pd.DataFrame(out, index=range(n))
        for col in self.raw.values.columns:
            if col not in used and col not in frame.columns and col != "geometry":
                frame[col] = self.raw.values[col].to_numpy()
        gdf = gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326"
        )
        gdf = self.drop_repeated_ids(gdf)
        return gdf.reset_index(drop=True), self.problems

    # ------------------------------------------------------------------ values

    def default_column(self, f: Field, n: int) -> pd.Series:
        if f.default is not None and n:
            self.report(
                None,
                f.name,
                f"no {f.name!r} column; every row takes the default {f.default!r}.",
                f"Add a {f.name!r} column to set it per row.",
                Level.NOTICE,
                "default_used",
            )
        value = f.default if f.default is not None else (UNKNOWN if f.kind == "choice" else None)
        return pd.Series([value] * n, dtype=_dtype(f))

    def convert(self, f: Field, col: str, values: pd.Series) -> pd.Series:
        text = as_text(values)
        if f.kind in ("int", "float"):
            return self.numbers(f, col, text)
        if f.kind == "time":
            return self.times(f, col, text)
        if f.kind == "choice":
            return self.choices(f, col, text)
        if f.kind == "bool":
            return self.booleans(f, col, text)
        return pd.Series(plain_text(text), index=text.index, dtype=object)

    def read_numbers(self, text: pd.Series, col: str, fix: str, level: Level) -> pd.Series:
        """Numbers of ``text``; each value that is present but not a number is reported."""
        nums = to_numbers(text)
        for i in np.flatnonzero((nums.isna() & text.notna()).to_numpy()):
            self.report(
                int(i), col, f"{text.iloc[i]!r} is not a number.", fix, level, "not_a_number"
            )
        return nums

    def numbers(self, f: Field, col: str, text: pd.Series) -> pd.Series:
        unit = f" in {f.unit}" if f.unit else ""
        nums = self.read_numbers(
            text, col, f"Write {f.name} as a plain number{unit}.", Level.WARNING
        )
        low = nums < f.minimum if f.minimum is not None else pd.Series(False, index=nums.index)
        high = nums > f.maximum if f.maximum is not None else pd.Series(False, index=nums.index)
        for i in np.flatnonzero((low | high).to_numpy()):
            self.report(
                int(i),
                col,
                f"{nums.iloc[i]:g} is outside {f.minimum:g} to {f.maximum:g}"
                f"{' ' + f.unit if f.unit else ''}."
                if f.maximum is not None
                else f"{nums.iloc[i]:g} is below {f.minimum:g}.",
                f"Correct {f.name} in the source.",
                Level.WARNING,
                "out_of_range",
            )
        nums = nums.mask(low | high)
        if f.default is not None:
            filled = nums.isna()
            nums = nums.fillna(float(f.default))  # type: ignore[arg-type]
            if filled.any() and text.notna().any():
                for i in np.flatnonzero((filled & text.isna()).to_numpy()):
                    self.report(
                        int(i),
                        col,
                        f"{f.name} is empty; using {f.default}.",
                        f"Fill in {f.name}.",
                        Level.NOTICE,
                        "default_used",
                    )
        if f.kind == "int":
            return nums.round().astype("Int64")
        return nums.astype("float64")

    def times(self, f: Field, col: str, text: pd.Series) -> pd.Series:
        parsed = parse_times(text, self.ctx.timezone)
        bad = parsed.isna() & text.notna()
        for i in np.flatnonzero(bad.to_numpy()):
            self.report(
                int(i),
                col,
                f"{text.iloc[i]!r} is not a time.",
                "Write times as ISO 8601, e.g. 2026-10-11T14:05:00+00:00.",
                Level.WARNING,
                "bad_time",
            )
        return parsed + self.ctx.time_shift

    def choices(self, f: Field, col: str, text: pd.Series) -> pd.Series:
        lookup = {c: c for c in f.choices} | {normalise_name(k): v for k, v in f.synonyms.items()}
        mapped = _map_distinct(text, lambda v: lookup.get(normalise_name(v)))
        bad = mapped.isna() & text.notna()
        for i in np.flatnonzero(bad.to_numpy()):
            self.report(
                int(i),
                col,
                f"{text.iloc[i]!r} is not a known {f.name}.",
                f"Use one of: {', '.join(f.choices)}.",
                Level.WARNING,
                "unknown_value",
            )
        # An empty cell takes the default; a value we cannot read is 'unknown', never guessed.
        fill = f.default if f.default is not None else UNKNOWN
        fallback = pd.Series(
            np.where(bad.to_numpy(dtype=bool), UNKNOWN, str(fill)), index=mapped.index, dtype=object
        )
        return mapped.where(mapped.notna(), fallback).astype(object)

    def booleans(self, f: Field, col: str, text: pd.Series) -> pd.Series:
        truth = {
            "true": True,
            "yes": True,
            "y": True,
            "1": True,
            "t": True,
            "verified": True,
            "false": False,
            "no": False,
            "n": False,
            "0": False,
            "f": False,
            "unverified": False,
        }
        mapped = _map_distinct(text, lambda v: truth.get(normalise_name(v)))
        for i in np.flatnonzero((mapped.isna() & text.notna()).to_numpy()):
            self.report(
                int(i),
                col,
                f"{text.iloc[i]!r} is not yes or no.",
                "Write true or false.",
                Level.WARNING,
                "unknown_value",
            )
        return mapped.astype("boolean")

    # ------------------------------------------------------------------ geometry

    def geometry(self, used: set[str]) -> list[BaseGeometry | None]:
        raw, n = self.raw, len(self.raw.values)
        if raw.is_geojson:
            assert raw.lon is not None and raw.lat is not None and raw.geom_type is not None
            lon, lat = raw.lon.copy(), raw.lat.copy()
            types = list(raw.geom_type)
            for i in range(n):
                if not types[i]:
                    self.report(
                        i,
                        "geometry",
                        "the feature has no geometry.",
                        "Add coordinates to it in the source.",
                        Level.ERROR,
                        "missing_coordinates",
                    )
            point_cols = None
        else:
            lat_col, lon_col = self.source_column(LAT_NAMES), self.source_column(LON_NAMES)
            if lat_col is not None and lon_col is not None:
                used.update((lat_col, lon_col))
                lat = self.coordinate(lat_col)
                lon = self.coordinate(lon_col)
                self.report_empty_locations(lat_col, lon_col)
                types = ["Point"] * n
                point_cols = (lat_col, lon_col)
            else:
                wkt_col = self.source_column(WKT_NAMES)
                if wkt_col is None:
                    raise FeedError.whole(
                        self.spec.name,
                        raw.file,
                        "no latitude/longitude columns (looked for "
                        f"{'/'.join(LAT_NAMES[:3])} and {'/'.join(LON_NAMES[:4])}) and no WKT "
                        "geometry column.",
                        "Add latitude and longitude columns in decimal degrees (WGS84).",
                        "missing_column",
                    )
                used.add(wkt_col)
                return self.check_shapes(self.wkt(wkt_col), wkt_col)
        geoms = self.points(lon, lat, types, point_cols)
        shapes = {i: s for i, s in raw.shapes.items()}
        checked = self.check_shapes([shapes.get(i) for i in range(n)], "geometry")
        return [g if types[i] == "Point" else checked[i] for i, g in enumerate(geoms)]

    def coordinate(self, col: str) -> np.ndarray:
        text = self.raw.values[col]
        nums = self.read_numbers(
            text, col, "Write coordinates as decimal degrees, e.g. 6.3156.", Level.ERROR
        )
        return nums.to_numpy(dtype="float64")

    def report_empty_locations(self, lat_col: str, lon_col: str) -> None:
        """One problem per row whose latitude or longitude (or both) is empty."""
        lat_empty = self.raw.values[lat_col].isna().to_numpy()
        lon_empty = self.raw.values[lon_col].isna().to_numpy()
        for i in np.flatnonzero(lat_empty | lon_empty):
            both = lat_empty[i] and lon_empty[i]
            column = f"{lat_col}, {lon_col}" if both else (lat_col if lat_empty[i] else lon_col)
            self.report(
                int(i),
                column,
                "the location is empty." if both else "the coordinate is empty.",
                "Fill in the location, or the row stays off the map.",
                Level.ERROR,
                "missing_coordinates",
            )

    def wkt(self, col: str) -> list[BaseGeometry | None]:
        text = self.raw.values[col]
        out: list[BaseGeometry | None] = []
        for i, value in enumerate(text):
            if value is None:
                self.report(
                    i,
                    col,
                    "the geometry is empty.",
                    "Fill in the WKT geometry.",
                    Level.ERROR,
                    "missing_coordinates",
                )
                out.append(None)
                continue
            try:
                out.append(shapely.from_wkt(str(value)))
            except shapely.errors.ShapelyError as err:
                self.report(
                    i,
                    col,
                    f"{str(value)[:40]!r} is not WKT ({err}).",
                    "Write the geometry as WKT, e.g. POINT (10.8 6.3).",
                    Level.ERROR,
                    "invalid_geometry",
                )
                out.append(None)
        return out

    def points(
        self, lon: np.ndarray, lat: np.ndarray, types: list[str], cols: tuple[str, str] | None
    ) -> list[BaseGeometry | None]:
        lat_col, lon_col = cols if cols else ("geometry", "geometry")
        is_point = np.array([t == "Point" for t in types], dtype=bool)
        present = is_point & ~np.isnan(lon) & ~np.isnan(lat)
        if self.raw.is_geojson:
            for i in np.flatnonzero(is_point & ~present):
                self.report(
                    int(i),
                    "geometry",
                    "the point's coordinates are not numbers.",
                    "Fix the coordinates in the source.",
                    Level.ERROR,
                    "not_a_number",
                )
        ok = present.copy()
        null_island = present & (lon == 0) & (lat == 0)
        for i in np.flatnonzero(null_island):
            self.report(
                int(i),
                f"{lat_col}, {lon_col}" if cols else "geometry",
                "the location is (0, 0), which is in the sea off West Africa: the "
                "position was most likely never recorded.",
                "Enter the real location; until then the row is counted as 'unknown location'.",
                Level.ERROR,
                "null_island",
            )
        ok &= ~null_island
        outside = present & ~null_island & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
        swapped_range = outside & (np.abs(lon) <= 90) & (np.abs(lat) <= 180)
        for i in np.flatnonzero(outside & ~swapped_range):
            self.report(
                int(i),
                f"{lat_col}, {lon_col}" if cols else "geometry",
                f"({lat[i]:g}, {lon[i]:g}) is not a latitude/longitude in degrees.",
                "Give WGS84 decimal degrees (latitude -90..90, longitude -180..180); "
                "projected coordinates such as UTM metres are not accepted in CSV.",
                Level.ERROR,
                "out_of_range",
            )
        ok &= ~outside
        swapped = swapped_range | self.swapped_outliers(lon, lat, ok)
        for i in np.flatnonzero(swapped):
            self.report(
                int(i),
                f"{lat_col}, {lon_col}" if cols else "geometry",
                f"latitude {lat[i]:g} and longitude {lon[i]:g} look swapped or copied "
                "into each other: the point lies far from every other point of the feed.",
                "Check the two values in the source and correct them.",
                Level.ERROR,
                "swapped",
            )
        ok &= ~swapped
        if "Point" not in self.spec.geometry:
            for i in np.flatnonzero(ok):
                self.wrong_type(int(i), "geometry", "Point")
            ok[:] = False
        xs = np.where(ok, lon, np.nan)
        ys = np.where(ok, lat, np.nan)
        pts = shapely.points(xs, ys)
        return [p if good else None for p, good in zip(pts, ok, strict=True)]

    def swapped_outliers(self, lon: np.ndarray, lat: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Points far outside the bulk of the feed whose swap lands inside it, or lat == lon."""
        result = np.zeros(len(lon), dtype=bool)
        # Rows appended to a file already read are judged against all of its points.
        bulk_x, bulk_y = lon[ok], lat[ok]
        earlier = self.raw.earlier
        if earlier is not None and len(earlier):
            earlier_x, earlier_y = _point_coordinates(earlier, self.spec.name)
            bulk_x = np.concatenate([bulk_x, earlier_x])
            bulk_y = np.concatenate([bulk_y, earlier_y])
        if len(bulk_x) < 20:
            return result
        # A robust box round the bulk (quartiles widened by twice their spread and half a
        # degree), which a few wild points cannot stretch the way min/max would.
        q1x, q3x = np.quantile(bulk_x, [0.25, 0.75])
        q1y, q3y = np.quantile(bulk_y, [0.25, 0.75])
        lo_x, hi_x = q1x - 2 * (q3x - q1x) - 0.5, q3x + 2 * (q3x - q1x) + 0.5
        lo_y, hi_y = q1y - 2 * (q3y - q1y) - 0.5, q3y + 2 * (q3y - q1y) + 0.5

        def inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return (x >= lo_x) & (x <= hi_x) & (y >= lo_y) & (y <= hi_y)

        far = ok & ~inside(lon, lat)
        return far & (inside(lat, lon) | np.isclose(lat, lon))

    def wrong_type(self, index: int, col: str, gtype: str) -> None:
        allowed = " or ".join(self.spec.geometry)
        self.report(
            index,
            col,
            f"a {gtype} where this feed takes {allowed}.",
            f"Give {self.spec.name} {allowed} geometries.",
            Level.ERROR,
            "wrong_geometry_type",
        )

    def check_shapes(
        self, shapes: list[BaseGeometry | None], col: str
    ) -> list[BaseGeometry | None]:
        allowed = self.spec.geometry
        out: list[BaseGeometry | None] = []
        for i, shape in enumerate(shapes):
            if shape is None:
                out.append(None)
                continue
            if shape.is_empty:
                self.report(
                    i,
                    col,
                    "the geometry is empty.",
                    "Add coordinates to it.",
                    Level.ERROR,
                    "missing_coordinates",
                )
                out.append(None)
                continue
            gtype = shape.geom_type
            if gtype not in allowed:
                if allowed == POINT_TYPES and gtype in (*AREA_TYPES, *LINE_TYPES):
                    self.report(
                        i,
                        col,
                        f"a {gtype} in a feed of points; its centre is used.",
                        "Give this feed Point geometries.",
                        Level.WARNING,
                        "wrong_geometry_type",
                    )
                    shape = shape.representative_point() if shape.is_valid else shape.centroid
                else:
                    self.wrong_type(i, col, gtype)
                    out.append(None)
                    continue
            minx, miny, maxx, maxy = shape.bounds
            if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
                self.report(
                    i,
                    col,
                    "the geometry's coordinates are not longitude/latitude degrees.",
                    "Export it in WGS84 (EPSG:4326).",
                    Level.ERROR,
                    "out_of_range",
                )
                out.append(None)
                continue
            if not shape.is_valid:
                reason = shapely.is_valid_reason(shape)
                self.report(
                    i,
                    col,
                    f"the geometry is invalid ({reason}); it was repaired.",
                    "Fix the geometry in the source.",
                    Level.WARNING,
                    "invalid_geometry",
                )
                shape = shapely.make_valid(shape)
            out.append(shape)
        return out

    # ------------------------------------------------------------------ ids

    def drop_repeated_ids(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Rows named by their row number when the feed has no ids; repeated ids left out."""
        key = self.spec.id_field
        if key is None or key not in gdf:
            return gdf
        if gdf[key].isna().all():
            gdf[key] = [f"row-{r}" for r in gdf["source_row"]]
            return gdf
        ids = gdf[key]
        repeated = ids.notna() & ids.duplicated(keep="first")
        earlier = self.raw.earlier  # rows read before these were appended
        known: dict[object, int] = {}
        if earlier is not None and key in earlier and len(earlier):
            known = _first_rows(earlier, key, self.spec.name)
            repeated |= np.fromiter((v in known for v in ids), dtype=bool, count=len(ids))
        if not repeated.any():
            return gdf
        first_row = {
            **known,
            **dict(zip(ids[~repeated], gdf["source_row"][~repeated], strict=True)),
        }
        for i in np.flatnonzero(repeated.to_numpy()):
            self.report(
                int(i),
                key,
                f"id {ids.iloc[i]!r} is already used at row "
                f"{first_row.get(ids.iloc[i])}; this row was left out.",
                "Give each record its own id.",
                Level.ERROR,
                "duplicate_id",
            )
        return gdf[~repeated]


def _first_rows(frame: pd.DataFrame, key: str, feed: str) -> dict[object, int]:
    """{id: source row} of a feed's rows (kept, and grown with appended rows)."""

    def of(rows: pd.DataFrame) -> dict[object, int]:
        return dict(zip(rows[key], rows["source_row"], strict=True))

    def grow(known: dict[object, int], added: pd.DataFrame) -> dict[object, int]:
        return {**of(added), **known}  # an id's first row wins

    return growth.kept(frame, f"{feed} ids", lambda: of(frame), grow)


def _point_coordinates(frame: gpd.GeoDataFrame, feed: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y of a feed's Point rows (kept, and grown with appended rows)."""

    def of(rows: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        shapes = rows.geometry.to_numpy()
        pts = shapes[shapely.get_type_id(shapes) == 0]  # Points; missing shapes give -1
        return shapely.get_x(pts), shapely.get_y(pts)

    def grow(
        known: tuple[np.ndarray, np.ndarray], added: gpd.GeoDataFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        x, y = of(added)
        return np.concatenate([known[0], x]), np.concatenate([known[1], y])

    return growth.kept(frame, f"{feed} points", lambda: of(frame), grow)
