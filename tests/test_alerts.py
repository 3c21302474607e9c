"""Stations at risk from recent serious incidents; nearest patrols to an incident."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from test_coverage import bases_frame

from layers import alerts, geodesy

NOW = pd.Timestamp("2026-10-11T12:00Z")
LON, LAT = 23.0, -4.0


def at(km_east: float) -> shapely.Point:
    x, y, _ = geodesy.GEOD.fwd(LON, LAT, 90, km_east * 1000)
    return shapely.Point(x, y)


def stations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["S0", "S10", "S30"], "name": ["A", "B", "C"], "area": ["N", "N", "S"]},
        geometry=[at(0), at(10), at(30)],
        crs="EPSG:4326",
    )


def incidents(rows: list[tuple[str, float, str, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "type": "Armed attack",
            "severity": [r[2] for r in rows],
            "time": [NOW - pd.Timedelta(hours=r[3]) for r in rows],
        },
        geometry=[at(r[1]) for r in rows],
        crs="EPSG:4326",
    )


def test_serious_recent_incidents_flag_nearby_stations() -> None:
    events = incidents(
        [
            ("near-high", 4.0, "high", 2),  # 4 km from S0, 6 km from S10
            ("near-low", 1.0, "low", 2),  # below the severity floor
            ("old-critical", 10.5, "critical", 30),  # older than 24 h
            ("crit", 11.0, "critical", 1),  # 1 km from S10
        ]
    )
    risk = alerts.stations_at_risk(stations(), events, NOW)
    assert set(risk["station_id"]) == {"S0", "S10"}
    s0 = risk[risk["station_id"] == "S0"]
    assert s0["incident_id"].tolist() == ["near-high"]
    assert s0["distance_km"].iloc[0] == pytest.approx(4.0, abs=0.01)
    s10 = risk[risk["station_id"] == "S10"]
    assert s10["incident_id"].tolist() == ["crit"]  # near-high is 6 km away: outside 5 km
    wider = alerts.stations_at_risk(stations(), events, NOW, within_m=7_000)
    s10 = wider[wider["station_id"] == "S10"]
    assert s10["incident_id"].tolist() == ["crit", "near-high"]  # nearest first
    assert (s10["incidents"] == 2).all()
    lower = alerts.stations_at_risk(stations(), events, NOW, min_severity="low")
    assert "near-low" in set(lower["incident_id"])
    longer = alerts.stations_at_risk(stations(), events, NOW, hours=48)
    assert "old-critical" in set(longer["incident_id"])


def test_nearest_active_patrols_nearest_first() -> None:
    bases = bases_frame(
        [
            {"id": "far", "unit": "F", "radius_m": 50_000.0, "geometry": at(20)},
            {"id": "near", "unit": "N", "radius_m": 2_000.0, "geometry": at(3)},
            {"id": "off", "unit": "O", "radius_m": 9_000.0, "geometry": at(1), "status": "standby"},
            {
                "id": "gone",
                "unit": "G",
                "radius_m": 9_000.0,
                "geometry": at(2),
                "shift_end": NOW - pd.Timedelta(hours=1),
            },
        ]
    )
    got = alerts.nearest_patrols(at(0), bases, NOW)
    assert got["id"].tolist() == ["near", "far"]  # standby and off-shift bases left out
    assert got["distance_km"].tolist() == pytest.approx([3.0, 20.0], abs=0.01)
    assert got["reaches"].tolist() == [False, True]


def test_arrivals_are_news_once_and_only_when_serious() -> None:
    first = incidents([("a", 1, "critical", 1), ("b", 2, "low", 1)])
    new, seen = alerts.arrivals(first, None)
    assert new.empty and seen == {"a", "b"}  # already there when the screen opened
    more = pd.concat([first, incidents([("c", 3, "high", 0), ("d", 4, "medium", 0)])])
    new, seen = alerts.arrivals(more, seen)
    assert new["id"].tolist() == ["c"] and seen == {"a", "b", "c", "d"}
    again, _ = alerts.arrivals(more, seen)
    assert again.empty  # never repeated on the next refresh


def test_at_risk_overlay_marks_the_stations_in_the_stations_own_dataset() -> None:
    from layers import mapping

    frame = stations()
    frame.loc[3] = ["S-none", "D", "S", None]  # no location: not in the map's points
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    events = incidents([("crit", 11.0, "critical", 1), ("high", 29.0, "high", 3)])
    summary = alerts.risk_summary(alerts.stations_at_risk(frame, events, NOW))
    overlay, details = alerts.at_risk_overlay(frame, summary)
    points = mapping.columnar(frame, ["id"])
    assert overlay["n"] == points["n"] == 3  # laid over the same located rows
    marked = [points["columns"]["id"][i] for i, s in enumerate(overlay["s"]) if s == 0]
    assert sorted(marked) == sorted(summary["station_id"]) == ["S10", "S30"]
    columns = details["columns"]
    assert columns["incidents"] == [None, 1, 1]
    assert columns["nearest"][1].startswith("Armed attack (critical, crit), 1.0")
    assert overlay["s"][0] == -1 and columns["nearest"][0] is None  # S0: not at risk
    far = incidents([("far", 500.0, "critical", 1)])  # no station within 5 km
    quiet, _ = alerts.at_risk_overlay(
        frame, alerts.risk_summary(alerts.stations_at_risk(frame, far, NOW))
    )
    assert quiet["s"] == [-1, -1, -1]  # nobody at risk: every point left out
