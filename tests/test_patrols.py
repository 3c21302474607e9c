"""Patrol bases: points or compounds, radius defaults, status, discs."""

from __future__ import annotations

import json

import folium
import pyproj
import pytest
import shapely

from conftest import kinds, load_text
from layers import patrols
from layers.scene import Scene

GEOD = pyproj.Geod(ellps="WGS84")
COMPOUND = {
    "type": "Feature",
    "properties": {"name": "UN House", "id": "way/1"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[31.50, 4.80], [31.52, 4.80], [31.52, 4.82], [31.50, 4.82], [31.50, 4.80]]
        ],
    },
}


def test_compound_without_radius_takes_the_default_and_says_so() -> None:
    frame, problems = load_text(
        "patrols", "p.geojson", json.dumps({"type": "FeatureCollection", "features": [COMPOUND]})
    )
    assert frame["unit"][0] == "UN House" and frame["status"][0] == "active"
    assert frame["radius_m"][0] == patrols.DEFAULT_RADIUS_M
    assert kinds(problems)["default_used"] == 2  # radius_m and status


def test_disc_of_a_compound_is_its_edge_grown_by_the_radius() -> None:
    frame, _ = load_text(
        "patrols", "p.geojson", json.dumps({"type": "FeatureCollection", "features": [COMPOUND]})
    )
    frame["radius_m"] = 5_000.0
    disc = patrols.derive(frame, Scene({}))["disc"][0]
    assert disc.contains(frame.geometry[0])
    # Due east of the compound's east edge, the disc ends 5 km away.
    east_edge = disc.intersection(shapely.LineString([(31.52, 4.81), (31.7, 4.81)]))
    far_x = max(x for x, _ in east_edge.coords)
    assert GEOD.inv(31.52, 4.81, far_x, 4.81)[2] == pytest.approx(5_000, rel=2e-3)


def test_point_bases_leave_their_circle_to_the_map() -> None:
    frame, _ = load_text(
        "patrols", "p.csv", "id,radius_m,status,lat,lon\nB1,12000,active,-6,12.4\n"
    )
    derived = patrols.derive(frame, Scene({}))
    assert derived["disc"].isna().all() and derived["radius_km"].tolist() == [12.0]
    html = folium.Map().add_child(patrols.render(derived)).get_root().render()
    assert '"r": [12000.0]' in html  # centre and radius: the browser draws the circle


def test_bad_radius_and_status_are_reported() -> None:
    text = "id,radius_m,status,lat,lon\nB1,-5,active,6.3,-10.8\nB2,wide,sleeping,6.4,-10.7\n"
    frame, problems = load_text("patrols", "p.csv", text)
    assert frame["radius_m"].tolist() == [patrols.DEFAULT_RADIUS_M] * 2
    assert frame["status"].tolist() == ["active", "unknown"]  # not counted as active
    found = kinds(problems)
    assert found["out_of_range"] == 1 and found["not_a_number"] == 1
    assert found["unknown_value"] == 1
