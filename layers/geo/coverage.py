"""Which polling stations lie within the radius of an active patrol base.

"Covered" means within the radius of at least one active base, not just the
nearest one: a station inside a far base's large radius is covered even when a
nearer base's small radius does not reach it.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from layers.core import growth
from layers.core.memo import Memo
from layers.core.predicates import active, located
from layers.geo import geodesy


def active_bases(bases: gpd.GeoDataFrame, at: pd.Timestamp | None = None) -> gpd.GeoDataFrame:
    """Bases that are active, located, and (when ``at`` is given) on shift at that time."""
    keep = active(bases)
    if at is not None:
        start, end = bases["shift_start"], bases["shift_end"]
        keep &= ((start.isna() | (start <= at)) & (end.isna() | (end > at))).to_numpy(dtype=bool)
    return bases[keep]


def shift_period(bases: gpd.GeoDataFrame, at: pd.Timestamp) -> int:
    """Which stretch between shift changes ``at`` falls in: two times in the same
    stretch have the same bases on shift (:func:`active_bases`). A cheap key for them,
    asked on every rerun; the changes are found once per bases frame."""

    def changes() -> np.ndarray:
        times = pd.concat([bases["shift_start"], bases["shift_end"]]).dropna()
        if not len(times):
            return np.zeros(0, dtype=np.int64)
        return np.unique(pd.DatetimeIndex(times).tz_convert("UTC").as_unit("ns").asi8)

    bounds = growth.kept(bases, "shift changes", changes)
    return int(
        np.searchsorted(bounds, pd.Timestamp(at).tz_convert("UTC").as_unit("ns").value, "right")
    )


def coverage(
    stations: gpd.GeoDataFrame, bases: gpd.GeoDataFrame, at: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Per station: covered, how many bases cover it, nearest active base and its distance.

    Stations without a location get <NA>: their coverage is unknown, not 'uncovered'.
    """
    return CoverageModel(stations).run(active_bases(bases, at)).frame()


@dataclass(frozen=True)
class BaseArrays:
    """The bases of one run as arrays: centres, radii, and their shapes (compounds)."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    radius: np.ndarray
    extent: np.ndarray  # 0 for a point; for a compound, centre to farthest edge
    shapes: np.ndarray
    is_point: np.ndarray

    @classmethod
    def of(cls, bases: gpd.GeoDataFrame) -> BaseArrays:
        geoms = bases.geometry.to_numpy()
        is_point = shapely.get_type_id(geoms) == 0
        centres = shapely.centroid(geoms)
        extent = np.zeros(len(geoms))
        for i in np.flatnonzero(~is_point):
            extent[i] = geodesy.extent_m(geoms[i])
        return cls(
            ids=bases["id"].to_numpy(dtype=object),
            lon=shapely.get_x(centres),
            lat=shapely.get_y(centres),
            radius=bases["radius_m"].to_numpy(dtype=float),
            extent=extent,
            shapes=geoms,
            is_point=is_point,
        )

    def distances(
        self, lon: np.ndarray, lat: np.ndarray, station_idx: np.ndarray, base_idx: np.ndarray
    ) -> np.ndarray:
        """Distance (m) from each listed station to its listed base: to the point, or to a
        compound's edge (0 inside it)."""
        dist = np.empty(len(station_idx), dtype=float)
        point_pair = self.is_point[base_idx]
        if point_pair.any():
            s, b = station_idx[point_pair], base_idx[point_pair]
            dist[point_pair] = geodesy.distances_m(lon[s], lat[s], self.lon[b], self.lat[b])
        pairs = np.flatnonzero(~point_pair)
        if len(pairs):  # compounds: one projection per compound, its pairs in one go
            pairs = pairs[np.argsort(base_idx[pairs], kind="stable")]
            bases, starts = np.unique(base_idx[pairs], return_index=True)
            for base, chunk in zip(bases, np.split(pairs, starts[1:]), strict=True):
                s = station_idx[chunk]
                shape = self.shapes[base]
                dist[chunk] = geodesy.distance_to_shape_m(
                    shape, lon[s], lat[s], geodesy.projected(shape)
                )
        return dist


@dataclass(frozen=True)
class CoverageRun:
    """One coverage computation: per located station and per (station, base) pair."""

    stations_index: pd.Index  # every station, located or not
    located: np.ndarray  # bool per station
    base_ids: np.ndarray
    counts: np.ndarray  # per located station: bases whose radius reaches it
    nearest: np.ndarray  # per located station: index into base_ids, -1 when no base
    nearest_m: np.ndarray
    pair_station: np.ndarray  # located-station position of each covering pair
    pair_base: np.ndarray

    def frame(self) -> pd.DataFrame:
        """covered, covering_bases, nearest_base, nearest_base_m per station (<NA> unlocated)."""
        n = len(self.stations_index)
        full_counts = np.zeros(n, dtype=np.int64)
        full_counts[self.located] = self.counts
        unknown = ~self.located
        covered = pd.arrays.BooleanArray(full_counts > 0, unknown.copy())
        counts = pd.arrays.IntegerArray(full_counts, unknown.copy())
        nearest = np.full(n, None, dtype=object)
        nearest_m = np.full(n, np.nan)
        has = self.nearest >= 0
        where = np.flatnonzero(self.located)
        nearest[where[has]] = self.base_ids[self.nearest[has]]
        nearest_m[where[has]] = self.nearest_m[has]
        return pd.DataFrame(
            {
                "covered": covered,
                "covering_bases": counts,
                "nearest_base": nearest,
                "nearest_base_m": nearest_m,
            },
            index=self.stations_index,
        )


