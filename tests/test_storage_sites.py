"""Storage sites: points or outlines, stock against capacity, status, and who sees them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from conftest import kinds, load_path, load_text
from layers import storage_sites
from layers.access.policy import restrict_frame, shown_feeds
from layers.access.roles import Role
from layers.scene import Scene

CSV = (
    "site_id,facility,kind,county,capacity,stock,sensitive,guarded_by,status,latitude,longitude\n"
    "W1,Gbarnga store,store,Bong,400,366,178,Alpha,secured,6.99,-9.47\n"
    "W2,Voinjama magazine,magazine,Lofa,300,450,10,Bravo,looted,8.42,-9.75\n"
    "W3,No place,warehouse,Lofa,100,10,0,Bravo,open,,\n"
    "W4,<b>Zwedru</b> <img src=x onerror=alert(1)>,compound,Grand Gedeh,0,5,1,C,shut,6.07,-8.13\n"
)


def test_aliases_synonyms_and_a_stock_over_capacity_are_read_and_reported() -> None:
    frame, problems = load_text("storage_sites", "storage_sites.csv", CSV)
    assert frame["id"].tolist() == ["W1", "W2", "W3", "W4"]  # every row kept
    assert frame["kind"].tolist() == ["warehouse", "county_magazine", "warehouse", "compound"]
    assert frame["status"].tolist() == ["open", "compromised", "open", "closed"]
    assert frame["ballot_kits"].tolist() == [366, 450, 10, 5]
    over = [p for p in problems if p.kind == "over_capacity"]
    assert [(p.row, p.column) for p in over] == [(3, "ballot_kits"), (5, "ballot_kits")]
    assert "450 ballot kits in a site that holds 300" in over[0].message
    assert over[0].fix  # says what to do
    assert kinds(problems)["missing_coordinates"] == 1  # W3: kept, reported, not drawn
    assert frame["name"][3] == "<b>Zwedru</b> <img src=x onerror=alert(1)>"  # text as sent


def test_stock_share_and_the_map_parts() -> None:
    frame, _ = load_text("storage_sites", "storage_sites.csv", CSV)
    derived = storage_sites.derive(frame, Scene({}))
    assert derived["stock_pct"].tolist()[:3] == [92.0, 150.0, 10.0]
    assert np.isnan(derived["stock_pct"][3])  # no capacity: no share, not infinity
    parts = storage_sites.datasets(derived)
    assert parts["main"]["n"] == 3  # the located sites
    assert parts["main"]["s"] == [0, 2, 1]  # open, compromised, closed
    assert parts["outlines"]["features"] == []  # all points here


def test_sites_sent_as_outlines_are_drawn_as_squares_inside_them(sample_folder: Path) -> None:
    frame, problems = load_path("storage_sites", sample_folder / "storage_sites.geojson")
    assert problems == []
    assert set(frame["kind"]) == {"warehouse", "county_magazine", "compound"}
    assert set(frame["status"]) == {"open", "closed", "compromised"}
    parts = storage_sites.datasets(storage_sites.derive(frame, Scene({})))
    outlines = frame[frame.geom_type != "Point"]
    assert len(parts["outlines"]["features"]) == len(outlines) > 0
    assert parts["main"]["n"] == len(frame)
    inside = [
        geom.contains(shapely.Point(x, y))
        for geom, x, y, point in zip(
            frame.geometry,
            parts["main"]["x"],
            parts["main"]["y"],
            frame.geom_type == "Point",
            strict=True,
        )
        if not point
    ]
    assert all(inside)


@pytest.mark.parametrize("role", [Role.COMMISSION, Role.PARTNER])
def test_only_operations_see_storage_sites(role: Role) -> None:
    frame, _ = load_text("storage_sites", "storage_sites.csv", CSV)
    assert "storage_sites" in shown_feeds(Role.OPERATIONS)
    assert "storage_sites" not in shown_feeds(role)
    assert len(restrict_frame(frame, "storage_sites", role)) == 0
    assert len(restrict_frame(frame, "storage_sites", Role.OPERATIONS)) == 4


def test_un_compounds_read_as_storage_sites(shared_data: Path) -> None:
    """OSM's military and UN compounds in South Sudan: polygons, names, no stock given."""
    frame, problems = load_path(
        "storage_sites", shared_data / "south_sudan" / "military_sites_osm.geojson"
    )
    assert len(frame) == 84 and (frame.geom_type != "Point").all()
    assert frame["name"].notna().any()
    assert (frame["status"] == "open").all() and (frame["kind"] == "warehouse").all()
    derived = storage_sites.derive(frame, Scene({}))
    assert derived["stock_pct"].isna().all()
    parts = storage_sites.datasets(derived)
    assert len(parts["outlines"]["features"]) == 84 and parts["main"]["n"] == 84
    assert "over_capacity" not in kinds(problems)


def test_a_site_whose_status_does_not_read_is_drawn_as_not_known() -> None:
    frame, problems = load_text(
        "storage_sites",
        "storage_sites.csv",
        "id,name,status,latitude,longitude\nW1,One,burning,6.99,-9.47\nW2,Two,open,7.0,-9.4\n",
    )
    assert kinds(problems)["unknown_value"] == 1
    parts = storage_sites.datasets(storage_sites.derive(frame, Scene({})))
    assert parts["main"]["s"] == [len(storage_sites.STATES), 0]
    assert storage_sites.LEGEND[1][-1][0] == "status not known"
