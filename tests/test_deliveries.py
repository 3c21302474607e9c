"""Deliveries: chain-of-custody events per station, the station board and the per-area
share, and what the commission sees of them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import kinds, load_text
from layers import deliveries
from layers.access.policy import restrict_frame
from layers.access.roles import Role
from layers.analysis import logistics
from layers.analysis.picture import derive_picture
from layers.core.settings import Settings
from layers.scene import SceneLoader

T0 = pd.Timestamp("2026-11-23T00:00:00Z")
EVENTS = """time,station,material,state,qty,from_site,convoy,received_by
2026-11-23T08:00:00Z,S1,ballot_kit,scheduled,1,ST1,,
2026-11-23T09:00:00Z,S1,ballot_kit,in_transit,1,ST1,C9,
2026-11-23T12:00:00Z,S1,ballot_kit,arrived,1,ST1,C9,
2026-11-23T09:00:00Z,S1,sensitive_materials,dispatched,40,ST1,C9,
2026-11-23T09:00:00Z,S2,ballot_kit,signed,1,ST1,T1,Officer <b>Two</b>
2026-11-23T09:30:00Z,S2,sensitive_materials,received,40,ST1,T1,Officer <b>Two</b>
2026-11-23T08:00:00Z,S3,ballot_kit,planned,1,ST1,,
2026-11-23T10:00:00Z,S4,ballot_kit,delivered,1,ST1,T2,
2026-11-23T11:00:00Z,S4,sensitive_materials,lost,40,ST1,T2,
2026-11-23T07:00:00Z,S4,sensitive_materials,dispatched,40,ST1,T2,
2026-11-23T09:00:00Z,S404,ballot_kit,planned,1,ST1,,
"""
STATIONS = """id,name,admin1,registered_voters,latitude,longitude,opens
S1,One,Bong,100,6.99,-9.47,
S2,Two,Bong,200,7.00,-9.46,
S3,Three,Lofa,300,8.42,-9.75,
S4,Four,Lofa,400,8.40,-9.70,2026-11-24T12:00:00Z
S5,Five,Lofa,500,8.41,-9.71,
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "polling_stations.csv").write_text(STATIONS)
    (tmp_path / "deliveries.csv").write_text(EVENTS)
    return tmp_path


def test_events_read_with_aliases_and_synonyms_and_no_location() -> None:
    frame, problems = load_text("deliveries", "deliveries.csv", EVENTS)
    assert len(frame) == 11 and frame.geometry.isna().all()
    assert frame["state"].tolist()[:6] == [
        "planned",
        "dispatched",
        "delivered",
        "dispatched",
        "receipt_signed",
        "receipt_signed",
    ]
    assert frame["count"].tolist()[3] == 40 and frame["convoy_id"][1] == "C9"
    assert frame["signed_by"][4] == "Officer <b>Two</b>"  # text as sent
    assert "missing_coordinates" not in kinds(problems)


def test_each_event_sits_at_its_station_and_an_unknown_station_is_reported(folder: Path) -> None:
    scene = SceneLoader(Settings(folder)).load()
    found = [p for p in scene.versions["deliveries"].problems if p.kind == "unknown_station"]
    assert len(found) == 1 and found[0].row == 12 and found[0].column == "station_id"
    assert "S404" in found[0].message and found[0].fix
    events = derive_picture(scene)["deliveries"]
    assert len(events) == 11  # the unknown station's event kept
    s1 = events[events["station_id"] == "S1"]
    assert (s1.geometry.x.round(2) == -9.47).all() and (s1["area"] == "Bong").all()
    assert events[events["station_id"] == "S404"].geometry.isna().all()


def test_a_station_is_judged_by_each_item_kinds_latest_event(folder: Path) -> None:
    scene = SceneLoader(Settings(folder)).load()
    per = deliveries.by_station(derive_picture(scene)["deliveries"]).set_index("station_id")
    assert per.loc["S1", "delivery"] == "in transit"  # kit here, sensitive on the road
    assert per.loc["S1", "waiting_for"] == "sensitive_materials"
    assert per.loc["S1", "convoy_id"] == "C9"
    assert per.loc["S2", "delivery"] == "all delivered" and per.loc["S2", "waiting_for"] == ""
    assert per.loc["S3", "delivery"] == "waiting"  # planned only; sensitive never planned
    assert per.loc["S3", "waiting_for"] == "ballot_kit, sensitive_materials"
    # S4: "lost" at 11:00 is the latest, though written before the 07:00 dispatch
    assert per.loc["S4", "delivery"] == "missing"


