"""Downloads: spreadsheets never run a cell as a formula; GeoJSON carries the rows."""

from __future__ import annotations

import csv
import io
import json

import geopandas as gpd
import pytest
import shapely

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
