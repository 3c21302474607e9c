"""Distances on the WGS84 ellipsoid, and fast candidate searches on the unit sphere.

Nothing here measures in degrees or in one UTM zone. Candidates are found with a
KD-tree of 3-D unit vectors (a radius on the sphere is a chord length), with a
margin wide enough for the sphere/ellipsoid difference, then every candidate is
measured exactly with the geodesic on the ellipsoid.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyproj
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from layers.core.memo import Memo

GEOD = pyproj.Geod(ellps="WGS84")
EARTH_RADIUS_M = 6_371_008.8
# The spherical distance differs from the ellipsoidal one by under 0.6 %; search a little wider.
SPHERE_MARGIN = 1.01


def unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors of points given in degrees."""
    lam, phi = np.radians(lon), np.radians(lat)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


def chord(metres: np.ndarray | float) -> np.ndarray:
    """Chord length on the unit sphere for a surface distance, widened by the search margin."""
    return chord_exact(np.asarray(metres, dtype=float) * SPHERE_MARGIN)


def distance_m(
    lon1: np.ndarray | float,
    lat1: np.ndarray | float,
    lon2: np.ndarray | float,
    lat2: np.ndarray | float,
) -> np.ndarray:
    """Geodesic distances in metres on WGS84, element by element."""
    _, _, dist = GEOD.inv(
        np.asarray(lon1, float),
        np.asarray(lat1, float),
        np.asarray(lon2, float),
        np.asarray(lat2, float),
    )
    return np.asarray(dist, dtype=float)


WGS84_A = 6_378_137.0
WGS84_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)
# Beyond this the local formula below is not trusted and the exact geodesic is used.
LOCAL_LIMIT_M = 100_000.0
# Pairs whose local distance lies this close (relative) to a radius are decided exactly.
DECIDE_BAND = 1e-4


# The sphere of EARTH_RADIUS_M is within 0.6 % of WGS84 geodesics: pairs farther than
# this from a decision on the sphere need no look at the ellipsoid.
SPHERE_BAND = 0.01


def chord_exact(metres: np.ndarray | float) -> np.ndarray:
    """Chord length on the unit sphere for a surface distance on the mean sphere."""
    angle = np.minimum(np.asarray(metres, dtype=float) / EARTH_RADIUS_M, np.pi)
    return 2.0 * np.sin(angle / 2.0)


def sphere_m(chords: np.ndarray) -> np.ndarray:
    """Surface distance on the mean sphere for chord lengths between unit vectors."""
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(np.asarray(chords, float) / 2.0, 1.0))


def local_distance_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Distance by the ellipsoid's radii of curvature at the mid-latitude (no trigonometry
    per pair beyond one sine and cosine): within 1e-5 of the geodesic up to 100 km at the
    latitudes tested (see tests), about ten times faster than :func:`distance_m`.

    Use :func:`distances_m` for distances that may be longer.
    """
    lat_mid = np.radians((np.asarray(lat1, float) + np.asarray(lat2, float)) / 2)
    s = np.sin(lat_mid)
    w = 1.0 - WGS84_E2 * s * s
    meridian = WGS84_A * (1.0 - WGS84_E2) / (w * np.sqrt(w))
    normal = WGS84_A / np.sqrt(w)
    dlat = np.radians(np.asarray(lat2, float) - np.asarray(lat1, float))
    dlon = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    dlon = (dlon + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(meridian * dlat, normal * np.cos(lat_mid) * dlon)


def distances_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Geodesic distances: the local formula where it is exact enough, WGS84 geodesics beyond."""
    lon1, lat1, lon2, lat2 = (np.asarray(a, float) for a in (lon1, lat1, lon2, lat2))
    out = local_distance_m(lon1, lat1, lon2, lat2)
    far = out > LOCAL_LIMIT_M
    if far.any():
        out[far] = distance_m(lon1[far], lat1[far], lon2[far], lat2[far])
    return out


