"""Coverage gaps: per station and area, through polling day, what-if, placement."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_coverage import bases_frame, east_of, stations_at

from conftest import load_path
from layers.analysis import areas as area_rule
from layers.analysis.gaps import (
    NO_AREA,
    PARTLY,
    UNKNOWN_LOCATION,
    IncidentCounter,
    analyse,
    area_table,
    day_state,
    polling_day_share,
    polling_window,
    station_table,
    totals,
)
from layers.analysis.placement import Placement, grid_sites, suggest
from layers.analysis.whatif import what_if
from layers.geo import coverage

LON, LAT = 23.0, -4.0  # the middle of DR Congo
DAY = dt.date(2026, 10, 11)


def stations_with(points, voters, admin1=None):  # type: ignore[no-untyped-def]
    frame = stations_at(points)
    frame["registered_voters"] = pd.array(voters, dtype="Int64")
    frame["admin1"] = admin1 if admin1 is not None else ["North"] * len(points)
    return frame


def run(stations, bases):  # type: ignore[no-untyped-def]
    model = coverage.CoverageModel(stations)
    table = station_table(stations, model.run(coverage.active_bases(bases)))
    table["area"] = area_rule.assign(table, stations.iloc[0:0].assign(name=[]), "polling_stations")[
        0
    ]
    return model, table


def test_far_large_radius_covers_and_what_if_changes_it() -> None:
    station = (LON, LAT)
    stations = stations_with([station, east_of(LON, LAT, 30_000)], [500, 300])
    bases = bases_frame(
        [
            {
                "id": "near-small",
                "radius_m": 2_000.0,
                "unit_type": "police",
                "geometry": shapely.Point(east_of(LON, LAT, 4_000)),
            },
            {
                "id": "far-large",
                "radius_m": 20_000.0,
                "unit_type": "infantry",
                "geometry": shapely.Point(east_of(LON, LAT, -15_000)),
            },
        ]
    )
    _, table = run(stations, bases)
    assert table["state"].tolist() == ["covered", "uncovered"]
    assert table["nearest_base"].tolist()[0] == "near-small"  # nearest, yet not the coverer
    # Every base at 35 km: the second station is reached by near-small (26 km away).
    _, wider = run(stations, what_if(bases, radius_m=35_000))
    assert wider["state"].tolist() == ["covered", "covered"]
    # Police only at 27 km; the far base switched off: the first station is still covered.
    changed = what_if(bases, radius_by_type={"police": 27_000}, off=["far-large"])
    _, by_type = run(stations, changed)
    assert by_type["state"].tolist() == ["covered", "covered"]
    assert by_type["covering_bases"].tolist() == [1, 1]
    # A hypothetical base next to the second station.
    lon2, lat2 = east_of(LON, LAT, 30_000)
    added = what_if(bases, added=[(lat2, lon2 + 0.01, 5_000)])
    _, plus = run(stations, added)
    assert plus["state"].tolist() == ["covered", "covered"]
    assert plus["nearest_base"].tolist()[1] == "new-1"


def test_area_table_counts_unknown_locations_and_sums_to_the_totals() -> None:
    stations = stations_with(
        [(LON, LAT), east_of(LON, LAT, 50_000), None, (LON + 1, LAT + 1)],
        [100, 200, 400, 800],
        ["North", "North", "North", "South"],
    )
    bases = bases_frame([{"id": "B", "radius_m": 5_000.0, "geometry": shapely.Point(LON, LAT)}])
    _, table = run(stations, bases)
    table["area"] = area_rule.assign(table, stations.iloc[0:0].assign(name=[]), "polling_stations")[
        0
    ]
    areas = area_table(table).set_index("area")
    north = areas.loc["North"]
    assert (north["stations"], north["covered"], north["uncovered"], north["unknown_location"]) == (
        3,
        1,
        1,
        1,
    )
    assert north["covered_pct"] == 50 and north["voters_covered_pct"] == pytest.approx(100 / 3)
    assert north["registered_voters"] == 700 and north["voters_covered"] == 100
    national = totals(table)
    for column in (
        "stations",
        "covered",
        "uncovered",
        "unknown_location",
        "registered_voters",
        "voters_covered",
    ):
        assert areas[column].sum() == national[column]
    assert national["voters_covered_pct"] == pytest.approx(100 * 100 / 1100)


def test_a_shift_ending_before_the_polls_close_leaves_stations_partly_covered() -> None:
    window = polling_window(DAY, "Africa/Kinshasa")  # UTC+1
    assert window[0] == pd.Timestamp("2026-10-11T06:00Z")
    stations = stations_with([(LON, LAT), east_of(LON, LAT, 40_000), (LON + 2, LAT)], [1, 1, 1])
    open_utc = window[0]
    bases = bases_frame(
        [
            {
                "id": "day",
                "radius_m": 5_000.0,
                "geometry": shapely.Point(LON, LAT),
                "shift_start": open_utc - pd.Timedelta(hours=1),
                "shift_end": open_utc + pd.Timedelta(hours=7),
            },  # leaves at 14:00 local
            {
                "id": "late",
                "radius_m": 5_000.0,
                "geometry": shapely.Point(LON, LAT),
                "shift_start": open_utc + pd.Timedelta(hours=6),
                "shift_end": open_utc + pd.Timedelta(hours=9),
            },  # 13:00-16:00, overlaps
            {
                "id": "always",
                "radius_m": 5_000.0,
                "geometry": shapely.Point(east_of(LON, LAT, 40_000)),
            },
        ]
    )
    model = coverage.CoverageModel(stations)
    share = polling_day_share(model, bases, window)
    assert share[0] == pytest.approx(9 / 11)  # 07:00-16:00 of 07:00-18:00, overlap once
    assert share[1] == 1.0 and share[2] == 0.0
    state = day_state(share)
    assert state.tolist() == ["partly covered", "covered", "uncovered"]


def brute_force(cover: list[set[int]], weights: list[float], k: int) -> float:
    return max(
        sum(weights[i] for i in set().union(*(cover[c] for c in combo)))
        for combo in itertools.combinations(range(len(cover)), k)
    )


def test_placement_is_within_the_greedy_bound_of_the_brute_force_optimum() -> None:
    rng = np.random.default_rng(3)
    lon = LON + rng.uniform(0, 0.6, 40)
    lat = LAT + rng.uniform(0, 0.6, 40)
    weights = rng.integers(100, 1_000, 40).astype(float)
    candidates = np.column_stack([LON + rng.uniform(0, 0.6, 14), LAT + rng.uniform(0, 0.6, 14)])
    radius = 12_000.0
    d = np.array(
        [
            [coverage.geodesy.distance_m(c[0], c[1], x, y) for x, y in zip(lon, lat, strict=True)]
            for c in candidates
        ]
    )
    cover = [set(np.flatnonzero(row <= radius)) for row in d]
    for k in (1, 2, 3):
        picks = suggest(lon, lat, weights, k, radius, candidates)
        optimum = brute_force(cover, list(weights), k)
        got = picks[-1].total_voters
        assert got >= (1 - 1 / math.e) * optimum
        if k == 1:
            assert got == optimum  # one pick: greedy is exact
        chosen = [
            int(np.flatnonzero((candidates[:, 1] == p.lat) & (candidates[:, 0] == p.lon))[0])
            for p in picks
        ]
        assert got == sum(weights[i] for i in set().union(*(cover[c] for c in chosen)))
    assert [p.rank for p in picks] == [1, 2, 3]
    assert picks[0].voters >= picks[1].voters >= picks[2].voters  # gains only shrink


def test_placement_equals_the_optimum_on_disjoint_clusters() -> None:
    # Three separate clusters of voters: the optimum takes the heaviest two, so does greedy.
    centres = [(LON, LAT), (LON + 1, LAT), (LON + 2, LAT)]
    lon = np.array([c[0] + dx for c in centres for dx in (0, 0.01, 0.02)])
    lat = np.array([c[1] for c in centres for _ in range(3)])
    weights = np.array([50, 50, 50, 400, 400, 400, 200, 200, 200], dtype=float)
    candidates = np.array([[c[0] + 0.01, c[1]] for c in centres])
    picks = suggest(lon, lat, weights, 2, 5_000, candidates)
    assert [(p.voters, p.stations) for p in picks] == [(1200, 3), (600, 3)]
    assert picks[-1].total_voters == 1800 and picks[-1].total_stations == 6


def test_sites_include_the_uncovered_stations_never_the_covered_ones() -> None:
    # No grid: only the run's own sites, at its uncovered stations.
    lon = np.array([LON, LON + 0.001, LON + 0.5, LON + 1.0])
    lat = np.full(4, LAT)
    weights = np.array([900.0, 10.0, 300.0, 200.0])
    placement = Placement(lon, lat, 1_000.0, np.zeros((0, 2)))
    picks = placement.suggest(weights, 3, eligible=np.array([False, True, True, True]))
    assert [(p.lon, p.voters) for p in picks] == [
        (LON + 0.5, 300),
        (LON + 1.0, 200),
        (LON + 0.001, 10),
    ]
    grid = grid_sites(lon, lat, 10_000)
    step = np.diff(np.unique(grid[:, 0]))
    assert grid[:, 0].min() == LON and grid[:, 0].max() >= LON + 1.0
    assert np.allclose(step, step[0]) and step[0] * 111_320 * np.cos(np.radians(LAT)) < 6_700


def test_kenya_county_table_sums_to_the_nation(shared_data: Path) -> None:
    stations, _ = load_path(
        "polling_stations", shared_data / "kenya" / "polling_stations_2012.geojson"
    )
    counties, _ = load_path("areas", shared_data / "kenya" / "counties_2012.geojson")
    bases = counties[["name"]].copy().set_geometry(counties.geometry.representative_point())
    bases["id"], bases["radius_m"], bases["status"] = bases["name"], 20_000.0, "active"
    bases["shift_start"] = bases["shift_end"] = pd.Series(
        pd.NaT, index=bases.index, dtype="datetime64[ns, UTC]"
    )
    model = coverage.CoverageModel(stations)
    table = station_table(stations, model.run(bases))
    table["area"] = area_rule.assign(table, counties, "polling_stations")[0]
    areas = area_table(table)
    national = totals(table)
    for column in ("stations", "covered", "uncovered", "unknown_location"):
        assert areas[column].sum() == national[column]
    assert national["stations"] == len(stations) == 26_447
    # The (0,0) stations are counted, as unknown location, in their own county.
    assert national["unknown_location"] == (table["state"] == UNKNOWN_LOCATION).sum()
    assert national["unknown_location"] >= 10_051
    unknown = table[table["state"] == UNKNOWN_LOCATION]
    # (ELGEYO/MARAKWET is the polygons' ELEGEYO-MARAKWET: a spelling variant, reported.)
    own = unknown["admin1"].str.upper().replace({"ELGEYO/MARAKWET": "ELEGEYO-MARAKWET"})
    assert (unknown["area"].str.upper() == own).mean() > 0.99
    assert (
        NO_AREA not in set(areas["area"])
        or areas.loc[areas["area"] == NO_AREA, "stations"].sum() < 50
    )
    assert 0 < national["covered"] < national["covered"] + national["uncovered"]


def test_analyse_gives_one_consistent_answer() -> None:
    # North: one station under an all-day base, one under a base whose shift ends at
    # 14:00 local, UTC+2 (partly), one far away (uncovered), one without location. South: one.
    stations = stations_with(
        [(LON, LAT), east_of(LON, LAT, 60_000), east_of(LON, LAT, 200_000), None, (LON + 3, LAT)],
        [100, 200, 400, 800, 1_600],
        ["North", "North", "North", "North", "South"],
    )
    window = polling_window(DAY, "Africa/Lubumbashi")
    bases = bases_frame(
        [
            {"id": "all-day", "radius_m": 5_000.0, "geometry": shapely.Point(LON, LAT)},
            {
                "id": "morning",
                "radius_m": 5_000.0,
                "shift_start": "2026-10-11T04:00Z",
                "shift_end": "2026-10-11T12:00Z",
                "geometry": shapely.Point(east_of(LON, LAT, 60_000)),
            },
        ]
    )
    events = stations_at([east_of(LON, LAT, 203_000), east_of(LON, LAT, 230_000)])
    none = stations.iloc[0:0].assign(name=[])
    answer = analyse(
        coverage.CoverageModel(stations), stations, bases, none, window, incidents=events
    )
    table = answer.stations
    assert table["state"].tolist() == [
        "covered",
        PARTLY,
        "uncovered",
        UNKNOWN_LOCATION,
        "uncovered",
    ]
    assert table["day_share"].tolist()[:3] == [
        1.0,
        pytest.approx(7 / 11, abs=1e-3),
        0.0,
    ]  # 05:00-12:00Z of 05:00-16:00Z
    # Counted for the stations the ranking lists only: 1 within 10 km of the far one.
    assert table["incidents_10km"].tolist()[1:3] == [0, 1]
    assert pd.isna(table["incidents_10km"].tolist()[0])
    # Counted apart: the answer without incidents, then the incidents in two parts.
    bare = analyse(coverage.CoverageModel(stations), stations, bases, none, window)
    assert "incidents_10km" not in bare.stations
    stepwise = bare.counting(events.iloc[:1]).counting(events.iloc[1:], more=True)
    pd.testing.assert_series_equal(
        stepwise.stations["incidents_10km"], table["incidents_10km"], check_names=False
    )
    assert table["registered_voters"].tolist() == [100, 200, 400, 800, 1_600]
    pd.testing.assert_frame_equal(answer.areas, area_table(table))
    assert answer.nation == totals(table)
    assert answer.nation["voters_covered"] == 100 and answer.nation["registered_voters"] == 3_100
    assert answer.nation["voters_covered_pct"] == pytest.approx(100 * 100 / 2_300)
    north = answer.areas.set_index("area").loc["North"]
    assert (north["covered"], north["partly_covered"], north["uncovered"]) == (1, 1, 1)
    assert north["unknown_location"] == 1
    # Suggestions reach the uncovered voters only (not the partly covered station's),
    # from a placement built once and reused for another run.
    model = coverage.CoverageModel(stations)
    placement = Placement.around(model, 5_000.0)
    for _ in range(2):
        picked = analyse(
            model,
            stations,
            bases,
            none,
            window,
            incidents=events,
            suggest_k=3,
            suggest_radius_m=5_000.0,
            placement=placement,
        ).suggestions
        assert [(s.voters, s.stations) for s in picked] == [(1_600, 1), (400, 1)]


def test_the_incident_counter_grows_with_the_feed_and_equals_a_count_at_once() -> None:
    from layers.core import growth

    stations = stations_with(
        [(LON, LAT), east_of(LON, LAT, 200_000)], [100, 400], ["North", "North"]
    )
    bases = bases_frame([{"id": "b", "radius_m": 5_000.0, "geometry": shapely.Point(LON, LAT)}])
    window = polling_window(DAY, "Africa/Lubumbashi")
    analysis = analyse(
        coverage.CoverageModel(stations), stations, bases, stations.iloc[0:0], window
    )
    now = pd.Timestamp("2026-10-11T12:00Z")

    def events(points: list[tuple[float, float]], hours_ago: list[float]) -> gpd.GeoDataFrame:
        frame = stations_at(points)
        frame["time"] = [now - pd.Timedelta(hours=h) for h in hours_ago]
        return frame

    first = events([east_of(LON, LAT, 203_000), east_of(LON, LAT, 205_000)], [1, 500])
    counter = IncidentCounter(analysis, 7 * 24)
    assert counter.count(first, now).stations["incidents_10km"].tolist()[1] == 1  # one too old
    added = events([east_of(LON, LAT, 201_000)], [0.5])
    grown = gpd.GeoDataFrame(pd.concat([first, added], ignore_index=True), crs="EPSG:4326")
    growth.grew(grown, first)
    at_once = analysis.counting(grown[grown["time"] > now - pd.Timedelta(days=7)])
    pd.testing.assert_series_equal(
        counter.count(grown, now).stations["incidents_10km"], at_once.stations["incidents_10km"]
    )
    assert counter.count(grown, now) is counter.count(grown, now)  # kept, not recounted
