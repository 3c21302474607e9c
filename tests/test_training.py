"""Training: sessions shared by the stations they list (or their area's), staff trained
against staff needed per station and per area, and the map's shading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import kinds, load_text
from layers import training
from layers.access.policy import restrict_frame
from layers.access.roles import Role
from layers.analysis import logistics
from layers.analysis.picture import derive_picture
from layers.core.settings import Settings
from layers.scene import SceneLoader

SESSIONS = """session_id,held_on,venue,county,facilitator,po,clerks,others,station_ids
T1,2026-11-10,Gbarnga,Bong,Ann,2,4,2,S1;S2
T2,2026-11-11,Voinjama,Lofa,Ben,1,1,0,S3 S404
T3,2026-11-12,Voinjama,LOFA County,Cat,0,0,9,
T4,soon,Nowhere,Bong,Dan,1,1,1,S2
"""
STATIONS = """id,name,admin1,registered_voters,staff_needed,status,latitude,longitude
S1,One,Bong,100,3,open,6.99,-9.47
S2,Two,Bong,200,5,open,7.00,-9.46
S3,Three,Lofa,300,,open,8.42,-9.75
S4,Four,Lofa,400,4,closed,8.40,-9.70
"""
AREAS = (
    '{"type":"FeatureCollection","features":['
    '{"type":"Feature","properties":{"name":"Bong"},"geometry":{"type":"Polygon",'
    '"coordinates":[[[-10,6.5],[-9,6.5],[-9,7.5],[-10,7.5],[-10,6.5]]]}},'
    '{"type":"Feature","properties":{"name":"Lofa"},"geometry":{"type":"Polygon",'
    '"coordinates":[[[-10,8],[-9,8],[-9,9],[-10,9],[-10,8]]]}}]}'
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "polling_stations.csv").write_text(STATIONS)
    (tmp_path / "training.csv").write_text(SESSIONS)
    (tmp_path / "areas.geojson").write_text(AREAS)
    return tmp_path


def test_sessions_read_with_aliases_and_a_bad_date_reported_and_kept() -> None:
    frame, problems = load_text("training", "training.csv", SESSIONS)
    assert frame["id"].tolist() == ["T1", "T2", "T3", "T4"]
    assert frame["presiding_officers"].tolist() == [2, 1, 0, 1]
    assert frame["stations"][1] == "S3 S404"
    bad = [p for p in problems if p.kind == "bad_time"]
    assert [(p.row, p.column) for p in bad] == [(5, "held_on")]  # the file's own column


def test_participants_are_shared_by_what_each_station_needs(folder: Path) -> None:
    scene = SceneLoader(Settings(folder)).load()
    derived = derive_picture(scene)
    per = logistics.trained_per_station(derived["polling_stations"], scene["training"])
    areas = logistics.training_by_area(per).set_index("area")
    per = per.set_index("station")
    # T1: 8 people for S1 (needs 3) and S2 (needs 5); T4: 3 more for S2
    assert per.loc["S1", "trained"] == 3.0 and per.loc["S2", "trained"] == 8.0
    # T2: 2 people for S3 (S404 is no station); T3: 9 for Lofa's stations, by need 5:4
    assert per.loc["S3", "needed"] == logistics.STAFF_PER_STATION
    assert per.loc["S3", "trained"] == pytest.approx(2 + 9 * 5 / 9)
    assert per.loc["S4", "trained"] == pytest.approx(9 * 4 / 9)
    assert per.loc["S3", "untrained"] == 0 and per.loc["S4", "untrained"] == 0
    assert areas.loc["Bong", "needed"] == 8 and areas.loc["Bong", "trained"] == 8  # capped
    assert areas.loc[logistics.ALL_AREAS, "share_trained"] == 1.0


def test_a_station_short_of_trained_staff_is_counted(folder: Path) -> None:
    (folder / "training.csv").write_text(
        SESSIONS.replace(
            "T1,2026-11-10,Gbarnga,Bong,Ann,2,4,2", "T1,2026-11-10,Gbarnga,Bong,Ann,1,1,0"
        )
    )
    scene = SceneLoader(Settings(folder)).load()
    derived = derive_picture(scene)
    per = logistics.trained_per_station(derived["polling_stations"], scene["training"])
    short = per[per["untrained"] > 0]["station"].tolist()
    assert short == ["S1", "S2"]  # 2 people for 8, plus T4's 3 for S2
    areas = logistics.training_by_area(per).set_index("area")
    assert areas.loc["Bong", "stations_short"] == 2
    assert areas.loc["Bong", "share_trained"] == pytest.approx((2 * 3 / 8 + 3 + 2 * 5 / 8) / 8)


def test_the_map_shades_each_area_by_staff_trained(folder: Path) -> None:
    scene = SceneLoader(Settings(folder)).load()
    areas = derive_picture(scene)["training"].set_index("area")
    assert set(areas.index) == {"Bong", "Lofa"}
    assert areas.loc["Bong", "trained_pct"] == 100 and areas.loc["Bong", "sessions"] == 2
    assert areas.geometry.notna().all()
    band = training._band(areas.reset_index())
    assert (band == 4).all()  # 95 % or more
    (folder / "training.csv").write_text(SESSIONS.splitlines()[0] + "\n")
    empty = derive_picture(SceneLoader(Settings(folder)).load())["training"]
    assert len(empty) == 0  # no sessions: nothing shaded, not every area red


def test_who_sees_training() -> None:
    frame, _ = load_text("training", "training.csv", SESSIONS)
    assert len(restrict_frame(frame, "training", Role.COMMISSION)) == 4
    assert len(restrict_frame(frame, "training", Role.PARTNER)) == 0


def test_the_sample_has_a_county_whose_training_lags(sample_folder: Path) -> None:
    from conftest import ANCHOR

    scene = SceneLoader(Settings(sample_folder), now=ANCHOR).load(now=ANCHOR)
    assert scene.versions["training"].problems == []
    derived = derive_picture(scene)
    per = logistics.trained_per_station(derived["polling_stations"], scene["training"])
    areas = logistics.training_by_area(per).set_index("area").drop(logistics.ALL_AREAS)
    shares = areas["share_trained"].sort_values()
    assert shares.iloc[0] < 0.7 < shares.iloc[1]  # one county lags, the others do not
    assert 0 < (per["untrained"] > 0).mean() < 0.2
    assert "missing_coordinates" not in kinds(scene.versions["training"].problems)
    assert np.isfinite(derived["training"]["trained_pct"]).all()
    assert isinstance(derived["training"], pd.DataFrame)
