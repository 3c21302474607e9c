"""The feed simulator: live incidents and pings, one convoy off route, one silent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from conftest import load_path
from layers.core.settings import Settings
from layers.exercise.simulator import SIMULATED, Simulator, main
from layers.geo import geodesy
from layers.scene import SceneLoader

START = pd.Timestamp("2026-10-11T12:00:00Z")


def test_steps_add_incidents_and_pings_that_the_dashboard_reads(tmp_path: Path) -> None:
    sim = Simulator(tmp_path, start=START)
    loader = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)}), now=START)
    before = loader.load(now=START)
    assert before.scenario.label == SIMULATED
    added = sim.step(seconds=120, incidents=3)
    assert added["incidents"] == 3 and added["pings"] == len(sim.convoys) - 1
    after = loader.load(now=START + pd.Timedelta(minutes=2))
    events = after["incidents"]
    assert len(events) == len(before["incidents"]) + 3
    new = events[events["id"].str.startswith("SIM-")]
    assert (new["time"] == START + pd.Timedelta(minutes=2)).all()  # not moved by a shift
    assert not [p for p in after.problems if p.feed in ("incidents", "convoy_positions")]


def test_one_convoy_leaves_its_route_and_one_goes_silent(tmp_path: Path) -> None:
    sim = Simulator(tmp_path, start=START)
    assert len(sim.convoys) >= 3
    off, silent, normal = sim.convoys[0], sim.convoys[1], sim.convoys[2]
    for _ in range(3):
        sim.step(seconds=300)
    pings = pd.read_csv(tmp_path / "convoy_positions.csv")
    last = pings.groupby("convoy_id").tail(1).set_index("convoy_id")

    def away_m(convoy) -> float:  # type: ignore[no-untyped-def]
        row = last.loc[convoy.convoy_id]
        return float(
            geodesy.distance_to_shape_m(
                convoy.line, np.array([row["longitude"]]), np.array([row["latitude"]])
            )[0]
        )

    assert away_m(off) > 2_000 and away_m(normal) < 50
    newest = pd.to_datetime(pings.groupby("convoy_id")["time"].max(), utc=True)
    assert newest[silent.convoy_id] < START  # no ping since the simulation began
    assert newest[normal.convoy_id] == START + pd.Timedelta(minutes=15)
    # The normal convoy moved along its route towards its destination.
    track = pings[pings["convoy_id"] == normal.convoy_id].tail(3)
    fractions = [
        normal.line.project(shapely.Point(x, y), normalized=True)
        for x, y in zip(track["longitude"], track["latitude"], strict=True)
    ]
    assert fractions == sorted(fractions) and fractions[-1] > fractions[0]


def test_command_line_runs_a_few_steps(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    main([str(tmp_path), "--steps", "2", "--interval", "0"])
    out = capsys.readouterr().out
    assert "POLLWATCH_FEEDS=" in out and out.count("convoy pings") == 2
    frame, _ = load_path("incidents", tmp_path / "incidents.csv")
    assert frame["id"].is_unique and frame["id"].str.startswith("SIM-").sum() >= 2


def test_deliveries_still_on_their_way_arrive_as_the_day_goes(tmp_path: Path) -> None:
    from layers.analysis.picture import derive_picture
    from layers.deliveries import by_station

    sim = Simulator(tmp_path, start=START)
    loader = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)}), now=START)
    before = by_station(derive_picture(loader.load(now=START))["deliveries"])
    moved = sum(sim.step(seconds=300, incidents=0)["deliveries"] for _ in range(30))
    later = START + pd.Timedelta(hours=3)
    scene = loader.load(now=later)
    assert moved > 5 and len(scene["deliveries"]) == len(sim.deliveries)
    assert not [p for p in scene.versions["deliveries"].problems]
    after = by_station(derive_picture(scene)["deliveries"])
    done = (after["delivery"] == "all delivered").sum()
    assert done > (before["delivery"] == "all delivered").sum()
    signed = scene["deliveries"][scene["deliveries"]["time"] > START]
    assert set(signed["state"]) <= {"dispatched", "receipt_signed"}
