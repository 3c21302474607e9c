"""Where new bases would cover the most uncovered voters: greedy maximal covering."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from layers.geo import coverage, geodesy


@dataclass(frozen=True)
class Suggestion:
    """One proposed base, in the order chosen."""

    rank: int
    lat: float
    lon: float
    voters: float  # newly covered registered voters
    stations: int  # newly covered stations
    total_voters: float  # running total of newly covered voters
    total_stations: int


def grid_sites(lon: np.ndarray, lat: np.ndarray, radius_m: float) -> np.ndarray:
    """Candidate (lon, lat) for new bases: a grid of spacing radius/1.5 over the stations'
    extent (any point has a grid point within about half the radius)."""
    if not len(lon):
        return np.zeros((0, 2))
    step_lat = radius_m / 1.5 / 111_320.0
    step_lon = step_lat / max(np.cos(np.radians(np.median(lat))), 0.2)
    glon, glat = np.meshgrid(
        np.arange(lon.min(), lon.max() + step_lon, step_lon),
        np.arange(lat.min(), lat.max() + step_lat, step_lat),
    )
    return np.column_stack([glon.ravel(), glat.ravel()])


class Placement:
    """Candidate sites for new bases of one radius, and the stations each would reach.

    Fixed sites (a grid) are measured against every station once per stations version
    and radius; each run adds sites at (a sample of) its uncovered stations, measured
    against those only, and weighs both with the uncovered voters.
    """

    def __init__(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        radius_m: float,
        sites: np.ndarray,
        own_sites: int = 20_000,
    ):
        self.lon, self.lat = np.asarray(lon, float), np.asarray(lat, float)
        self.radius_m = float(radius_m)
        self.sites = np.asarray(sites, dtype=float).reshape(-1, 2)
        self.own_sites = own_sites
        self.matrix = self._reach(self.sites, np.arange(len(self.lon)))

    @classmethod
    def around(cls, model: coverage.CoverageModel, radius_m: float) -> Placement:
        """A grid over the located stations of a coverage model (positions as in it)."""
        return cls(model.lon, model.lat, radius_m, grid_sites(model.lon, model.lat, radius_m))

    def _reach(self, sites: np.ndarray, stations: np.ndarray) -> sparse.csr_matrix:
        """Sites x all stations: 1 where a site's radius reaches one of ``stations``."""
        n = len(self.lon)
        if len(sites) and len(stations):
            # The larger set goes in the tree; the smaller one asks it (fewer queries).
            lon, lat = self.lon[stations], self.lat[stations]
            if len(sites) > len(stations):
                index = geodesy.SphereIndex(sites[:, 0], sites[:, 1])
                rows, cols = index.within(lon, lat, self.radius_m)
            else:
                cols, rows = geodesy.SphereIndex(lon, lat).within(
                    sites[:, 0], sites[:, 1], self.radius_m
                )
            cols = stations[cols]
        else:
            rows = cols = np.zeros(0, dtype=np.int64)
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sites), n))

    def suggest(
        self, weights: np.ndarray, k: int, eligible: np.ndarray | None = None
    ) -> list[Suggestion]:
        """Greedy maximal covering: K sites that together reach the most weight (registered
        voters) of the ``eligible`` stations (all when None), each chosen for the most
        weight not yet reached. Greedy is within 1 - 1/e of the optimum. Ties in weight go
        to the site reaching more stations."""
        n = len(self.lon)
        alive = np.ones(n) if eligible is None else np.asarray(eligible, dtype=float)
        if not n or k <= 0 or not alive.any():
            return []
        open_ = np.flatnonzero(alive)
        own = open_
        if len(own) > self.own_sites:
            own = np.sort(np.random.default_rng(0).choice(own, self.own_sites, replace=False))
        if not self.own_sites:
            own = own[:0]
        own_sites = np.column_stack([self.lon[own], self.lat[own]])
        sites = np.vstack([self.sites, own_sites])
        matrix = sparse.vstack([self.matrix, self._reach(own_sites, open_)], format="csr")
        by_station = matrix.tocsc()
        left = np.asarray(weights, dtype=float) * alive
        gain, count = matrix @ left, matrix @ alive
        out: list[Suggestion] = []
        total_v, total_s = 0.0, 0
        for rank in range(1, k + 1):
            tied = np.flatnonzero(gain == gain.max())
            best = int(tied[np.argmax(count[tied])])
            if gain[best] <= 0 and count[best] <= 0:
                break
            newly = matrix.indices[matrix.indptr[best] : matrix.indptr[best + 1]]
            newly = newly[alive[newly] > 0]
            voters, stations = float(left[newly].sum()), len(newly)
            total_v, total_s = total_v + voters, total_s + stations
            site = sites[best]
            out.append(
                Suggestion(rank, float(site[1]), float(site[0]), voters, stations, total_v, total_s)
            )
            # Only the sites that reach a newly covered station lose anything.
            reach = by_station[:, newly]
            gain -= reach @ left[newly]
            count -= reach @ np.ones(len(newly))
            left[newly] = 0.0
            alive[newly] = 0.0
        return out


def suggest(
    lon: np.ndarray,
    lat: np.ndarray,
    weights: np.ndarray,
    k: int,
    radius_m: float,
    candidates: np.ndarray,
) -> list[Suggestion]:
    """:meth:`Placement.suggest` over these stations with exactly ``candidates`` (lon, lat)."""
    return Placement(lon, lat, radius_m, candidates, own_sites=0).suggest(weights, k)
