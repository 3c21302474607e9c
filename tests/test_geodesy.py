"""Distances and discs against pyproj's geodesic, across a country as wide as DR Congo."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely

from layers.geo import geodesy

GEOD = pyproj.Geod(ellps="WGS84")
# DR Congo's far west (Muanda, on the Atlantic) and far east (Lake Tanganyika shore, Ituri).
FAR_WEST = (12.35, -5.93)
FAR_EAST = (31.15, -8.0)
ITURI = (30.8, 2.2)


@pytest.mark.parametrize("origin", [FAR_WEST, FAR_EAST, ITURI, (23.5, -3.0)])
@pytest.mark.parametrize("metres", [500.0, 5_000.0, 15_000.0, 80_000.0])
def test_distance_matches_pyproj_geodesic(origin: tuple[float, float], metres: float) -> None:
    az = np.arange(0, 360, 15.0)
    lon, lat, _ = GEOD.fwd(
        np.full(az.size, origin[0]), np.full(az.size, origin[1]), az, np.full(az.size, metres)
    )
    got = geodesy.distance_m(np.full(az.size, origin[0]), np.full(az.size, origin[1]), lon, lat)
    assert np.max(np.abs(got - metres) / metres) < 1e-9


@pytest.mark.parametrize("origin", [FAR_WEST, FAR_EAST, ITURI])
def test_geodesic_circle_vertices_are_at_the_radius(origin: tuple[float, float]) -> None:
    circle = geodesy.geodesic_circle(*origin, 12_500.0)
    xy = shapely.get_coordinates(circle)
    _, _, d = GEOD.inv(np.full(len(xy), origin[0]), np.full(len(xy), origin[1]), xy[:, 0], xy[:, 1])
    assert np.allclose(d, 12_500.0, rtol=1e-9)


def test_sphere_search_margin_covers_the_ellipsoid_everywhere() -> None:
    """The KD-tree chord must never be shorter than the true geodesic, at any latitude."""
    rng = np.random.default_rng(1)
    lon0, lat0 = rng.uniform(-180, 180, 2000), rng.uniform(-80, 80, 2000)
    az, dist = rng.uniform(0, 360, 2000), rng.uniform(100, 200_000, 2000)
    lon1, lat1, _ = GEOD.fwd(lon0, lat0, az, dist)
    a, b = geodesy.unit_vectors(lon0, lat0), geodesy.unit_vectors(lon1, lat1)
    straight = np.linalg.norm(a - b, axis=1)
    assert np.all(straight <= geodesy.chord(dist))


@pytest.mark.parametrize("origin", [FAR_WEST, FAR_EAST])
def test_distance_to_compound_edge_is_geodesic_to_within_0_1_percent(
    origin: tuple[float, float],
) -> None:
    lon0, lat0 = origin
    compound = shapely.box(lon0 - 0.004, lat0 - 0.003, lon0 + 0.004, lat0 + 0.003)
    # Points due east of the compound: nearest edge point is on the east side, same latitude.
    lons = np.array([lon0 + 0.05, lon0 + 0.1, lon0 + 0.15])
    lats = np.full(3, lat0)
    got = geodesy.distance_to_shape_m(compound, lons, lats)
    _, _, expected = GEOD.inv(np.full(3, lon0 + 0.004), lats, lons, lats)
    assert np.max(np.abs(got - expected) / expected) < 1e-3
    assert geodesy.distance_to_shape_m(compound, np.array([lon0]), np.array([lat0]))[0] == 0


def test_buffer_of_a_point_is_the_geodesic_circle() -> None:
    disc = geodesy.buffer_m(shapely.Point(*FAR_EAST), 5_000)
    assert disc.equals(geodesy.geodesic_circle(*FAR_EAST, 5_000))


def test_extent_of_a_compound() -> None:
    box = shapely.box(30.0, -8.0, 30.01, -7.99)
    corner = GEOD.inv(30.005, -7.995, 30.01, -7.99)[2]
    assert geodesy.extent_m(box) == pytest.approx(corner, rel=1e-3)
    assert geodesy.extent_m(shapely.Point(30, -8)) == 0


def test_sphere_index_finds_exactly_the_points_within_each_radius() -> None:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(12.2, 31.3, 4_000), rng.uniform(-13.5, 5.4, 4_000)
    clon, clat = rng.uniform(12.2, 31.3, 60), rng.uniform(-13.5, 5.4, 60)
    radius = rng.uniform(50_000, 300_000, 60)
    # Some points right at the edge, where sphere and ellipsoid disagree.
    elon, elat, _ = GEOD.fwd(clon, clat, rng.uniform(0, 360, 60), radius * (1 + 1e-7))
    ilon, ilat, _ = GEOD.fwd(clon, clat, rng.uniform(0, 360, 60), radius * (1 - 1e-7))
    lon, lat = np.concatenate([lon, elon, ilon]), np.concatenate([lat, elat, ilat])
    point, centre = geodesy.SphereIndex(lon, lat).within(clon, clat, radius)
    got = set(zip(point.tolist(), centre.tolist(), strict=True))
    _, _, d = GEOD.inv(
        np.repeat(lon, len(clon)),
        np.repeat(lat, len(clon)),
        np.tile(clon, len(lon)),
        np.tile(clat, len(lon)),
    )
    p, c = np.nonzero(d.reshape(len(lon), len(clon)) <= radius)
    assert got == set(zip(p.tolist(), c.tolist(), strict=True))
    assert len(got) > 1_000
