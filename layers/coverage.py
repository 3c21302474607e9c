"""Which polling stations lie within the radius of an active patrol base.

"Covered" means within the radius of at least one active base, not just the
nearest one: a station inside a far base's large radius is covered even when a
nearer base's small radius does not reach it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from layers import geodesy


def active_bases(bases: gpd.GeoDataFrame, at: pd.Timestamp | None = None) -> gpd.GeoDataFrame:
    """Bases that are active, located, and (when ``at`` is given) on shift at that time."""
    keep = (bases["status"] == "active") & bases.geometry.notna() & ~bases.geometry.is_empty
    if at is not None:
        start, end = bases["shift_start"], bases["shift_end"]
        keep &= (start.isna() | (start <= at)) & (end.isna() | (end > at))
    return bases[keep]


def coverage(
    stations: gpd.GeoDataFrame, bases: gpd.GeoDataFrame, at: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Per station: covered, how many bases cover it, nearest active base and its distance.

    Stations without a location get <NA>: their coverage is unknown, not 'uncovered'.
    """
    located = stations.geometry.notna() & ~stations.geometry.is_empty
    out = pd.DataFrame(
        {
            "covered": pd.Series(pd.NA, index=stations.index, dtype="boolean"),
            "covering_bases": pd.Series(pd.NA, index=stations.index, dtype="Int64"),
            "nearest_base": pd.Series(None, index=stations.index, dtype=object),
            "nearest_base_m": pd.Series(np.nan, index=stations.index, dtype="float64"),
        }
    )
    if not located.any():
        return out
    pts = stations.geometry[located]
    lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    live = active_bases(bases, at)
    counts = np.zeros(len(lon), dtype="int64")
    if len(live):
        counts = _covering_counts(lon, lat, live)
        nearest_idx, nearest_m = _nearest(lon, lat, live)
        out.loc[located, "nearest_base"] = live["id"].to_numpy()[nearest_idx]
        out.loc[located, "nearest_base_m"] = nearest_m
    out.loc[located, "covering_bases"] = counts
    out.loc[located, "covered"] = counts > 0
    return out


def _base_arrays(bases: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    centres = gpd.GeoSeries(shapely.centroid(bases.geometry.to_numpy()), crs=bases.crs)
    extents = np.array([geodesy.extent_m(g) for g in bases.geometry])
    return (
        centres.x.to_numpy(),
        centres.y.to_numpy(),
        bases["radius_m"].to_numpy(dtype=float),
        extents,
    )


def pair_distances(
    lon: np.ndarray,
    lat: np.ndarray,
    bases: gpd.GeoDataFrame,
    station_idx: np.ndarray,
    base_idx: np.ndarray,
) -> np.ndarray:
    """Exact distance (m) from each station in ``station_idx`` to its base in ``base_idx``.

    Point bases: the geodesic to the point. Compound bases: to the compound's edge.
    """
    geoms = bases.geometry.to_numpy()
    is_point = np.array([g.geom_type == "Point" for g in geoms])
    dist = np.empty(len(station_idx), dtype=float)
    point_pair = is_point[base_idx]
    if point_pair.any():
        bx = np.array([g.x if p else np.nan for g, p in zip(geoms, is_point, strict=True)])
        by = np.array([g.y if p else np.nan for g, p in zip(geoms, is_point, strict=True)])
        s, b = station_idx[point_pair], base_idx[point_pair]
        dist[point_pair] = geodesy.distance_m(lon[s], lat[s], bx[b], by[b])
    for base in np.unique(base_idx[~point_pair]):
        sel = base_idx == base
        s = station_idx[sel]
        dist[sel] = geodesy.distance_to_shape_m(geoms[base], lon[s], lat[s])
    return dist


def _covering_counts(lon: np.ndarray, lat: np.ndarray, bases: gpd.GeoDataFrame) -> np.ndarray:
    blon, blat, radius, extent = _base_arrays(bases)
    tree = cKDTree(geodesy.unit_vectors(lon, lat))
    hits = tree.query_ball_point(
        geodesy.unit_vectors(blon, blat), geodesy.chord(radius + extent), return_sorted=False
    )
    lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    if lengths.sum() == 0:
        return np.zeros(len(lon), dtype="int64")
    station_idx = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
    base_idx = np.repeat(np.arange(len(hits)), lengths)
    inside = pair_distances(lon, lat, bases, station_idx, base_idx) <= radius[base_idx]
    return np.bincount(station_idx[inside], minlength=len(lon))


def _nearest(
    lon: np.ndarray, lat: np.ndarray, bases: gpd.GeoDataFrame, candidates: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``bases`` of each station's nearest base, and the distance in metres.

    The sphere ranks a few candidates; the ellipsoid decides among them.
    """
    blon, blat, _, _ = _base_arrays(bases)
    k = min(candidates, len(bases))
    tree = cKDTree(geodesy.unit_vectors(blon, blat))
    _, idx = tree.query(geodesy.unit_vectors(lon, lat), k=k)
    idx = idx.reshape(len(lon), k)
    station_idx = np.repeat(np.arange(len(lon)), k)
    dist = pair_distances(lon, lat, bases, station_idx, idx.ravel()).reshape(len(lon), k)
    best = dist.argmin(axis=1)
    rows = np.arange(len(lon))
    return idx[rows, best], dist[rows, best]
