"""Stations whose location cannot be right: outside the country.

A commission's list geocoded by a machine puts some stations in another country (Nigeria's
list has 1,512 in Canada, the UK and the US). Such a station would open the map on the
whole world and top the list of uncovered stations. The rule, in one place:

- With area polygons: a station more than :data:`TOLERANCE_M` outside every polygon
  (a station on a border, or a polygon drawn coarsely, is not doubtful).
- Without them: a station far from the bulk of the list, by a robust rule (its distance
  from the median point beyond the upper quartile plus four times the quartile spread,
  and at least :data:`FAR_M`), which a few wild points cannot stretch.

Such a station is kept, marked ``location_doubtful``, with the location it gave in
``reported_location``; it has no location for the map and the figures (it is counted
apart), and it is reported once with the count and where the doubtful ones lie, and once
per row.
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.predicates import located
from layers.core.problems import Level, Problem
from layers.geo import geodesy

TOLERANCE_M = 10_000.0
FAR_M = 200_000.0
MIN_STATIONS = 20  # fewer located stations have no bulk to be far from
DOUBTFUL = "location_doubtful"
REPORTED = "reported_location"


def doubtful(stations: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Which rows of ``stations`` lie outside the country (see the module's rule)."""
    out = np.zeros(len(stations), dtype=bool)
    rows = np.flatnonzero(located(stations.geometry))
    if not len(rows):
        return out
    points = stations.geometry.to_numpy()[rows]
    polygons = areas.geometry.to_numpy()[located(areas.geometry)] if len(areas) else np.array([])
    if len(polygons):
        polygons = polygons[np.isin(shapely.get_type_id(polygons), (3, 6))]
    if len(polygons):
        out[rows[_outside(points, polygons)]] = True
    elif len(rows) >= MIN_STATIONS:
        out[rows[_far_from_bulk(points)]] = True
    return out


def _outside(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(polygons)
    inside = np.zeros(len(points), dtype=bool)
    hit, _ = tree.query(points, predicate="intersects")
    inside[hit] = True
    far = np.zeros(len(points), dtype=bool)
    loose = np.flatnonzero(~inside)
    if not len(loose):
        return far
    # The nearest polygon in degrees; its nearest point measured on the ellipsoid.
    which = tree.query_nearest(points[loose], all_matches=False)
    lines = shapely.shortest_line(points[loose[which[0]]], polygons[which[1]])
    coords = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    metres = geodesy.distance_m(coords[:, 0, 0], coords[:, 0, 1], coords[:, 1, 0], coords[:, 1, 1])
    far[loose[which[0]]] = metres > TOLERANCE_M
    return far


def _far_from_bulk(points: np.ndarray) -> np.ndarray:
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    centre_lon, centre_lat = np.median(lon), np.median(lat)
    metres = geodesy.distance_m(
        np.full(len(lon), centre_lon), np.full(len(lat), centre_lat), lon, lat
    )
    q1, q3 = np.quantile(metres, [0.25, 0.75])
    return metres > max(q3 + 4 * (q3 - q1), FAR_M)


def mark(
    stations: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, feed: str, file: str | None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """``stations`` with the doubtful ones marked and without a location (a copy when any
    is), and the problems: one summary, one per row."""
    flags = doubtful(stations, areas)
    if not flags.any():
        return stations, []
    out = stations.copy()
    geoms = out.geometry.to_numpy()
    lon, lat = shapely.get_x(geoms[flags]), shapely.get_y(geoms[flags])
    reported = np.full(len(out), None, dtype=object)
    reported[flags] = [f"{y:.5f}, {x:.5f}" for x, y in zip(lon, lat, strict=True)]
    out[DOUBTFUL] = flags
    out[REPORTED] = reported
    out.loc[flags, out.geometry.name] = None
    rule = (
        "outside every area polygon by more than 10 km"
        if _has_polygons(areas)
        else ("far from all the other stations")
    )
    places = Counter(_place(x, y) for x, y in zip(lon, lat, strict=True))
    where = "; ".join(f"{n:,} near {place}" for place, n in places.most_common(4))
    if len(places) > 4:
        where += f"; {sum(n for _, n in places.most_common()[4:]):,} elsewhere"
    summary = Problem(
        feed,
        file,
        None,
        None,
        f"{int(flags.sum()):,} stations lie {rule} ({where}): they are kept, marked "
        "'location doubtful', left off the map and out of the coverage figures (counted "
        "apart).",
        "Check their coordinates in the source: a geocoder may have placed them in another "
        "country.",
        Level.WARNING,
        "location_doubtful",
    )
    rows = out["source_row"].to_numpy() if "source_row" in out else np.arange(1, len(out) + 1)
    each = [
        Problem(
            feed,
            file,
            int(rows[i]),
            "location",
            f"({text}) lies {rule}; the location is doubtful.",
            "Correct the coordinates in the source.",
            Level.WARNING,
            "location_doubtful",
        )
        for i, text in zip(np.flatnonzero(flags), reported[flags], strict=True)
    ]
    return out, [summary, *each]


def _has_polygons(areas: gpd.GeoDataFrame) -> bool:
    return bool(len(areas)) and bool(
        np.isin(shapely.get_type_id(areas.geometry.to_numpy()), (3, 6)).any()
    )


def _place(lon: float, lat: float) -> str:
    """A point as a place a reader can find: latitude and longitude to 5 degrees."""
    y, x = round(lat / 5) * 5, round(lon / 5) * 5
    return f"{abs(y)}°{'N' if y >= 0 else 'S'} {abs(x)}°{'E' if x >= 0 else 'W'}"


def counted_apart(stations: pd.DataFrame) -> int:
    """How many stations have a doubtful location."""
    return int(stations[DOUBTFUL].fillna(False).sum()) if DOUBTFUL in stations else 0
