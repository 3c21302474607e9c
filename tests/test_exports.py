"""Downloads: spreadsheets never run a cell as a formula; GeoJSON carries the rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from layers.core.settings import Settings
from layers.polling_stations import SPEC
from layers.scene import SceneLoader
from layers.views import exports

HOSTILE = ['=HYPERLINK("http://x","click")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [*HOSTILE, "Plain School"], "voters": [-5, 1, 2, 3, 4, 5, 6], "=cmd": ["a"] * 7},
        geometry=[shapely.Point(10 + i, 1) for i in range(7)],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_starts_are_neutralised(text: str) -> None:
    assert exports.neutralise(text) == "'" + text
    assert exports.neutralise("Plain") == "Plain" and exports.neutralise(-5) == -5


def test_csv_cells_and_headers_cannot_run_and_numbers_stay_numbers() -> None:
    data = exports.safe_csv(frame())
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r["name"] for r in rows[:6]] == ["'" + h for h in HOSTILE]
    assert rows[6]["name"] == "Plain School"
    assert rows[0]["voters"] == "-5"  # a number, not text: left alone
    assert "'=cmd" in rows[0] and rows[0]["latitude"] == "1.0" and rows[1]["longitude"] == "11.0"
    for row in rows:
        for value in row.values():
            assert not value.startswith(exports.FORMULA_START) or value.lstrip("-").isdigit()


def test_geojson_carries_every_located_row() -> None:
    f = frame()
    f.loc[6, "geometry"] = None
    doc = json.loads(exports.geojson(f))
    assert len(doc["features"]) == 6
    assert doc["features"][0]["properties"]["name"] == HOSTILE[0]
    assert doc["features"][1]["geometry"] == {"type": "Point", "coordinates": [11.0, 1.0]}


def test_numbers_are_rounded_for_people() -> None:
    frame = gpd.GeoDataFrame(
        {
            "voters_covered_pct": [58.57476891600599],
            "distance_km": [3.14159265],
            "registered_voters": [1200],
        },
        geometry=[shapely.Point(-10.123456789, 6.987654321)],
        crs="EPSG:4326",
    )
    row = next(csv.DictReader(io.StringIO(exports.safe_csv(frame).decode("utf-8-sig"))))
    assert row["voters_covered_pct"] == "58.6" and row["distance_km"] == "3.14"
    assert row["registered_voters"] == "1200"
    assert row["latitude"] == "6.987654" and row["longitude"] == "-10.123457"
    feature = json.loads(exports.geojson(frame))["features"][0]
    assert feature["properties"]["voters_covered_pct"] == 58.6
    assert feature["geometry"]["coordinates"] == [-10.123457, 6.987654]


def test_hxl_csv_tags_each_column_as_the_reader_accepts_it(
    sample_folder: Path, tmp_path: Path
) -> None:
    """An HXL-tagged export reads back as the same feed: each tag is the one our reader
    accepts for its field (the field's ``#`` alias), coordinates #geo+lat/#geo+lon."""
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(sample_folder)})
    stations = SceneLoader(settings).load()["polling_stations"]
    stations = stations.assign(name='=HYPERLINK("http://x")')
    text = exports.safe_csv(stations, exports.hxl_tags(SPEC)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    tagged = dict(zip(rows[0], rows[1], strict=True))
    assert tagged["id"] == "#loc+code" and tagged["name"] == "#loc+name"
    assert tagged["latitude"] == "#geo+lat" and tagged["longitude"] == "#geo+lon"
    assert tagged["source_row"] == ""
    assert rows[2][rows[0].index("name")].startswith("'=")  # still neutralised
    (tmp_path / "polling_stations.csv").write_text(text, encoding="utf-8")
    back = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)})).load()
    assert back["polling_stations"]["id"].tolist() == stations["id"].tolist()
    assert not back.versions["polling_stations"].problems
