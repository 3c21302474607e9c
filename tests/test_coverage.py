"""Coverage: within the radius of at least one active base, measured on the ellipsoid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from layers.geo.coverage import active_bases, coverage

GEOD = pyproj.Geod(ellps="WGS84")


def bases_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        [
            {
                "status": "active",
                "shift_start": pd.NaT,
                "shift_end": pd.NaT,
                **{k: v for k, v in r.items() if k != "geometry"},
            }
            for r in rows
        ]
    )
    for col in ("shift_start", "shift_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return gpd.GeoDataFrame(frame, geometry=[r["geometry"] for r in rows], crs="EPSG:4326")


def stations_at(points: list[tuple[float, float] | None]) -> gpd.GeoDataFrame:
    geoms = [shapely.Point(p) if p is not None else None for p in points]
    return gpd.GeoDataFrame(
        {"id": [f"S{i}" for i in range(len(points))]}, geometry=geoms, crs="EPSG:4326"
    )


def east_of(lon: float, lat: float, metres: float) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, 90.0, metres)
    return (x, y)


def test_far_large_radius_covers_what_the_nearest_small_radius_does_not() -> None:
    station = (23.0, -3.0)
    near = bases_frame(
        [
            {
                "id": "near-small",
                "radius_m": 2_000.0,
                "geometry": shapely.Point(east_of(*station, 4_000)),
            },
            {
                "id": "far-large",
                "radius_m": 20_000.0,
                "geometry": shapely.Point(east_of(*station, -15_000)),
            },
        ]
    )
    result = coverage(stations_at([station]), near)
    assert bool(result["covered"][0]) and result["covering_bases"][0] == 1
    assert result["nearest_base"][0] == "near-small"
    assert result["nearest_base_m"][0] == pytest.approx(4_000, rel=1e-6)


@pytest.mark.parametrize("lon", [12.35, 31.15])  # DR Congo's far west and far east
def test_edge_of_the_radius_is_exact_at_the_far_ends_of_a_wide_country(lon: float) -> None:
    lat = -6.0
    base = bases_frame([{"id": "B", "radius_m": 10_000.0, "geometry": shapely.Point(lon, lat)}])
    inside = [east_of(lon, lat, 10_000 * (1 - 1e-4)), (lon, lat + 0.0899)]  # 0.0899 deg N ~ 9.94 km
    outside = [east_of(lon, lat, 10_000 * (1 + 1e-4)), (lon, lat + 0.0906)]  # ~10.02 km
    result = coverage(stations_at(inside + outside), base)
    assert result["covered"].tolist() == [True, True, False, False]
    _, _, d = GEOD.inv(lon, lat, *inside[0])
    assert result["nearest_base_m"][0] == pytest.approx(d, rel=1e-5)


def test_only_active_and_on_shift_bases_count() -> None:
    station = (10.0, 5.0)
    at = pd.Timestamp("2026-10-11T15:00Z")
    bases = bases_frame(
        [
            {
                "id": "standby",
                "status": "standby",
                "radius_m": 9_000.0,
                "geometry": shapely.Point(station),
            },
            {
                "id": "shift-over",
                "radius_m": 9_000.0,
                "geometry": shapely.Point(station),
                "shift_start": "2026-10-11T06:00Z",
                "shift_end": "2026-10-11T14:00Z",
            },
        ]
    )
    assert active_bases(bases, at).empty
    assert not bool(coverage(stations_at([station]), bases, at=at)["covered"][0])
    morning = pd.Timestamp("2026-10-11T09:00Z")
    assert bool(coverage(stations_at([station]), bases, at=morning)["covered"][0])


def test_compound_radius_is_measured_from_its_edge() -> None:
    compound = shapely.box(31.0, -8.0, 31.02, -7.98)  # about 2.2 km wide
    bases = bases_frame([{"id": "C", "radius_m": 3_000.0, "geometry": compound}])
    result = coverage(
        stations_at([east_of(31.02, -7.99, 2_900), east_of(31.02, -7.99, 3_100), (31.01, -7.99)]),
        bases,
    )
    assert result["covered"].tolist() == [True, False, True]
    assert result["nearest_base_m"][2] == 0


def test_stations_without_location_are_unknown_not_uncovered() -> None:
    bases = bases_frame([{"id": "B", "radius_m": 5_000.0, "geometry": shapely.Point(10, 5)}])
    result = coverage(stations_at([(10, 5), None]), bases)
    assert result["covered"][0] is np.True_ or bool(result["covered"][0])
    assert pd.isna(result["covered"][1]) and pd.isna(result["covering_bases"][1])


def test_counts_every_covering_base() -> None:
    bases = bases_frame(
        [
            {
                "id": f"B{i}",
                "radius_m": 5_000.0,
                "geometry": shapely.Point(east_of(10, 5, 1_000 * i)),
            }
            for i in range(4)
        ]
    )
    result = coverage(stations_at([(10, 5)]), bases)
    assert result["covering_bases"][0] == 4


def test_matches_brute_force_geodesic_on_random_data() -> None:
    rng = np.random.default_rng(7)
    n, m = 3_000, 80
    slon, slat = rng.uniform(12.2, 31.3, n), rng.uniform(-13.5, 5.4, n)
    blon, blat = rng.uniform(12.2, 31.3, m), rng.uniform(-13.5, 5.4, m)
    radius = rng.uniform(20_000, 150_000, m)
    bases = bases_frame(
        [
            {
                "id": f"B{i}",
                "radius_m": float(radius[i]),
                "geometry": shapely.Point(blon[i], blat[i]),
            }
            for i in range(m)
        ]
    )
    result = coverage(stations_at(list(zip(slon, slat, strict=True))), bases)
    _, _, d = GEOD.inv(np.repeat(slon, m), np.repeat(slat, m), np.tile(blon, n), np.tile(blat, n))
    d = d.reshape(n, m)
    assert result["covering_bases"].to_numpy(dtype=int).tolist() == (d <= radius).sum(1).tolist()
    assert np.allclose(
        result["nearest_base_m"].to_numpy(), d.min(1), rtol=1e-5
    )  # 0.001 %: well inside the 0.1 % asked


def test_compounds_match_the_edge_distance_for_stations_crowding_the_radius() -> None:
    from layers.geo.geodesy import distance_to_shape_m

    rng = np.random.default_rng(5)
    shapes = [
        shapely.box(29.0, -3.0, 29.01, -2.99),  # about 1.1 km square
        shapely.Polygon([(30.0, 1.0), (30.03, 1.0), (30.0, 1.005)]),  # long thin triangle
        shapely.box(27.5, 4.0, 27.506, 4.012),
    ]
    radii = [4_000.0, 10_000.0, 15_000.0]
    rows = [
        {"id": f"C{i}", "radius_m": r, "geometry": g}
        for i, (g, r) in enumerate(zip(shapes, radii, strict=True))
    ]
    points = []
    for shape, radius in zip(shapes, radii, strict=True):
        centre = shape.centroid
        # Stations at the edge distance +/- 3 %, the band where sphere bounds cannot decide.
        for az in rng.uniform(0, 360, 400):
            reach = radius * rng.uniform(0.97, 1.03) + 600
            lon, lat, _ = GEOD.fwd(centre.x, centre.y, az, reach)
            points.append((lon, lat))
    stations = stations_at(points)
    result = coverage(stations, bases_frame(rows))
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    d = np.column_stack([distance_to_shape_m(g, lon, lat) for g in shapes])
    expected = (d <= np.array(radii)).sum(1)
    assert 0 < expected.sum() < len(points)  # some in, some out
    assert result["covering_bases"].to_numpy(dtype=int).tolist() == expected.tolist()
    assert np.allclose(result["nearest_base_m"].to_numpy(), d.min(1), rtol=1e-9)


def test_nearest_base_among_points_and_large_compounds_matches_brute_force() -> None:
    from layers.geo.geodesy import distance_to_shape_m

    rng = np.random.default_rng(9)
    rows = []
    for i in range(40):
        lon, lat = rng.uniform(20, 21), rng.uniform(-5, -4)
        if i % 4 == 0:  # compounds up to ~10 km wide: the nearest centre is not the nearest edge
            w = rng.uniform(0.01, 0.09)
            shape = shapely.box(lon, lat, lon + w, lat + rng.uniform(0.005, 0.09))
        else:
            shape = shapely.Point(lon, lat)
        rows.append({"id": f"B{i}", "radius_m": 3_000.0, "geometry": shape})
    slon, slat = rng.uniform(19.9, 21.1, 2_000), rng.uniform(-5.1, -3.9, 2_000)
    result = coverage(stations_at(list(zip(slon, slat, strict=True))), bases_frame(rows))
    d = np.column_stack(
        [
            distance_to_shape_m(r["geometry"], slon, slat)
            if r["geometry"].geom_type != "Point"
            else GEOD.inv(
                slon, slat, np.full(len(slon), r["geometry"].x), np.full(len(slon), r["geometry"].y)
            )[2]
            for r in rows
        ]
    )
    assert np.allclose(result["nearest_base_m"].to_numpy(), d.min(1), rtol=1e-5, atol=1e-6)
    by_distance = np.array([r["id"] for r in rows])[d.argmin(1)]
    far_from_ties = np.sort(d, 1)[:, 1] - d.min(1) > 1.0
    assert (result["nearest_base"].to_numpy()[far_from_ties] == by_distance[far_from_ties]).all()


def test_a_model_serves_what_if_runs_with_the_same_answers_as_fresh_ones() -> None:
    from layers.geo.coverage import CoverageModel

    rng = np.random.default_rng(11)
    stations = stations_at(
        list(zip(rng.uniform(20, 22, 500), rng.uniform(-5, -3, 500), strict=True))
    )
    bases = bases_frame(
        [
            {
                "id": f"B{i}",
                "radius_m": 15_000.0,
                "geometry": shapely.Point(rng.uniform(20, 22), rng.uniform(-5, -3)),
            }
            for i in range(20)
        ]
    )
    model = CoverageModel(stations)
    for radius in (5_000.0, 15_000.0, 40_000.0, 15_000.0):
        changed = bases.assign(radius_m=radius)
        kept = model.run(changed).frame()
        fresh = CoverageModel(stations).run(changed).frame()
        pd.testing.assert_frame_equal(kept, fresh)
    fewer = bases.iloc[::2]
    pd.testing.assert_frame_equal(
        model.run(fewer).frame(), CoverageModel(stations).run(fewer).frame()
    )


def test_shift_period_changes_exactly_when_the_bases_on_shift_do() -> None:
    from layers.geo.coverage import active_bases, shift_period

    t0 = pd.Timestamp("2026-10-11T06:00Z")
    bases = bases_frame(
        [
            {
                "id": "day",
                "geometry": shapely.Point(0, 0),
                "shift_start": t0,
                "shift_end": t0 + pd.Timedelta(hours=12),
            },
            {
                "id": "night",
                "geometry": shapely.Point(0, 0),
                "shift_start": t0 + pd.Timedelta(hours=12),
            },
            {"id": "always", "geometry": shapely.Point(0, 0)},
        ]
    )
    times = [t0 + pd.Timedelta(minutes=m) for m in range(-90, 24 * 60, 17)]
    times += [t0, t0 + pd.Timedelta(hours=12), t0 + pd.Timedelta(hours=12, microseconds=-1)]
    on_shift = [tuple(active_bases(bases, t)["id"]) for t in times]
    period = [shift_period(bases, t) for t in times]
    for i in range(len(times)):
        for j in range(len(times)):
            assert (period[i] == period[j]) == (on_shift[i] == on_shift[j]), (times[i], times[j])
    assert shift_period(bases_frame([{"id": "x", "geometry": shapely.Point(0, 0)}]), t0) == 0
