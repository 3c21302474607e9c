"""Polling stations: loading real-world shapes of the feed, and coverage state."""

from __future__ import annotations

import pandas as pd
import pyproj

from conftest import geojson, kinds, load_text, point
from layers import patrols, polling_stations
from layers.io.spec import empty_frame
from layers.scene import Scene


def test_geojson_stations_without_ids_are_numbered_and_keep_every_property() -> None:
    frame, problems = load_text(
        "polling_stations",
        "s.geojson",
        geojson(
            [
                point(-10.8, 6.3, name="A", county="Bomi", voters="350", extra="kept"),
                point(0, 0, name="B", county="Bong"),
            ]
        ),
    )
    assert frame["id"].tolist() == ["row-1", "row-2"]
    assert frame["admin1"].tolist() == ["Bomi", "Bong"]
    assert frame["registered_voters"].tolist()[0] == 350
    assert frame["extra"].tolist()[0] == "kept"
    assert kinds(problems)["null_island"] == 1


def test_status_synonyms_and_booleans() -> None:
    text = (
        "id,status,materials_delivered,staff_trained,lat,lon\n"
        "S1,Opened,yes,1,6.3,-10.8\nS2,postponed,no,maybe,6.4,-10.7\n"
    )
    frame, problems = load_text("polling_stations", "s.csv", text)
    assert frame["status"].tolist() == ["open", "suspended"]
    assert frame["materials_delivered"].tolist() == [True, False]
    assert frame["staff_trained"].isna().tolist() == [False, True]
    assert [p.row for p in problems if p.kind == "unknown_value"] == [3]


def test_derive_marks_covered_uncovered_and_unknown() -> None:
    stations, _ = load_text(
        "polling_stations", "s.csv", "id,lat,lon\nnear,6.30,-10.80\nfar,7.50,-9.00\nnowhere,,\n"
    )
    bases, _ = load_text("patrols", "p.csv", "id,radius_m,lat,lon\nB1,5000,6.31,-10.80\n")
    scene = Scene(
        {"patrols": bases, "polling_stations": stations}, now=pd.Timestamp("2026-10-11T12:00Z")
    )
    derived = polling_stations.derive(stations, scene)
    assert derived["coverage_state"].tolist() == ["covered", "uncovered", "unknown"]
    assert derived["nearest_base"].tolist()[:2] == ["B1", "B1"]
    metres = pyproj.Geod(ellps="WGS84").inv(-10.8, 6.31, -10.8, 6.30)[2]
    assert derived["nearest_base_km"][0] == round(metres / 1000, 2)
    assert "coverage_state" not in stations


def test_no_patrol_feed_leaves_every_station_uncovered_with_no_nearest_base() -> None:
    stations, _ = load_text("polling_stations", "s.csv", "id,lat,lon\nS1,6.3,-10.8\n")
    scene = Scene({"patrols": empty_frame(patrols.SPEC), "polling_stations": stations})
    derived = polling_stations.derive(stations, scene)
    assert derived["coverage_state"].tolist() == ["uncovered"]
    assert derived["nearest_base"].isna().all()


def test_the_popup_lists_only_the_fields_the_frame_has(derived) -> None:  # type: ignore[no-untyped-def]
    import folium

    from layers.access.policy import restrict_frame
    from layers.access.roles import Role

    def popup_of(frame) -> str:  # type: ignore[no-untyped-def]
        m = folium.Map()
        polling_stations.render(frame, source="/stations.json").add_to(m)
        return m.get_root().render()

    whole = derived["polling_stations"]
    assert "Nearest patrol" in popup_of(whole)
    commission = restrict_frame(whole, "polling_stations", Role.COMMISSION)
    assert "Nearest patrol" not in popup_of(commission) and "Coverage" in popup_of(commission)
    partner = restrict_frame(whole, "polling_stations", Role.PARTNER)
    assert '"Coverage"' not in popup_of(partner) and "Registered voters" in popup_of(partner)
