"""How fresh each feed is: fresh, stale, failed, missing, exercise; the Feeds page."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, shown
from layers.analysis.freshness import freshness
from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.io.files import write_atomic
from layers.scene import SceneLoader


def states(folder: Path, now: pd.Timestamp, env: dict[str, str] | None = None) -> dict:
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder), **(env or {})})
    table = freshness(SceneLoader(settings, now=now).load(now=now), settings)
    return dict(zip(table["feed"], table["state"], strict=True))


def age(path: Path, minutes: float) -> None:
    when = pd.Timestamp.now(tz="UTC").timestamp() - minutes * 60
    os.utime(path, (when, when))


def test_fresh_stale_and_failed_against_each_feeds_limit(tmp_path: Path) -> None:
    Simulator(tmp_path)  # a live folder: times at the present, judged by file age
    now = pd.Timestamp.now(tz="UTC")
    assert set(states(tmp_path, now).values()) == {"fresh"}
    age(tmp_path / "incidents.csv", 11)  # incidents may be 10 min old
    age(tmp_path / "polling_stations.csv", 60)  # stations 24 h
    got = states(tmp_path, pd.Timestamp.now(tz="UTC"))
    assert got["Incidents"] == "stale" and got["Polling stations"] == "fresh"
    custom = states(tmp_path, pd.Timestamp.now(tz="UTC"), {"POLLWATCH_STALE_AFTER": "incidents=1h"})
    assert custom["Incidents"] == "fresh"
    (tmp_path / "patrols.geojson").unlink()
    assert states(tmp_path, pd.Timestamp.now(tz="UTC"))["Patrol bases"] == "missing"


def test_a_malformed_new_file_is_failed_while_the_old_data_stays(tmp_path: Path) -> None:
    Simulator(tmp_path)
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)})
    loader = SceneLoader(settings)
    good = loader.load()
    write_atomic(tmp_path / "convoy_positions.csv", b"\x00\x01 not a table")
    scene = loader.load()
    table = freshness(scene, settings).set_index("feed")
    assert table.loc["Convoy positions", "state"] == "failed"
    assert len(scene["convoy_positions"]) == len(good["convoy_positions"])
    assert table.loc["Convoy positions", "updated"] == good.versions["convoy_positions"].updated


def test_a_new_bad_row_holds_the_version_back_until_a_good_write(tmp_path: Path) -> None:
    sim = Simulator(tmp_path)
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)})
    loader = SceneLoader(settings)
    before = loader.load()["incidents"]
    sim.step(incidents=2)
    shown_before = loader.load()["incidents"]
    assert len(shown_before) == len(before) + 2  # good writes go straight through
    # The writer puts text where a latitude belongs, in a new row.
    sim.step(incidents=3)
    path = tmp_path / "incidents.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    lat = [c for c in frame.columns if c.lower() in ("lat", "latitude")][0]
    frame.loc[len(frame) - 2, lat] = "abc"
    write_atomic(path, frame.to_csv(index=False))
    scene = loader.load()
    assert len(scene["incidents"]) == len(shown_before)  # the last good version, all of it
    kept = scene.versions["incidents"].problems[0]
    assert kept.kind == "kept_last_good"
    bad_row = len(frame)  # the header is row 1; the bad row is the second-last line
    assert f"row {bad_row}, column {lat}: 'abc' is not a number" in kept.message
    assert kept.message.startswith("showing ") and "file failed" in kept.message
    assert freshness(scene, settings).set_index("feed").loc["Incidents", "state"] == "failed"
    # The next good write: everything, including the rows held back, comes through.
    sim.step(incidents=1)
    scene = loader.load()
    assert len(scene["incidents"]) == len(shown_before) + 4
    assert not scene.versions["incidents"].stale_copy
    assert freshness(scene, settings).set_index("feed").loc["Incidents", "state"] == "fresh"


def test_a_known_bad_row_does_not_freeze_the_feed(tmp_path: Path) -> None:
    sim = Simulator(tmp_path)
    path = tmp_path / "incidents.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    lat = [c for c in frame.columns if c.lower() in ("lat", "latitude")][0]
    frame.loc[0, lat] = "abc"  # bad from the first version on: reported, off the map
    write_atomic(path, frame.to_csv(index=False))
    sim.incidents = frame
    loader = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)}))
    first = loader.load()
    assert first["incidents"].geometry.isna().sum() == 1
    assert any(p.kind == "not_a_number" for p in first.versions["incidents"].problems)
    sim.step(incidents=2)  # the same bad row, two new good ones: shown
    scene = loader.load()
    assert not scene.versions["incidents"].stale_copy
    assert len(scene["incidents"]) == len(frame) + 2
    # A new incident without a location yet is messy data, not damage: shown, reported.
    sim.step(incidents=1)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[len(frame) - 1, lat] = ""
    write_atomic(path, frame.to_csv(index=False))
    scene = loader.load()
    assert not scene.versions["incidents"].stale_copy
    assert len(scene["incidents"]) == len(frame)
    assert any(p.kind == "missing_coordinates" for p in scene.versions["incidents"].problems)


def test_the_bundled_exercise_is_not_called_stale(sample_folder: Path) -> None:
    for path in sample_folder.iterdir():
        age(path, 60 * 24 * 30)
    assert set(states(sample_folder, pd.Timestamp.now(tz="UTC")).values()) == {"exercise"}


def test_bad_staleness_setting_is_named() -> None:
    with pytest.raises(ValueError, match="incidents=soon"):
        Settings.from_env({"POLLWATCH_STALE_AFTER": "incidents=soon"})


def test_feeds_page_and_banner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Simulator(tmp_path)
    age(tmp_path / "incidents.csv", 30)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "dashboard" / "feeds.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("feed")
    assert table.loc["Incidents", "state"] == "stale"
    assert table.loc["Incidents", "age_min"] == pytest.approx(30, abs=1)
    assert table.loc["Convoy positions", "state"] == "fresh"
    banner = next(shown(w.value) for w in at.warning if "Feeds" in w.value)
    assert "Incidents: stale (30" in banner
    ops = AppTest.from_file(str(ROOT / "dashboard" / "operations.py"), default_timeout=60)
    ops.run()
    assert any("Incidents: stale" in shown(w.value) for w in ops.warning)
    # A bad new incidents file: the banner says what is shown and why the new one failed.
    path = tmp_path / "incidents.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    lat = [c for c in frame.columns if c.lower() in ("lat", "latitude")][0]
    frame.loc[len(frame) - 1, lat] = "abc"
    write_atomic(path, frame.to_csv(index=False))
    at.run()
    banner = next(shown(w.value) for w in at.warning if "Feeds" in w.value)
    assert "Incidents: showing " in banner and "file failed: incidents.csv, row" in banner
    assert f"column {lat}: 'abc' is not a number" in banner
    table = at.dataframe[0].value.set_index("feed")
    assert table.loc["Incidents", "state"] == "failed"


def test_a_row_cut_inside_a_field_is_never_read_as_values(tmp_path: Path) -> None:
    sim = Simulator(tmp_path)
    loader = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)}))
    on_screen = len(loader.load()["incidents"])
    sim.step(incidents=3)
    path = tmp_path / "incidents.csv"
    text = path.read_text()
    path.write_text(text[:-3])  # cut inside the last field (a longitude loses digits)
    scene = loader.load()
    version = scene.versions["incidents"]
    assert not version.stale_copy and len(scene["incidents"]) == on_screen + 2
    cut = [p for p in version.problems if p.kind == "unterminated_row"]
    assert len(cut) == 1 and cut[0].row == text.count("\n")  # its line
    assert "no line end" in cut[0].message
    path.write_text(text)  # the writer finishes the line
    scene = loader.load()
    assert len(scene["incidents"]) == on_screen + 3
    assert not any(p.kind == "unterminated_row" for p in scene.versions["incidents"].problems)
