"""The generated exercise scenario: deterministic, labelled, recent, realistic in size."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from conftest import ANCHOR
from layers import incidents
from layers.core.manifest import read_scenario
from layers.core.settings import Settings
from layers.exercise.scenario import LABEL, generate
from layers.scene import SceneLoader, derive_all


def test_sample_has_the_sizes_the_scenario_promises(sample_folder: Path) -> None:
    scene = SceneLoader(Settings(sample_folder), now=ANCHOR).load(now=ANCHOR)
    assert len(scene["polling_stations"]) == 4_500
    assert len(scene["patrols"]) == 60 and len(scene["convoy_routes"]) == 12
    assert len(scene["incidents"]) == 600 and len(scene["areas"]) == 15
    assert sorted(scene["areas"]["name"])[:3] == ["Bomi", "Bong", "Gbarpolu"]
    assert scene["polling_stations"]["registered_voters"].gt(0).all()
    radii = scene["patrols"]["radius_m"]
    assert radii.between(5_000, 15_000).all()
    assert scene.problems == []


def test_sample_leaves_real_gaps_and_shows_recent_activity(sample_folder: Path) -> None:
    scene = SceneLoader(Settings(sample_folder), now=ANCHOR).load(now=ANCHOR)
    derived = derive_all(scene)
    share = (derived["polling_stations"]["coverage_state"] == "covered").mean()
    assert 0.4 < share < 0.9
    ages = incidents.age_hours(derived["incidents"], ANCHOR)
    assert ages.min() >= 0 and ages.max() <= 21 * 24
    assert (ages < 6).sum() >= 5 and (ages < 1).sum() >= 1
    states = derived["convoy_positions"]["state"].value_counts()
    assert states["en route"] >= 3 and states["arrived"] >= 1 and states["delayed"] >= 1
    assert derived["convoy_positions"]["stale"].sum() >= 1


def test_times_move_to_the_present_when_replayed_later(sample_folder: Path) -> None:
    later = ANCHOR + pd.Timedelta(days=40, minutes=7)
    scenario = read_scenario(sample_folder, now=later)
    assert scenario.time_shift == pd.Timedelta(days=40, minutes=7)
    assert scenario.label == LABEL and scenario.synthetic
    scene = SceneLoader(Settings(sample_folder), now=later).load(now=later)
    newest = scene["incidents"]["time"].max()
    assert later - pd.Timedelta(hours=2) < newest <= later


def test_same_seed_same_scenario(tmp_path: Path) -> None:
    generate(tmp_path / "a", anchor=ANCHOR)
    generate(tmp_path / "b", anchor=ANCHOR)
    for name in (
        "polling_stations.csv",
        "patrols.geojson",
        "incidents.csv",
        "convoy_positions.csv",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    manifest = json.loads((tmp_path / "a" / "scenario.json").read_text())
    assert manifest["synthetic"] and manifest["shift_times_to_now"]


def test_bundled_sample_is_the_generator_output(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[1] / "data" / "sample"
    manifest = json.loads((bundled / "scenario.json").read_text())
    assert manifest["label"] == LABEL and manifest["scale"] == "sample"
    generate(tmp_path, "sample", manifest["seed"], anchor=pd.Timestamp(manifest["anchor"]))
    for path in sorted(bundled.iterdir()):
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), (
            f"data/sample/{path.name} is stale: run python -m layers.exercise.scenario data/sample"
        )