def within_m(
    lon1: np.ndarray,
    lat1: np.ndarray,
    lon2: np.ndarray,
    lat2: np.ndarray,
    radius: np.ndarray | float,
) -> np.ndarray:
    """Whether each pair lies within ``radius`` metres; pairs near the edge decided exactly."""
    lon1, lat1, lon2, lat2 = (np.asarray(a, float) for a in (lon1, lat1, lon2, lat2))
    radius = np.broadcast_to(np.asarray(radius, float), lon1.shape)
    d = distances_m(lon1, lat1, lon2, lat2)
    edge = np.abs(d - radius) <= DECIDE_BAND * radius
    if edge.any():
        d[edge] = distance_m(lon1[edge], lat1[edge], lon2[edge], lat2[edge])
    return d <= radius


class SphereIndex:
    """Points as unit vectors in a KD-tree, for "which points lie within r of these centres".

    Candidates come from the sphere, searched :data:`SPHERE_MARGIN` wider; pairs plainly
    inside or outside on the sphere (beyond :data:`SPHERE_BAND`) are settled there, the
    rest on the ellipsoid (:func:`within_m`).
    """

    def __init__(self, lon: np.ndarray, lat: np.ndarray):
        self.lon, self.lat = np.asarray(lon, float), np.asarray(lat, float)
        self.vectors = unit_vectors(self.lon, self.lat)
        self.xyz = tuple(np.ascontiguousarray(c) for c in self.vectors.T)
        self.tree = cKDTree(self.vectors) if len(self.lon) else None

    def candidates(
        self, lon: np.ndarray, lat: np.ndarray, reach_m: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(point, centre, squared chord) of every point that may lie within ``reach_m``
        of a centre (given in degrees)."""
        empty = np.zeros(0, dtype=np.int64)
        if self.tree is None or not len(lon):
            return empty, empty, np.zeros(0)
        centres = unit_vectors(np.asarray(lon, float), np.asarray(lat, float))
        reach = np.broadcast_to(np.asarray(reach_m, float), (len(centres),))
        hits = self.tree.query_ball_point(centres, chord(reach), return_sorted=False, workers=-1)
        lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        total = int(lengths.sum())
        point = np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64, count=total)
        centre = np.repeat(np.arange(len(hits)), lengths)
        # Squared chords, one coordinate at a time (contiguous gathers).
        sq = np.zeros(total)
        for mine, theirs in zip(self.xyz, centres.T, strict=True):
            d = mine[point]
            d -= theirs[centre]
            d *= d
            sq += d
        return point, centre, sq

    def within(
        self, lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(point, centre) of every point within ``radius_m`` of a centre, on the ellipsoid."""
        radius = np.broadcast_to(np.asarray(radius_m, float), (len(lon),))
        point, centre, sq = self.candidates(lon, lat, radius)
        inside = settle_on_sphere(sq, radius, centre)
        unsure = np.flatnonzero(inside == UNSURE)
        p, c = point[unsure], centre[unsure]
        inside[unsure] = within_m(self.lon[p], self.lat[p], lon[c], lat[c], radius[c])
        keep = inside.astype(bool)
        return point[keep], centre[keep]


UNSURE = 2


def settle_on_sphere(sq_chords: np.ndarray, radius_m: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Per pair (squared chord, index of its centre): 1 plainly within the centre's
    ``radius_m`` on the sphere, 0 plainly beyond, :data:`UNSURE` within
    :data:`SPHERE_BAND` of it (for the ellipsoid to decide)."""
    inner = (chord_exact(radius_m * (1 - SPHERE_BAND)) ** 2)[centre]
    outer = (chord_exact(radius_m * (1 + SPHERE_BAND)) ** 2)[centre]
    out = (sq_chords <= outer).astype(np.int8) * UNSURE
    out[sq_chords <= inner] = 1
    return out


def local_projection(lon: float, lat: float) -> pyproj.Proj:
    """Azimuthal equidistant projection centred on a point (metres, exact from the centre).

    ``pyproj.Proj`` is built in a third of a millisecond; a Transformer takes 6 ms.
    """
    return pyproj.Proj(proj="aeqd", lat_0=lat, lon_0=lon, ellps="WGS84")


def _project(shape: BaseGeometry, proj: pyproj.Proj, inverse: bool = False) -> BaseGeometry:
    return shapely.transform(
        shape, lambda xy: np.column_stack(proj(xy[:, 0], xy[:, 1], inverse=inverse))
    )


_PROJECTED: Memo[tuple[pyproj.Proj, BaseGeometry]] = Memo(4096)
_BUFFERED: Memo[BaseGeometry] = Memo(4096)


def projected(shape: BaseGeometry) -> tuple[pyproj.Proj, BaseGeometry]:
    """A small shape's local projection and the shape in it (for :func:`distance_to_shape_m`).

    Remembered by shape (a geometry hashes by its coordinates): the same compounds come
    back in every coverage run.
    """

    def build() -> tuple[pyproj.Proj, BaseGeometry]:
        centre = shape.centroid
        proj = local_projection(centre.x, centre.y)
        return proj, _project(shape, proj)

    return _PROJECTED.get(shape, build)


def distance_to_shape_m(
    shape: BaseGeometry,
    lon: np.ndarray,
    lat: np.ndarray,
    prepared: tuple[pyproj.Proj, BaseGeometry] | None = None,
) -> np.ndarray:
    """Distance in metres from points to a small shape (0 inside), in its own local projection.

    Within 100 km of the shape's centre the projection's scale error is below 0.01 %.
    ``prepared``: :func:`projected` of the shape, when measuring to it many times.
    """
    proj, flat = prepared if prepared is not None else projected(shape)
    x, y = proj(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(shapely.distance(flat, shapely.points(x, y)), dtype=float)


def sphere_counts(
    centres_lon: np.ndarray, centres_lat: np.ndarray, tree: object, metres: float
) -> np.ndarray:
    """How many of a KD-tree's unit vectors lie within ``metres`` of each centre on the
    mean sphere (within 0.6 % of the geodesic: for counts, not for decisions)."""
    angle = min(metres / EARTH_RADIUS_M, np.pi)
    query = tree.query_ball_point  # type: ignore[attr-defined]
    return np.asarray(
        query(
            unit_vectors(centres_lon, centres_lat),
            2.0 * np.sin(angle / 2.0),
            return_length=True,
            workers=-1,
        ),
        dtype=np.int64,
    )


def extent_m(shape: BaseGeometry) -> float:
    """Largest distance from a shape's centroid to its boundary, in metres (0 for a point)."""
    if shape.geom_type == "Point":
        return 0.0
    centre = shape.centroid
    coords = shapely.get_coordinates(shape)
    return float(
        distance_m(
            np.full(len(coords), centre.x),
            np.full(len(coords), centre.y),
            coords[:, 0],
            coords[:, 1],
        ).max()
    )


def geodesic_circle(lon: float, lat: float, radius_m: float, vertices: int = 72) -> Polygon:
    """Polygon of the points at ``radius_m`` from (lon, lat) along geodesics."""
    azimuths = np.linspace(0.0, 360.0, vertices, endpoint=False)
    x, y, _ = GEOD.fwd(
        np.full(vertices, lon), np.full(vertices, lat), azimuths, np.full(vertices, float(radius_m))
    )
    return Polygon(np.column_stack((x, y)))


def buffer_m(shape: BaseGeometry, radius_m: float) -> BaseGeometry:
    """A shape grown by ``radius_m`` metres, built in its own local projection.

    Remembered by shape and radius: what-if runs redraw the same compounds.
    """

    def build() -> BaseGeometry:
        if shape.geom_type == "Point":
            return geodesic_circle(shape.x, shape.y, radius_m)
        proj, flat = projected(shape)
        return _project(flat.buffer(radius_m, quad_segs=16), proj, inverse=True)

    return _BUFFERED.get((shape, float(radius_m)), build)
