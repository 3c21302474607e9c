"""Reading a feed's locations: coordinate columns, WKT, GeoJSON geometries, and their checks
(empty, not numbers, (0, 0), out of range, swapped, wrong geometry type).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from layers.core import growth
from layers.core.problems import Level
from layers.io.raw import (
    EASTING_NAMES,
    LAT_ENDINGS,
    LAT_NAMES,
    LON_ENDINGS,
    LON_NAMES,
    NORTHING_NAMES,
    FeedError,
)
from layers.io.rows import RowReader
from layers.io.spec import AREA_TYPES, LINE_TYPES, POINT_TYPES, WKT_NAMES


class GeometryReader(RowReader):
    """The location half of the feed reader (:class:`layers.io.reader._Reader` uses it)."""

    # ------------------------------------------------------------------ geometry

    def geometry(self, used: set[str]) -> list[BaseGeometry | None]:
        raw, n = self.raw, len(self.raw.values)
        if not self.spec.geometry:  # rows located by another feed (deliveries: by station)
            return [None] * n
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
            lat_col = self.source_column(LAT_NAMES) or self.column_ending(LAT_ENDINGS)
            lon_col = self.source_column(LON_NAMES) or self.column_ending(LON_ENDINGS)
            east_col, north_col = (
                self.source_column(EASTING_NAMES),
                self.source_column(NORTHING_NAMES),
            )
            if raw.crs is not None and east_col is not None and north_col is not None:
                lat_col, lon_col = north_col, east_col
            elif (lat_col is None or lon_col is None) and east_col and north_col:
                raise FeedError.whole(
                    self.spec.name,
                    raw.file,
                    f"the coordinates are eastings and northings ({east_col}, {north_col}) "
                    "and the file does not say in which coordinate system.",
                    f"Put a .prj file beside it ({self.spec.name}.prj), or set "
                    f"POLLWATCH_CRS={self.spec.name}=EPSG:<code> (e.g. EPSG:27700 for "
                    "British National Grid, EPSG:32629 for UTM zone 29N).",
                    "unknown_crs",
                )
            if lat_col is not None and lon_col is not None:
                used.update((lat_col, lon_col))
                lat = self.coordinate(lat_col)
                lon = self.coordinate(lon_col)
                if raw.crs is not None:
                    lon, lat = self.projected(lon, lat, raw.crs)
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

    def column_ending(self, endings: tuple[str, ...]) -> str | None:
        """The one column whose name ends as a coordinate's does ('location_lat'), or None
        when none or several do."""
        found = [c for c in self.raw.values.columns if str(c).endswith(endings)]
        return found[0] if len(found) == 1 else None

    def projected(self, x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
        """Longitudes and latitudes of coordinates in ``crs``."""
        try:
            source = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as err:
            raise FeedError.whole(
                self.spec.name,
                self.raw.file,
                f"the declared coordinate system is not known: {crs[:80]!r}.",
                "Declare it as EPSG:<code>, or as the WKT of a .prj file.",
                "unknown_crs",
            ) from err
        self.report(
            None,
            None,
            f"coordinates read in {source.name} and converted to latitude/longitude.",
            "",
            Level.NOTICE,
            "projected",
        )
        if source.equals(pyproj.CRS("EPSG:4326"), ignore_axis_order=True):
            return x, y
        to_wgs84 = pyproj.Transformer.from_crs(source, "EPSG:4326", always_xy=True)
        ok = ~(np.isnan(x) | np.isnan(y))
        lon, lat = np.full(len(x), np.nan), np.full(len(y), np.nan)
        if ok.any():
            lon[ok], lat[ok] = to_wgs84.transform(x[ok], y[ok])
        return lon, lat

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
