"""Convoy routes: lines with their plan, from GeoJSON or WKT in CSV."""

from __future__ import annotations

import pandas as pd
import pyproj
import pytest

from conftest import kinds, load_text
from layers import convoy_routes
from layers.scene import Scene


def test_routes_from_csv_with_wkt_and_their_geodesic_length() -> None:
    text = (
        "route_id,convoy_id,cargo,origin,destination,departure,arrival,wkt\n"
        "R1,C1,ballots,Monrovia,Kakata,2026-10-11T06:00Z,2026-10-11T08:00Z,"
        '"LINESTRING (-10.80 6.31, -10.35 6.53)"\n'
        'R2,C2,results,Kakata,Monrovia,soon,2026-10-11T08:00Z,"LINESTRING (broken"\n'
    )
    frame, problems = load_text("convoy_routes", "r.csv", text)
    assert frame["planned_departure"][0] == pd.Timestamp("2026-10-11T06:00Z")
    assert frame.geometry.isna().tolist() == [False, True]
    assert kinds(problems)["invalid_geometry"] == 1 and kinds(problems)["bad_time"] == 1
    derived = convoy_routes.derive(frame, Scene({}))
    metres = pyproj.Geod(ellps="WGS84").inv(-10.80, 6.31, -10.35, 6.53)[2]
    assert derived["length_km"][0] == pytest.approx(metres / 1000, abs=0.1)


def test_duplicate_route_ids_are_reported() -> None:
    text = 'route_id,wkt\nR1,"LINESTRING (0 1, 1 1)"\nR1,"LINESTRING (0 2, 1 2)"\n'
    frame, problems = load_text("convoy_routes", "r.csv", text)
    assert len(frame) == 1 and kinds(problems)["duplicate_id"] == 1
