"""Stations at risk from recent serious incidents; nearest patrols to an incident."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from test_coverage import bases_frame

from layers.analysis.response import arrivals, nearest_patrols
from layers.analysis.risk import Risk
from layers.geo import geodesy
from layers.map.payload import columnar

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
    risk = Risk.find(stations(), events, NOW).pairs()
    assert set(risk["station_id"]) == {"S0", "S10"}
    s0 = risk[risk["station_id"] == "S0"]
    assert s0["incident_id"].tolist() == ["near-high"]
    assert s0["distance_km"].iloc[0] == pytest.approx(4.0, abs=0.01)
    s10 = risk[risk["station_id"] == "S10"]
    assert s10["incident_id"].tolist() == ["crit"]  # near-high is 6 km away: outside 5 km
    wider = Risk.find(stations(), events, NOW, within_m=7_000).pairs()
    s10 = wider[wider["station_id"] == "S10"]
    assert s10["incident_id"].tolist() == ["crit", "near-high"]  # nearest first
    assert (s10["incidents"] == 2).all()
    lower = Risk.find(stations(), events, NOW, min_severity="low").pairs()
    assert "near-low" in set(lower["incident_id"])
    longer = Risk.find(stations(), events, NOW, hours=48).pairs()
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
    got = nearest_patrols(at(0), bases, NOW)
    assert got["id"].tolist() == ["near", "far"]  # standby and off-shift bases left out
    assert got["distance_km"].tolist() == pytest.approx([3.0, 20.0], abs=0.01)
    assert got["reaches"].tolist() == [False, True]


def test_arrivals_are_news_once_and_only_when_serious() -> None:
    first = incidents([("a", 1, "critical", 1), ("b", 2, "low", 1)])
    new, seen = arrivals(first, None)
    assert new.empty and seen == {"a", "b"}  # already there when the screen opened
    more = pd.concat([first, incidents([("c", 3, "high", 0), ("d", 4, "medium", 0)])])
    new, seen = arrivals(more, seen)
    assert new["id"].tolist() == ["c"] and seen == {"a", "b", "c", "d"}
    again, _ = arrivals(more, seen)
    assert again.empty  # never repeated on the next refresh


def test_at_risk_overlay_marks_the_stations_in_the_stations_own_dataset() -> None:

    frame = stations()
    frame.loc[3] = ["S-none", "D", "S", None]  # no location: not in the map's points
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    events = incidents([("crit", 11.0, "critical", 1), ("high", 29.0, "high", 3)])
    risk = Risk.find(frame, events, NOW)
    overlay, details = risk.overlay
    points = columnar(frame, ["id"])
    assert overlay["n"] == points["n"] == 3  # laid over the same located rows
    marked = [points["columns"]["id"][i] for i, s in enumerate(overlay["s"]) if s == 0]
    assert sorted(marked) == sorted(risk.summary()["station_id"]) == ["S10", "S30"]
    columns = details["columns"]
    assert columns["incidents"] == [None, 1, 1]
    assert columns["nearest"][1] == "Armed attack (critical, crit)"
    assert columns["nearest_km"][1] == pytest.approx(1.0, abs=0.01)
    assert overlay["s"][0] == -1 and columns["nearest"][0] is None  # S0: not at risk
    far = incidents([("far", 500.0, "critical", 1)])  # no station within 5 km
    quiet, _ = Risk.find(frame, far, NOW).overlay
    assert quiet["s"] == [-1, -1, -1]  # nobody at risk: every point left out


def test_summary_most_incidents_first_then_nearest_and_per_station_pairs() -> None:
    events = incidents(
        [
            ("a", 9.0, "high", 1),  # 1 km from S10
            ("b", 12.0, "critical", 2),  # 2 km from S10
            ("c", 27.0, "high", 3),  # 3 km from S30
            ("d", 0.5, "critical", 1),  # 0.5 km from S0
        ]
    )
    risk = Risk.find(stations(), events, NOW)
    summary = risk.summary()
    assert summary["station_id"].tolist() == ["S10", "S0", "S30"]
    assert summary["incidents"].tolist() == [2, 1, 1]
    assert summary["nearest_incident"].tolist()[0] == "Armed attack (high, a)"
    assert summary["nearest_km"].tolist() == pytest.approx([1.0, 0.5, 3.0], abs=0.01)
    near = risk.pairs(risk.station("S10"))
    assert near["incident_id"].tolist() == ["a", "b"]  # nearest first
    assert risk.station("S-unknown") is None
    assert risk.recent()["id"].tolist() == ["a", "d", "b", "c"]  # newest first
    assert risk.recent(2)["id"].tolist() == ["a", "d"]
    south = stations().iloc[[2]]  # the filters left S30 only
    assert risk.summary(among=south)["station_id"].tolist() == ["S30"]
    assert risk.count() == 3 and risk.count(among=south) == 1
    pd.testing.assert_frame_equal(risk.summary(limit=2), summary.head(2))


def test_equally_near_incidents_name_the_first_row_however_the_feed_grew() -> None:
    from layers.core import growth

    first = incidents([("a", 1.0, "high", 1), ("b", 1.0, "critical", 2)])  # same place
    risk = Risk.find(stations(), first, NOW)
    assert risk.summary()["nearest_incident"].iloc[0] == "Armed attack (high, a)"
    assert "per_station" in risk.__dict__  # known: growing updates it, not counting anew
    more = gpd.GeoDataFrame(
        pd.concat([first, incidents([("c", 1.0, "critical", 0.5)])], ignore_index=True),
        crs="EPSG:4326",
    )
    growth.grew(more, first)
    grown = risk.grown(more)
    assert "per_station" in grown.__dict__
    fresh = Risk.find(stations(), more, NOW)
    pd.testing.assert_frame_equal(grown.summary(), fresh.summary())
    assert grown.summary()["nearest_incident"].iloc[0] == "Armed attack (high, a)"
    assert grown.summary()["incidents"].iloc[0] == 3


def test_a_grown_risk_searches_new_incidents_only_and_equals_a_fresh_search() -> None:
    from layers.core import growth

    first = incidents([("a", 9.0, "high", 1), ("b", 12.0, "low", 2)])
    risk = Risk.find(stations(), first, NOW)
    added = incidents([("c", 27.0, "critical", 0.5), ("d", 100.0, "high", 0.5)])
    more = gpd.GeoDataFrame(pd.concat([first, added], ignore_index=True), crs="EPSG:4326")
    growth.grew(more, first)
    grown = risk.grown(more)
    assert grown.events is more and risk.grown(first) is risk
    assert grown.comparable(risk) and risk.comparable(risk) and not risk.comparable(grown)
    fresh = Risk.find(stations(), more, NOW)
    pd.testing.assert_frame_equal(grown.pairs(), fresh.pairs())
    pd.testing.assert_frame_equal(grown.summary(), fresh.summary())
    assert grown.overlay == fresh.overlay
    assert set(grown.pairs()["incident_id"]) == {"a", "c"}
    other = incidents([("z", 30.0, "critical", 1)])  # not grown from `first`: searched anew
    assert not risk.grown(other).comparable(risk)
    assert risk.changes(Risk.find(stations(), other, NOW)) is None
    assert Risk.find(stations(), first, NOW).grown(other).pairs()["incident_id"].tolist() == ["z"]


def test_a_risk_moved_in_time_equals_one_found_then_and_tells_what_changed() -> None:
    from test_appended import patched

    events = incidents(
        [
            ("old", 1.0, "high", 23.5),  # near S0; leaves the 24 h window within the hour
            ("mid", 12.0, "critical", 5),
            ("soon", 29.0, "high", -0.5),  # reported for 30 min from now: enters later
        ]
    )
    risk = Risk.find(stations(), events, NOW)
    assert set(risk.pairs()["incident_id"]) == {"old", "mid"}
    later = NOW + pd.Timedelta(hours=1)
    moved = risk.moved(later)
    fresh = Risk.find(stations(), events, later)
    pd.testing.assert_frame_equal(moved.summary(), fresh.summary())
    assert moved.overlay == fresh.overlay
    assert set(moved.pairs()["incident_id"]) == {"mid", "soon"}
    assert moved.comparable(risk) and risk.moved(NOW) is risk
    change = moved.changes(risk)
    assert change is not None
    for base_part, part, whole in zip(risk.overlay, change, fresh.overlay, strict=True):
        assert patched(base_part, part) == whole
    gone = dict(zip(change[0]["at"], change[0]["s"], strict=True))
    assert -1 in gone.values() and 0 in gone.values()  # one station left, one came
