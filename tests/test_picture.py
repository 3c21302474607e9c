"""Filters, links, headline figures and the derived-layer cache of the operations page."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from layers.analysis.filters import Filters, apply, browser_where
from layers.analysis.kpis import coverage_by_area, kpis
from layers.analysis.picture import DerivedCache, derive_picture
from layers.core.settings import Settings
from layers.io.files import write_atomic
from layers.registry import REGISTRY
from layers.scene import SceneLoader


@pytest.fixture
def folder(tmp_path: Path, sample_folder: Path) -> Path:
    for path in sample_folder.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    return tmp_path


@pytest.fixture
def loader(folder: Path) -> SceneLoader:
    return SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(folder)}))


def test_filters_round_trip_through_a_link() -> None:
    start, end = pd.Timestamp("2026-10-10T06:00Z"), pd.Timestamp("2026-10-11T06:00Z")
    filters = Filters(
        areas=("Bong", "Lofa"), severities=("high",), window="custom", start=start, end=end
    )
    query = filters.to_query()
    assert query == {
        "area": ["Bong", "Lofa"],
        "severity": ["high"],
        "window": "custom",
        "from": "2026-10-10T06:00Z",
        "to": "2026-10-11T06:00Z",
    }
    offered = {"area": ["Bong", "Lofa", "Nimba"], "severity": ["low", "high"]}

    def get_all(name: str) -> list[str]:
        value = query.get(name, [])
        return value if isinstance(value, list) else [value]

    again, ignored = Filters.from_query(get_all, offered)
    assert again == filters and ignored == []
    assert Filters().to_query() == {}


def test_a_link_keeps_what_it_can() -> None:
    query = {"area": ["Bong", "Atlantis"], "window": ["custom"], "from": ["yesterday-ish"]}
    filters, ignored = Filters.from_query(lambda n: query.get(n, []), {"area": ["Bong"]})
    assert filters.areas == ("Bong",) and filters.window == "24 h"
    assert ignored == ["area=Atlantis", "window=custom without a valid from < to"]


def test_time_window_ends_now_and_browser_filter_matches(loader: SceneLoader) -> None:
    scene = loader.load()
    derived = derive_picture(scene)
    filters = Filters(areas=("Bong",), window="7 days", severities=("high", "critical"))
    picture = apply(derived, filters, scene.now)
    start, end = picture.time_range
    assert end == scene.now.floor("s") and end - start == pd.Timedelta(days=7)
    where = browser_where(filters, scene.now)
    assert where["polling_stations"] == {"columns": {"area": ["Bong"]}}
    assert where["incidents"]["columns"] == {"area": ["Bong"], "severity": ["high", "critical"]}
    # The browser's rule, applied here, keeps exactly the rows apply() kept.
    events = derived["incidents"]
    seconds = (events["time"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    t0, t1 = where["incidents"]["time"]
    kept = events[
        (seconds > t0)
        & (seconds <= t1)
        & events["area"].eq("Bong")
        & events["severity"].isin(["high", "critical"])
    ]
    assert set(kept["id"]) == set(picture.frames["incidents"]["id"]) and len(kept) > 0


def test_kpis_count_what_the_filters_keep(loader: SceneLoader) -> None:
    scene = loader.load()
    derived = derive_picture(scene)
    picture = apply(derived, Filters(areas=("Nimba",)), scene.now)
    k = kpis(picture).figures
    stations = derived["polling_stations"]
    nimba = stations[stations["area"] == "Nimba"]
    covered = nimba[nimba["coverage_state"] == "covered"]
    assert k.stations == len(nimba) and k.covered == len(covered)
    assert k.voters_covered_pct == pytest.approx(
        100 * covered["registered_voters"].sum() / nimba["registered_voters"].sum()
    )
    table = coverage_by_area(stations).set_index("area")
    assert table.loc["Nimba", "covered"] == len(covered)
    assert table["stations"].sum() == len(stations)


@pytest.fixture
def derived_rows(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """Per layer, the number of rows of each derive call: the work the cache did."""
    calls: dict[str, list[int]] = {name: [] for name in REGISTRY}
    for name, layer in REGISTRY.items():

        def counting(frame, scene, name=name, real=layer.derive):  # type: ignore[no-untyped-def]
            calls[name].append(len(frame))
            return real(frame, scene)

        monkeypatch.setattr(layer, "derive", counting)
    return calls


def assert_same_as_fresh(derived: dict[str, pd.DataFrame], scene) -> None:  # type: ignore[no-untyped-def]
    """What the cache gives is what deriving the scene anew gives."""
    fresh = derive_picture(scene)
    for name in REGISTRY:
        pd.testing.assert_frame_equal(
            pd.DataFrame(derived[name]).reset_index(drop=True),
            pd.DataFrame(fresh[name]).reset_index(drop=True),
        )


def test_cache_rederives_only_what_changed(
    loader: SceneLoader, folder: Path, derived_rows: dict[str, list[int]]
) -> None:
    # One clock for the whole test: convoy ages are derived per minute, from the exact time.
    now = loader.load().now.floor("min")
    cache = DerivedCache()
    first = cache.derive(loader.load(now=now))
    assert all(len(calls) == 1 for calls in derived_rows.values())
    derived_rows.update({name: [] for name in derived_rows})
    cache.derive(loader.load(now=now))
    assert not any(derived_rows.values())  # nothing changed: no work
    text = (folder / "incidents.csv").read_text()
    time.sleep(0.01)
    write_atomic(
        folder / "incidents.csv", text + text.splitlines()[1].replace("INC-", "NEW-", 1) + "\n"
    )
    scene = loader.load(now=now)
    after = cache.derive(scene)
    assert derived_rows["incidents"] == [1]  # the new row alone
    assert not derived_rows["polling_stations"]  # coverage not redone
    assert len(after["incidents"]) == len(first["incidents"]) + 1
    assert_same_as_fresh(after, scene)
    derived_rows.update({name: [] for name in derived_rows})
    later_scene = loader.load(now=now + pd.Timedelta(minutes=2))
    later = cache.derive(later_scene)
    assert derived_rows["convoy_positions"]  # states move with time
    assert not derived_rows["incidents"]  # nothing in them ages
    assert not derived_rows["polling_stations"]  # no shift changed
    assert_same_as_fresh(later, later_scene)


def test_cache_rederives_coverage_when_a_shift_ends(
    loader: SceneLoader, derived_rows: dict[str, list[int]]
) -> None:
    scene = loader.load()
    bases = scene["patrols"]
    cache = DerivedCache()
    cache.derive(scene)
    ends = bases["shift_end"].dropna()
    if ends.empty:
        pytest.skip("the sample has no shifts")
    later = loader.load(now=ends.min() + pd.Timedelta(minutes=1))
    derived_rows["polling_stations"].clear()
    covered = cache.derive(later)["polling_stations"]
    assert derived_rows["polling_stations"] == [len(scene["polling_stations"])]
    fresh = derive_picture(later)["polling_stations"]
    assert covered["coverage_state"].tolist() == fresh["coverage_state"].tolist()


def test_one_picture_while_nothing_changes_within_the_minute(
    loader: SceneLoader, folder: Path
) -> None:
    """Every session that looks while no feed changed, within the minute, gets the same
    Scene: same window edges and ages on every screen, and what is built from it is built
    once for all of them."""
    minute = pd.Timestamp("2026-11-30 10:15:05", tz="UTC")
    loader.clock = lambda: minute
    first = loader.load()
    loader.clock = lambda: minute + pd.Timedelta(seconds=40)
    assert loader.load() is first
    text = (folder / "incidents.csv").read_text()
    time.sleep(0.01)
    write_atomic(
        folder / "incidents.csv", text + text.splitlines()[1].replace("INC-", "NEW-", 1) + "\n"
    )
    changed = loader.load()
    assert changed is not first
    assert changed.now == minute + pd.Timedelta(seconds=40)
    assert len(changed["incidents"]) == len(first["incidents"]) + 1
    assert loader.load() is changed
    loader.clock = lambda: minute + pd.Timedelta(seconds=60)  # the next minute: ages move
    later = loader.load()
    assert later is not changed and later.now == minute + pd.Timedelta(seconds=60)
    assert later.versions == changed.versions
    assert loader.load(now=later.now) is not later  # a time asked for: a picture of its own


def test_the_map_frame_does_not_move_with_live_feeds(loader: SceneLoader, folder: Path) -> None:
    """streamlit-folium keys the map by its script, which holds the frame: a frame that
    moved with a new incident would re-create the map and lose the user's view."""
    before = loader.load().bounds
    assert before is not None
    assert all(round(v * 100) == pytest.approx(v * 100) for v in before)  # whole hundredths
    stations = loader.load()["polling_stations"].geometry
    assert before[0] <= stations.x.min() and stations.x.max() <= before[2]
    text = (folder / "incidents.csv").read_text()
    far = text.splitlines()[1].replace("INC-", "FAR-", 1).split(",")
    far[-2], far[-1] = "9.9", "-7.1"  # east of everything else in the sample
    time.sleep(0.01)
    write_atomic(folder / "incidents.csv", text + ",".join(far) + "\n")
    scene = loader.load()
    assert "FAR-" in scene["incidents"]["id"].iloc[-1]
    assert before[3] < 9.9  # the new incident lies outside the frame
    assert scene.bounds == before
