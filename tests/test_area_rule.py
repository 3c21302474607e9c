"""One rule for a row's area (layers/analysis/areas.py), the same on every page."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from conftest import ROOT, geojson
from layers.analysis import areas as area_rule
from layers.io.files import write_atomic

LOFA = [[-10.0, 7.5], [-9.0, 7.5], [-9.0, 8.5], [-10.0, 8.5], [-10.0, 7.5]]
BONG = [[-10.0, 6.5], [-9.0, 6.5], [-9.0, 7.5], [-10.0, 7.5], [-10.0, 6.5]]


def polygons() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Lofa", "Bong"]},
        geometry=[shapely.Polygon(LOFA), shapely.Polygon(BONG)],
        crs="EPSG:4326",
    )


def rows(*items: tuple[str | None, float | None, float | None]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "admin1": [a for a, _, _ in items],
            "source_row": list(range(2, len(items) + 2)),
        },
        geometry=[None if x is None else shapely.Point(x, y) for _, x, y in items],
        crs="EPSG:4326",
    )


def test_own_area_first_folded_to_the_polygons_spelling_then_the_polygon() -> None:
    frame = rows(
        ("Bong", -9.5, 8.0),  # inside Lofa, says Bong: Bong, reported
        ("LOFA", -9.5, 8.0),  # case only: Lofa, not reported
        (" lofa ", None, None),  # no location: its own area, spelled as the polygon
        (None, -9.5, 7.0),  # no own area: the polygon
        (None, -20.0, 0.0),  # neither
        ("Nimba", -9.5, 7.0),  # an area without a polygon, inside Bong
    )
    area, problems = area_rule.assign(frame, polygons(), "polling_stations", "stations.csv")
    assert area.tolist() == ["Bong", "Lofa", "Lofa", "Bong", area_rule.NO_AREA, "Nimba"]
    assert [(p.row, p.kind, p.column) for p in problems] == [
        (2, "area_mismatch", "admin1"),
        (7, "area_mismatch", "admin1"),
    ]
    assert "'Bong'" in problems[0].message and "'Lofa'" in problems[0].message


def test_without_polygons_the_commonest_spelling_names_the_area() -> None:
    frame = rows(("Lofa", None, None), ("LOFA", None, None), ("Lofa", None, None))
    area, problems = area_rule.assign(frame, polygons().iloc[0:0], "incidents")
    assert area.tolist() == ["Lofa"] * 3 and not problems


STATIONS = (
    "id,name,admin1,registered_voters,latitude,longitude\n"
    "S1,Inside Lofa says Bong,Bong,100,8.0,-9.5\n"
    "S2,Inside Lofa upper case,LOFA,200,8.1,-9.4\n"
    "S3,Inside Bong,Bong,300,7.0,-9.5\n"
)
BASES = geojson(
    [
        {
            "type": "Feature",
            "properties": {"id": "B1", "unit": "U", "radius_m": 5000, "status": "active"},
            "geometry": {"type": "Point", "coordinates": [-9.5, 7.0]},
        }
    ]
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_atomic(tmp_path / "polling_stations.csv", STATIONS)
    write_atomic(tmp_path / "patrols.geojson", BASES)
    areas = geojson(
        [
            {
                "type": "Feature",
                "properties": {"name": n},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            for n, ring in (("Lofa", LOFA), ("Bong", BONG))
        ]
    )
    write_atomic(tmp_path / "areas.geojson", areas)
    return tmp_path


def test_a_station_is_in_the_same_area_on_every_page(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    operations = AppTest.from_file(str(ROOT / "dashboard" / "operations.py"), default_timeout=60)
    operations.run()
    assert not operations.exception
    assert operations.multiselect(key="filter_areas").options == ["Bong", "Lofa"]
    operations.multiselect(key="filter_areas").set_value(["Bong"]).run()
    assert next(m.value for m in operations.metric if m.label == "Polling stations") == "2"
    coverage = AppTest.from_file(str(ROOT / "dashboard" / "coverage.py"), default_timeout=60)
    coverage.run()
    assert not coverage.exception
    table = next(d.value for d in coverage.dataframe if "voters_covered_pct" in d.value.columns)
    assert table.set_index("area")["stations"].to_dict() == {"Bong": 2, "Lofa": 1}
    problems = next(d.value for d in coverage.dataframe if "kind" in d.value.columns)
    mismatch = problems[problems["kind"] == "area_mismatch"]
    assert mismatch["row"].tolist() == [2]  # reported once, for S1 only
    status = next(d.value for d in coverage.dataframe if "notices" in d.value.columns)
    assert status.set_index("feed").loc["Polling stations", "problems"] == 1


def test_spelling_variants_are_one_area_reported_once() -> None:
    areas = gpd.GeoDataFrame(
        {"name": ["ELEGEYO-MARAKWET", "Kisumu", "Kisii", "Grand Cape Mount", "Rivière-Pilote"]},
        geometry=[shapely.box(i, 0, i + 0.9, 1) for i in range(5)],
        crs="EPSG:4326",
    )
    frame = rows(
        ("ELGEYO/MARAKWET", 0.5, 0.5),
        ("Elgeyo Marakwet", 0.5, 0.5),
        ("KISUMU COUNTY", 1.5, 0.5),
        ("Kisi", 2.5, 0.5),  # as like Kisii as Kisumu is not: read as Kisii
        ("Grand Cape-Mount", 3.5, 0.5),
        ("riviere pilote", 4.5, 0.5),
        ("Nyeri", None, None),  # no polygon is like it: kept as written
    )
    area, problems = area_rule.assign(frame, areas, "polling_stations", "ps.csv")
    assert list(area) == [
        "ELEGEYO-MARAKWET",
        "ELEGEYO-MARAKWET",
        "Kisumu",
        "Kisii",
        "Grand Cape Mount",
        "Rivière-Pilote",
        "Nyeri",
    ]
    spelled = [p for p in problems if p.kind == "area_spelling"]
    assert [p.message for p in spelled] == [
        "'ELGEYO/MARAKWET' in polling_stations read as 'ELEGEYO-MARAKWET' of areas (the same "
        "name spelled otherwise).",
        "'Kisi' in polling_stations read as 'Kisii' of areas (the same name spelled otherwise).",
    ]
    assert not [p for p in problems if p.kind == "area_mismatch"]  # same area, not a mismatch


def test_different_areas_are_never_read_as_one() -> None:
    areas = gpd.GeoDataFrame(
        {"name": ["Kisumu", "Kisii", "Nyamira", "Migori"]},
        geometry=[shapely.box(i, 0, i + 0.9, 1) for i in range(4)],
        crs="EPSG:4326",
    )
    frame = rows(("Nyandarua", None, None), ("Kitui", None, None), ("Meru", None, None))
    area, problems = area_rule.assign(frame, areas, "polling_stations")
    assert list(area) == ["Nyandarua", "Kitui", "Meru"]
    assert not problems


def test_a_p_code_is_read_as_its_area() -> None:
    areas = polygons().assign(code=["LR08", "LR01"])
    frame = rows(("LR08", None, None), ("lr01", None, None), ("Lofa", None, None))
    area, problems = area_rule.assign(frame, areas, "incidents")
    assert list(area) == ["Lofa", "Bong", "Lofa"]
    assert not problems