def test_the_board_flags_stations_waiting_near_opening_with_their_convoys_eta(
    folder: Path,
) -> None:
    scene = SceneLoader(Settings(folder)).load()
    derived = derive_picture(scene)
    convoys = pd.DataFrame({"convoy_id": ["C9"], "eta": [pd.Timestamp("2026-11-24T05:30:00Z")]})
    opening = pd.Timestamp("2026-11-24T07:00:00Z")
    now = pd.Timestamp("2026-11-23T21:00:00Z")  # ten hours before opening
    board = logistics.board(
        derived["polling_stations"], derived["deliveries"], convoys, opening, now, 12
    )
    row = board.set_index("station")
    assert row.loc["S5", "materials"] == logistics.NO_RECORD
    assert row.loc["S5", "waiting_for"] == "ballot_kit, sensitive_materials"
    assert row.loc["S1", "convoy_eta"] == pd.Timestamp("2026-11-24T05:30:00Z")
    assert row.loc["S1", "hours_to_opening"] == 10.0
    assert row.loc["S4", "hours_to_opening"] == 15.0  # its own opening, at noon
    assert row["flagged"].to_dict() == {
        "S3": True,
        "S5": True,
        "S1": True,
        "S2": False,
        "S4": False,
    }
    assert board["station"].tolist()[:4] == ["S3", "S5", "S1", "S2"]  # soonest, worst first
    assert board["station"].tolist()[-1] == "S4"
    later = logistics.board(
        derived["polling_stations"], derived["deliveries"], convoys, opening, now, 6
    )
    assert not later["flagged"].any()  # nobody within six hours yet
    areas = logistics.by_area(board).set_index("area")
    assert areas.loc["Bong", "share_delivered"] == 0.5  # S2 of S1, S2
    assert areas.loc["Lofa", "stations"] == 3 and areas.loc["Lofa", "all_delivered"] == 0
    assert areas.loc["All areas", "flagged"] == 3
    assert areas.loc["All areas", "share_delivered"] == pytest.approx(1 / 5)


def test_the_commission_sees_each_stations_state_not_counts_convoys_or_signatories(
    folder: Path,
) -> None:
    scene = SceneLoader(Settings(folder)).load()
    events = derive_picture(scene)["deliveries"]
    seen = restrict_frame(events, "deliveries", Role.COMMISSION)
    assert {"station_id", "item_kind", "state", "time", "area"} <= set(seen.columns)
    assert not {"count", "convoy_id", "storage_site", "signed_by"} & set(seen.columns)
    assert len(restrict_frame(events, "deliveries", Role.PARTNER)) == 0
    board = logistics.board(
        scene["polling_stations"].assign(area="x"),
        seen,
        pd.DataFrame(),
        T0,
        T0,
    )
    assert "convoy" not in board and "convoy_eta" not in board
    assert deliveries.by_station(seen)["delivery"].tolist()  # still judged per station


def test_the_map_draws_each_station_once_by_its_state(folder: Path) -> None:
    scene = SceneLoader(Settings(folder)).load()
    parts = deliveries.datasets(derive_picture(scene)["deliveries"])
    main, details = parts["main"], parts["details"]
    assert main["n"] == 4  # S1-S4; the unknown S404 has no place
    by_id = dict(zip(details["columns"]["station_id"], main["s"], strict=True))
    order = deliveries.STATION_STATES
    assert by_id == {
        "S1": order.index("in transit"),
        "S2": order.index("all delivered"),
        "S3": order.index("waiting"),
        "S4": order.index("missing"),
    }


def test_the_sample_scenario_leaves_realistic_gaps(sample_folder: Path) -> None:
    from conftest import ANCHOR

    scene = SceneLoader(Settings(sample_folder), now=ANCHOR).load(now=ANCHOR)
    assert scene.versions["deliveries"].problems == []
    derived = derive_picture(scene)
    per = deliveries.by_station(derived["deliveries"])
    counts = per["delivery"].value_counts()
    assert counts["all delivered"] > 0.9 * len(scene["polling_stations"])
    assert counts["in transit"] > 10 and counts["waiting"] > 10 and counts["missing"] == 3
    board = logistics.board(
        derived["polling_stations"],
        derived["deliveries"],
        derived["convoy_positions"],
        ANCHOR.floor("D") + pd.Timedelta(hours=7),
        ANCHOR,
    )
    areas = logistics.by_area(board).set_index("area")
    worst = areas.drop("All areas")["share_delivered"].idxmin()
    assert areas.loc[worst, "share_delivered"] < 0.9  # the county that lags
    assert board["convoy_eta"].notna().any()  # a convoy on its way, with its ETA
