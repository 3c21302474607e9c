"""Real public files, read as a new user would: nothing edited by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import kinds, load_path
from layers.registry import REGISTRY
from layers.scene import Scene

pytestmark = pytest.mark.realdata


def test_kenya_commission_geojson(shared_data: Path) -> None:
    frame, problems = load_path(
        "polling_stations", shared_data / "kenya" / "polling_stations_2012.geojson"
    )
    found = kinds(problems)
    assert len(frame) == 26_447  # every row kept
    assert found["null_island"] == 10_051
    assert found["swapped"] == 1
    swapped = next(p for p in problems if p.kind == "swapped")
    assert "-0.346" in swapped.message and swapped.file == "polling_stations_2012.geojson"
    assert frame.geometry.notna().sum() == 26_447 - 10_051 - 1
    assert {"error"} == {p.level.value for p in problems if p.kind in ("null_island", "swapped")}
    # The DBF-truncated 'constituen' is still read as the second admin level.
    assert frame["admin2"].notna().all() and frame["admin1"].notna().all()
    located = frame[frame.geometry.notna()]
    assert located.total_bounds[0] > 33.5 and located.total_bounds[2] < 42.5


def test_kenya_raw_tsv_with_its_short_header(shared_data: Path) -> None:
    frame, problems = load_path(
        "polling_stations", shared_data / "kenya" / "polling_places_2012_raw.tsv"
    )
    found = kinds(problems)
    assert len(frame) == 26_460
    assert found["short_header"] == 1
    short = next(p for p in problems if p.kind == "short_header")
    assert "5 names but the rows have 6 fields" in short.message
    # Columns are not shifted: coordinates come from Latitude/Longitude, the unnamed
    # station-name field is kept under its own placeholder name.
    assert frame["column_4"][0] == "ATIAR PRIMARY SCHOOL"
    assert frame.geometry[0].x == pytest.approx(35.789758) and frame.geometry[0].y == pytest.approx(
        0.79837
    )
    assert found["null_island"] == 10_064 and found["swapped"] == 1
    assert frame.geometry.notna().sum() == 26_460 - 10_064 - 1


def test_ucdp_with_its_hxl_row_as_incidents(shared_data: Path) -> None:
    frame, problems = load_path("incidents", shared_data / "nigeria" / "ucdp_ged_events_hxl.csv")
    assert len(frame) == 4_603  # the HXL row is not an event
    assert frame.geometry.notna().all()
    assert frame["time"].notna().all()
    assert frame["time"].min() >= pd.Timestamp("1989-01-01T00:00Z")
    assert frame["time"].max() <= pd.Timestamp("2020-01-01T00:00Z")
    assert set(frame["type"]) <= {
        "State-based conflict",
        "Non-state conflict",
        "One-sided violence",
    }
    assert (
        frame["fatalities"].notna().all()
        and frame["severity"].isin(["low", "medium", "high", "critical"]).all()
    )
    assert frame["admin1"].str.endswith("state").mean() > 0.9
    xmin, ymin, xmax, ymax = frame.total_bounds
    assert 2 < xmin and xmax < 15 and 4 < ymin and ymax < 14.5  # Nigeria
    assert not [p for p in problems if p.level.value == "error"]


def test_osm_incidents_with_mixed_geometries(shared_data: Path) -> None:
    frame, problems = load_path("incidents", shared_data / "south_sudan" / "incidents_osm.geojson")
    assert len(frame) == 5 and frame.geometry.notna().all()
    assert frame["time"].notna().all()
    assert kinds(problems)["wrong_geometry_type"] == 3  # polygons/lines: centre used, reported


def test_un_compounds_as_patrol_bases_cover_from_their_edge(shared_data: Path) -> None:
    bases, problems = load_path(
        "patrols", shared_data / "south_sudan" / "military_sites_osm.geojson"
    )
    assert len(bases) == 84 and (bases.geom_type != "Point").all()
    derived = REGISTRY["patrols"].derive(bases, Scene({}))
    assert derived["disc"].notna().all()
    assert derived["disc"].contains(derived.geometry).all()
    roads, _ = load_path("convoy_routes", shared_data / "south_sudan" / "roads_closed_osm.geojson")
    assert len(roads) == 45 and set(roads.geom_type) <= {"LineString", "MultiLineString"}


def test_kenya_stations_covered_by_bases_at_county_centroids(shared_data: Path) -> None:
    stations, _ = load_path(
        "polling_stations", shared_data / "kenya" / "polling_stations_2012.geojson"
    )
    counties, _ = load_path("areas", shared_data / "kenya" / "counties_2012.geojson")
    assert len(counties) == 48
    bases = counties[["name"]].copy()
    bases = bases.set_geometry(counties.geometry.representative_point())
    bases["id"], bases["radius_m"], bases["status"] = bases["name"], 20_000.0, "active"
    no_shift = pd.Series(pd.NaT, index=bases.index, dtype="datetime64[ns, UTC]")
    bases["shift_start"] = bases["shift_end"] = no_shift
    scene = Scene({"patrols": bases})
    derived = REGISTRY["polling_stations"].derive(stations, scene)
    state = derived["coverage_state"].value_counts()
    assert state["unknown"] == 10_052  # (0,0) and the swapped one: unknown, not uncovered
    assert state["covered"] + state["uncovered"] == 26_447 - 10_052
    assert 0 < state["covered"] < state["covered"] + state["uncovered"]


def test_kenya_county_spellings_meet_the_county_polygons(shared_data: Path) -> None:
    from layers.analysis import areas as area_rule

    stations, _ = load_path(
        "polling_stations", shared_data / "kenya" / "polling_stations_2012.geojson"
    )
    counties, _ = load_path("areas", shared_data / "kenya" / "counties_2012.geojson")
    area, problems = area_rule.assign(stations, counties, "polling_stations")
    assert area.nunique() == 47  # Kenya's 47 counties, not 48 with a spelling twice
    assert "ELGEYO/MARAKWET" not in set(area)
    spelled = [p.message for p in problems if p.kind == "area_spelling"]
    assert spelled == [
        "'ELGEYO/MARAKWET' in polling_stations read as 'ELEGEYO-MARAKWET' of areas (the same "
        "name spelled otherwise)."
    ]
