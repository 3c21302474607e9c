"""Convoy pings: the latest position of each convoy and its state."""

from __future__ import annotations

import json

import pandas as pd

from conftest import kinds, load_text
from layers import convoy_positions
from layers.scene import Scene

NOW = pd.Timestamp("2026-10-11T12:00Z")
ROUTES = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "route_id": f"R{c}",
                    "convoy_id": f"C{c}",
                    "destination": "Kakata",
                    "planned_departure": dep,
                    "planned_arrival": arr,
                },
                "geometry": {"type": "LineString", "coordinates": [[-10.80, 6.31], [-10.35, 6.53]]},
            }
            for c, dep, arr in [
                (1, "2026-10-11T11:00Z", "2026-10-11T13:00Z"),
                (2, "2026-10-11T09:00Z", "2026-10-11T11:00Z"),
                (3, "2026-10-11T08:00Z", "2026-10-11T10:00Z"),
                (4, "2026-10-11T14:00Z", "2026-10-11T16:00Z"),
            ]
        ],
    }
)
PINGS = """convoy_id,time,latitude,longitude
C1,2026-10-11T11:30Z,6.40,-10.60
C1,2026-10-11T11:55Z,6.45,-10.50
C1,2026-10-11T11:10Z,6.33,-10.75
C2,2026-10-11T11:20Z,6.45,-10.50
C3,2026-10-11T09:50Z,6.5301,-10.3502
C4,2026-10-11T11:59Z,6.31,-10.80
C5,2026-10-11T11:59Z,,
"""


def scene() -> tuple[Scene, object]:
    routes, _ = load_text("convoy_routes", "r.geojson", ROUTES)
    pings, problems = load_text("convoy_positions", "p.csv", PINGS)
    return Scene({"convoy_routes": routes, "convoy_positions": pings}, now=NOW), problems


def test_latest_position_is_the_most_recent_ping_not_the_last_row() -> None:
    s, _ = scene()
    latest = convoy_positions.latest(s["convoy_positions"]).set_index("convoy_id")
    assert latest.loc["C1", "time"] == pd.Timestamp("2026-10-11T11:55Z")
    assert "C5" not in latest.index  # no location: reported, not drawn


def test_states() -> None:
    s, problems = scene()
    derived = convoy_positions.derive(s["convoy_positions"], s).set_index("convoy_id")
    assert derived["state"].to_dict() == {
        "C1": "en route",
        "C2": "delayed",
        "C3": "arrived",
        "C4": "scheduled",
    }
    assert derived.loc["C2", "stale"] and not derived.loc["C1", "stale"]
    assert derived.loc["C1", "ping_age_min"] == 5
    assert kinds(problems)["missing_coordinates"] >= 1


def test_pings_need_a_convoy_and_a_time() -> None:
    try:
        load_text("convoy_positions", "p.csv", "time,lat,lon\n2026-10-11,6.3,-10.8\n")
    except Exception as err:  # noqa: BLE001 - asserting the type below
        assert type(err).__name__ == "FeedError" and "convoy_id" in str(err)
    else:
        raise AssertionError("a feed without convoy ids must fail")