class CoverageModel:
    """Stations prepared once (a KD-tree of unit vectors) for many coverage runs.

    A run asks which of the given bases reach each station: every base within its own
    radius, not only the nearest (a far base's large radius covers too). Candidates
    come from the sphere with a margin; the decision is made on the WGS84 ellipsoid.
    What-if runs (other radii, bases off, bases added) reuse the tree.
    """

    def __init__(self, stations: gpd.GeoDataFrame):
        geoms = stations.geometry
        self.index = stations.index
        self.located = located(geoms)
        pts = geoms[self.located].to_numpy()
        self.points = geodesy.SphereIndex(shapely.get_x(pts), shapely.get_y(pts))
        self.lon, self.lat, self.vectors = self.points.lon, self.points.lat, self.points.vectors
        # The nearest base of the last bases asked about (several sessions share a model).
        self._nearest: Memo[tuple[np.ndarray, np.ndarray]] = Memo(1)

    def pairs(self, bases: BaseArrays) -> tuple[np.ndarray, np.ndarray]:
        """(located-station position, base position) of every station within a base's radius."""
        station_idx, base_idx, sq = self.points.candidates(
            bases.lon, bases.lat, bases.radius + bases.extent
        )
        inside = geodesy.settle_on_sphere(sq, bases.radius, base_idx)
        point_pair = bases.is_point[base_idx]
        unsure = np.flatnonzero(point_pair & (inside == geodesy.UNSURE))
        s, b = station_idx[unsure], base_idx[unsure]
        inside[unsure] = geodesy.within_m(
            self.lon[s], self.lat[s], bases.lon[b], bases.lat[b], bases.radius[b]
        )
        compound = np.flatnonzero(~point_pair)
        if len(compound):
            # A compound's edge lies within its extent of its centre: only pairs whose
            # bounds straddle the radius are measured to the edge.
            band = geodesy.SPHERE_BAND
            b = base_idx[compound]
            centre_m = geodesy.sphere_m(np.sqrt(sq[compound]))
            reach, extent = bases.radius[b], bases.extent[b]
            upper = (centre_m * (1 + band) + extent) * (1 + band)
            lower = (centre_m * (1 - band) - extent) * (1 - band)
            inside[compound] = upper <= reach
            edge = compound[(upper > reach) & (lower <= reach)]
            s, b = station_idx[edge], base_idx[edge]
            inside[edge] = bases.distances(self.lon, self.lat, s, b) <= bases.radius[b]
        keep = inside.astype(bool)
        return station_idx[keep], base_idx[keep]

    def nearest(self, bases: BaseArrays) -> tuple[np.ndarray, np.ndarray]:
        """Each located station's nearest base (index, metres); -1 and NaN when none.

        The sphere ranks the bases; the ellipsoid measures them, first only the first. A
        station is settled when no unmeasured base can be nearer: the nearest unmeasured
        one's distance on the sphere, less the sphere's error and the largest compound
        extent, bounds theirs from below. Unsettled stations measure four times as many,
        until all bases are measured.
        """
        n, m = len(self.lon), len(bases.ids)
        if not m or not n:
            return np.full(n, -1), np.full(n, np.nan)
        tree = cKDTree(geodesy.unit_vectors(bases.lon, bases.lat))
        widest = float(bases.extent.max())
        k = min(2, m)
        chords, idx = tree.query(self.vectors, k=k, workers=-1)
        chords, idx = np.asarray(chords).reshape(n, k), np.asarray(idx).reshape(n, k)
        k = 1  # measured so far: the first; the second only ranked
        best_idx = idx[:, 0].copy()
        best_m = bases.distances(self.lon, self.lat, np.arange(n), best_idx)
        rows, nearest_unmeasured = np.arange(n), chords[:, -1]
        while k < m:
            # No unmeasured base is nearer than this; a settled station keeps its best.
            bound = geodesy.sphere_m(nearest_unmeasured) * (1 - 2 * geodesy.SPHERE_BAND) - widest
            rows = rows[best_m[rows] > bound]
            if not len(rows):
                break
            k = min(k * 4, m)
            chords, idx = tree.query(self.vectors[rows], k=k, workers=-1)
            chords, idx = np.asarray(chords).reshape(-1, k), np.asarray(idx).reshape(-1, k)
            dist = bases.distances(self.lon, self.lat, np.repeat(rows, k), idx.ravel())
            dist = dist.reshape(len(rows), k)
            pick = dist.argmin(axis=1)
            best_idx[rows] = idx[np.arange(len(rows)), pick]
            best_m[rows] = dist[np.arange(len(rows)), pick]
            nearest_unmeasured = chords[:, -1]
        return best_idx, best_m

    def run(self, bases: gpd.GeoDataFrame | BaseArrays) -> CoverageRun:
        """Coverage of the stations by ``bases`` (all of them count: pass active ones)."""
        arrays = bases if isinstance(bases, BaseArrays) else BaseArrays.of(bases)
        pair_station, pair_base = self.pairs(arrays)
        counts = np.bincount(pair_station, minlength=len(self.lon))
        # The nearest base does not depend on radii: a what-if of radii reuses it.
        where = (
            tuple(arrays.ids),
            arrays.lon.tobytes(),
            arrays.lat.tobytes(),
            arrays.extent.tobytes(),
        )
        nearest, nearest_m = self._nearest.get(where, lambda: self.nearest(arrays))
        return CoverageRun(
            self.index,
            self.located,
            arrays.ids,
            counts,
            nearest,
            nearest_m,
            pair_station,
            pair_base,
        )
