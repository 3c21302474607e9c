"""The shared validation every layer's load goes through: values, coordinates, geometry, ids."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import geojson, kinds, load_text, point
from layers.core.problems import Level
from layers.io.raw import FeedError
from layers.io.spec import ReadContext
from layers.io.values import parse_times

# A minimal valid CSV header and row for each point feed, to which the tests add bad rows.
POINT_FEEDS = {
    "polling_stations": ("id,name,latitude,longitude", "S{i},Station {i}"),
    "patrols": ("id,unit,radius_m,latitude,longitude", "B{i},Unit {i},5000"),
    "incidents": ("id,time,type,latitude,longitude", "I{i},2026-10-11T10:00:00Z,Riot"),
    "convoy_positions": ("convoy_id,time,latitude,longitude", "C{i},2026-10-11T10:00:00Z"),
}


def csv_feed(feed: str, coords: list[tuple[str, str]]) -> str:
    header, row = POINT_FEEDS[feed]
    lines = [header] + [f"{row.format(i=i)},{lat},{lon}" for i, (lat, lon) in enumerate(coords)]
    return "\n".join(lines) + "\n"


GOOD = [("6.3", "-10.8"), ("6.9", "-9.5"), ("7.3", "-8.7")] * 8  # 24 located rows


@pytest.mark.parametrize("feed", sorted(POINT_FEEDS))
@pytest.mark.parametrize(
    ("lat", "lon", "kind", "words"),
    [
        ("", "", "missing_coordinates", "the location is empty"),
        ("", "-10.8", "missing_coordinates", "the coordinate is empty"),
        ("abc", "-10.8", "not_a_number", "'abc' is not a number"),
        ("6.3", "-200", "out_of_range", "is not a latitude/longitude"),
        ("0", "0", "null_island", "(0, 0)"),
        ("0.0", "0.00", "null_island", "(0, 0)"),
        ("-10.8", "6.3", "swapped", "look swapped"),
        ("6.31", "6.31", "swapped", "look swapped"),
        ("-95", "6.3", "swapped", "look swapped"),
    ],
)
def test_bad_coordinates_are_reported_and_the_row_is_kept(
    feed: str, lat: str, lon: str, kind: str, words: str
) -> None:
    frame, problems = load_text(feed, f"{feed}.csv", csv_feed(feed, [*GOOD, (lat, lon)]))
    assert len(frame) == len(GOOD) + 1  # nothing dropped
    assert frame.geometry.notna().sum() == len(GOOD)  # only the bad location is left off
    bad = [p for p in problems if p.kind == kind]
    assert len(bad) >= 1, kinds(problems)
    assert bad[0].row == len(GOOD) + 2 and words in bad[0].message
    assert bad[0].column is not None and "latitude" in bad[0].column
    assert bad[0].fix


@pytest.mark.parametrize("feed", sorted(POINT_FEEDS))
def test_a_row_without_a_location_is_one_problem_not_one_per_column(feed: str) -> None:
    empty = [("", "")] * 3
    _, problems = load_text(feed, f"{feed}.csv", csv_feed(feed, [*GOOD, *empty]))
    missing = [p for p in problems if p.kind == "missing_coordinates"]
    assert [p.row for p in missing] == [len(GOOD) + 2, len(GOOD) + 3, len(GOOD) + 4]
    assert {p.column for p in missing} == {"latitude, longitude"}


@pytest.mark.parametrize("feed", sorted(POINT_FEEDS))
def test_missing_coordinate_columns_is_a_feed_error(feed: str) -> None:
    header, row = POINT_FEEDS[feed]
    text = header.replace(",latitude,longitude", "") + "\n" + row.format(i=1) + "\n"
    with pytest.raises(FeedError, match="no latitude/longitude columns") as err:
        load_text(feed, f"{feed}.csv", text)
    assert err.value.problem.kind == "missing_column"


@pytest.mark.parametrize(
    ("header", "lat", "lon"),
    [
        ("Lat,Lon", "6.3", "-10.8"),
        ("LATITUDE,LONGITUDE", "6.3", "-10.8"),
        ("y,x", "6.3", "-10.8"),
        ("lat,lng", "6.3", "-10.8"),
        ("Latitude ,Long", "6.3", "-10.8"),
    ],
)
def test_common_coordinate_names_in_any_case(header: str, lat: str, lon: str) -> None:
    frame, _ = load_text("polling_stations", "s.csv", f"id,{header}\nS1,{lat},{lon}\n")
    assert (frame.geometry.x[0], frame.geometry.y[0]) == (-10.8, 6.3)


def test_missing_required_column_names_it() -> None:
    with pytest.raises(FeedError, match="required column 'time' is missing") as err:
        load_text("incidents", "incidents.csv", "id,type,lat,lon\nI1,Riot,6.3,-10.8\n")
    assert err.value.problem.column == "time"


def test_duplicate_ids_keep_the_first_and_report_the_rest() -> None:
    text = "id,name,lat,lon\nS1,A,6.3,-10.8\nS2,B,6.4,-10.7\nS1,C,6.5,-10.6\n"
    frame, problems = load_text("polling_stations", "s.csv", text)
    assert frame["name"].tolist() == ["A", "B"]
    dup = [p for p in problems if p.kind == "duplicate_id"]
    assert len(dup) == 1 and dup[0].row == 4 and "already used at row 2" in dup[0].message


def test_unknown_status_is_reported_and_shown_as_unknown() -> None:
    text = "id,status,lat,lon\nS1,OPEN,6.3,-10.8\nS2,exploded,6.4,-10.7\nS3,,6.5,-10.6\n"
    frame, problems = load_text("polling_stations", "s.csv", text)
    assert frame["status"].tolist() == ["open", "unknown", "unknown"]
    bad = [p for p in problems if p.kind == "unknown_value"]
    assert (
        len(bad) == 1 and bad[0].row == 3 and "'exploded' is not a known status" in bad[0].message
    )
    assert "planned, open, closed, suspended, relocated" in bad[0].fix


def test_unknown_severity_is_reported() -> None:
    text = "id,time,severity,lat,lon\nI1,2026-10-11,HIGH,6.3,-10.8\nI2,2026-10-11,boom,6.4,-10.7\n"
    frame, problems = load_text("incidents", "i.csv", text)
    assert frame["severity"].tolist()[0] == "high"
    assert [p.row for p in problems if p.kind == "unknown_value"] == [3]


def test_non_numeric_and_out_of_range_values() -> None:
    text = "id,registered_voters,lat,lon\nS1,1200,6.3,-10.8\nS2,many,6.4,-10.7\nS3,-5,6.5,-10.6\n"
    frame, problems = load_text("polling_stations", "s.csv", text)
    assert frame["registered_voters"].tolist()[0] == 1200
    assert frame["registered_voters"].isna().tolist() == [False, True, True]
    assert kinds(problems)["not_a_number"] == 1 and kinds(problems)["out_of_range"] == 1


def test_unparseable_times_are_reported_with_row_and_column() -> None:
    text = "id,time,lat,lon\nI1,2026-10-11T10:00:00Z,6.3,-10.8\nI2,yesterday,6.4,-10.7\n"
    frame, problems = load_text("incidents", "i.csv", text)
    assert len(frame) == 2 and pd.isna(frame["time"][1])
    bad = [p for p in problems if p.kind == "bad_time"]
    assert (bad[0].row, bad[0].column) == (3, "time") and "'yesterday' is not a time" in bad[
        0
    ].message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-12-31", "2020-12-31T00:00:00Z"),
        ("31 December 2020", "2020-12-31T00:00:00Z"),
        ("31/12/2020", "2020-12-31T00:00:00Z"),
        ("2026-10-11T14:05:00Z", "2026-10-11T14:05:00Z"),
        ("2026-10-11T14:05:00+01:00", "2026-10-11T13:05:00Z"),
        ("2026-10-11 14:05", "2026-10-11T14:05:00Z"),
        ("2009-06-09 00:00:00.000", "2009-06-09T00:00:00Z"),
    ],
)
def test_time_styles(text: str, expected: str) -> None:
    parsed = parse_times(pd.Series([text], dtype=object))
    assert parsed[0] == pd.Timestamp(expected)


def test_naive_times_are_read_in_the_configured_zone() -> None:
    parsed = parse_times(
        pd.Series(["2026-10-11 14:05", "2026-10-11T14:05:00Z"], dtype=object), "Africa/Nairobi"
    )
    assert parsed.tolist() == [pd.Timestamp("2026-10-11T11:05Z"), pd.Timestamp("2026-10-11T14:05Z")]


def test_scenario_time_shift_moves_every_time() -> None:
    ctx = ReadContext(time_shift=pd.Timedelta(days=2))
    frame, _ = load_text(
        "incidents", "i.csv", "id,time,lat,lon\nI1,2026-10-11T10:00Z,6.3,-10.8\n", ctx
    )
    assert frame["time"][0] == pd.Timestamp("2026-10-13T10:00Z")


def test_wrong_geometry_type_for_a_feed() -> None:
    line = {
        "type": "Feature",
        "properties": {"id": "S2"},
        "geometry": {"type": "LineString", "coordinates": [[-10.8, 6.3], [-10.7, 6.4]]},
    }
    frame, problems = load_text(
        "convoy_routes", "r.geojson", geojson([point(-10.8, 6.3, route_id="R1"), line])
    )
    assert len(frame) == 2 and frame.geometry.isna().tolist() == [True, False]
    bad = [p for p in problems if p.kind == "wrong_geometry_type"]
    assert bad[0].row == 1 and "a Point where this feed takes LineString" in bad[0].message


def test_polygon_in_a_point_feed_uses_its_centre_with_a_warning() -> None:
    square = {
        "type": "Feature",
        "properties": {"id": "I1", "time": "2026-10-11"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[0.1, 1], [0.3, 1], [0.3, 1.2], [0.1, 1.2], [0.1, 1]]],
        },
    }
    frame, problems = load_text("incidents", "i.geojson", geojson([square]))
    assert frame.geometry[0].x == pytest.approx(0.2) and frame.geometry[0].y == pytest.approx(1.1)
    assert [p.level for p in problems if p.kind == "wrong_geometry_type"] == [Level.WARNING]


def test_invalid_geometry_is_repaired_and_reported() -> None:
    bowtie = {
        "type": "Feature",
        "properties": {"name": "Bow"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
    }
    frame, problems = load_text("areas", "areas.geojson", geojson([bowtie]))
    assert frame.geometry[0].is_valid and frame.geometry[0].area == pytest.approx(0.5)
    bad = [p for p in problems if p.kind == "invalid_geometry"]
    assert bad[0].row == 1 and "Self-intersection" in bad[0].message


def test_unreadable_geometry_is_reported_and_the_row_kept() -> None:
    broken = {
        "type": "Feature",
        "properties": {"id": "S2"},
        "geometry": {"type": "Polygon", "coordinates": "nonsense"},
    }
    frame, problems = load_text(
        "patrols", "p.geojson", geojson([point(-10.8, 6.3, id="B1"), broken])
    )
    assert len(frame) == 2 and frame.geometry.isna().tolist() == [False, True]
    assert [p.row for p in problems if p.kind == "invalid_geometry"] == [2]


def test_html_in_text_fields_is_kept_as_text() -> None:
    text = 'id,name,lat,lon\nS1,"<img src=x onerror=alert(1)>",6.3,-10.8\n'
    frame, _ = load_text("polling_stations", "s.csv", text)
    assert frame["name"][0] == "<img src=x onerror=alert(1)>"
