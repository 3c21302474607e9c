"""Patrol bases: points or compounds, radius defaults, status, discs."""

from __future__ import annotations

import json

import numpy as np
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


def test_point_disc_is_geodesic() -> None:
    frame, _ = load_text(
        "patrols", "p.csv", "id,radius_m,status,lat,lon\nB1,12000,active,-6,12.4\n"
    )
    disc = patrols.derive(frame, Scene({}))["disc"][0]
    xy = shapely.get_coordinates(disc)
    _, _, d = GEOD.inv(np.full(len(xy), 12.4), np.full(len(xy), -6.0), xy[:, 0], xy[:, 1])
    assert np.allclose(d, 12_000, rtol=1e-9)


def test_bad_radius_and_status_are_reported() -> None:
    text = "id,radius_m,status,lat,lon\nB1,-5,active,6.3,-10.8\nB2,wide,sleeping,6.4,-10.7\n"
    frame, problems = load_text("patrols", "p.csv", text)
    assert frame["radius_m"].tolist() == [patrols.DEFAULT_RADIUS_M] * 2
    assert frame["status"].tolist() == ["active", "unknown"]  # not counted as active
    found = kinds(problems)
    assert found["out_of_range"] == 1 and found["not_a_number"] == 1
    assert found["unknown_value"] == 1
