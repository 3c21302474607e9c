"""Parsed feeds and the basemap kept on disk between restarts: found again for the same
bytes and code only, never a fault of the page."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from layers.core import ondisk
from layers.core.ondisk import OnDisk
from layers.core.settings import SAMPLE_FEEDS, Settings
from layers.io import files, store
from layers.map import offline
from layers.scene import SceneLoader


def feeds_without_a_time_shift(folder: Path) -> Path:
    """The sample's feeds as a mission sends them: no exercise manifest moving times."""
    folder.mkdir()
    for path in SAMPLE_FEEDS.iterdir():
        if path.name != "scenario.json":
            shutil.copy(path, folder / path.name)
    return folder


def loader(feeds: Path, kept: Path) -> SceneLoader:
    """A new server's loader (nothing in memory) that keeps every file on disk."""
    settings = Settings.from_env(
        {"POLLWATCH_FEEDS": str(feeds), "POLLWATCH_CACHE": str(kept), "POLLWATCH_SETTLE_S": "0"}
    )
    made = SceneLoader(settings)
    made.store.rules = replace(made.store.rules, kept_bytes=0)
    return made


def wait_written(kept: OnDisk) -> None:
    """Until the writes in threads of their own are done."""
    for _ in range(200):
        if not kept._writing:
            return
        time.sleep(0.05)
    raise AssertionError("the on-disk writes did not finish")


def test_a_restarted_server_reads_each_feed_from_disk_and_shows_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds, kept = feeds_without_a_time_shift(tmp_path / "feeds"), tmp_path / "kept"
    incidents = feeds / "incidents.csv"
    header, row = incidents.read_text().splitlines()[:2]
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    cells.update(id="BAD-1", latitude="north")
    incidents.write_text(incidents.read_text() + ",".join(cells.values()) + "\n")
    first = loader(feeds, kept)
    scene = first.load()
    assert first.kept is not None
    wait_written(first.kept)
    assert os.stat(kept).st_mode & 0o777 == 0o700

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("a feed kept on disk was parsed again")

    monkeypatch.setattr(store, "parse", no_parsing)
    again = loader(feeds, kept).load()
    for feed in ("polling_stations", "incidents", "patrols", "convoy_routes"):
        pd.testing.assert_frame_equal(again[feed], scene[feed])
        assert again.versions[feed].problems == scene.versions[feed].problems
    assert any(p.column == "latitude" for p in again.versions["incidents"].problems)

    # The file changed by one byte: read afresh (parse is refused here, so it fails).
    path = feeds / "incidents.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n", 1))
    changed = loader(feeds, kept).load()
    assert changed.versions["incidents"].data is None
    assert (
        "a feed kept on disk was parsed again" in changed.versions["incidents"].problems[-1].message
    )
    assert changed.versions["polling_stations"].data is not None  # the others still kept


def test_other_code_or_settings_never_find_what_was_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds, kept = feeds_without_a_time_shift(tmp_path / "feeds"), tmp_path / "kept"
    first = loader(feeds, kept)
    first.load()
    assert first.kept is not None
    wait_written(first.kept)
    parsed: list[str] = []
    real_parse = store.parse

    def counted(feed: str, *args: object, **kwargs: object) -> object:
        parsed.append(feed)
        return real_parse(feed, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "parse", counted)
    monkeypatch.setattr(ondisk, "code_version", lambda: "another release")
    loader(feeds, kept).load()
    assert "polling_stations" in parsed  # a new release reads every feed again
    monkeypatch.undo()
    monkeypatch.setattr(store, "parse", counted)
    parsed.clear()
    other_zone = Settings.from_env(
        {
            "POLLWATCH_FEEDS": str(feeds),
            "POLLWATCH_CACHE": str(kept),
            "POLLWATCH_SETTLE_S": "0",
            "POLLWATCH_TZ": "Africa/Monrovia",
        }
    )
    zoned = SceneLoader(other_zone)
    zoned.store.rules = replace(zoned.store.rules, kept_bytes=0)
    zoned.load()
    assert "incidents" in parsed  # times without a zone are read in another one


def test_a_damaged_or_unsafe_store_is_read_around(tmp_path: Path) -> None:
    feeds, kept = feeds_without_a_time_shift(tmp_path / "feeds"), tmp_path / "kept"
    first = loader(feeds, kept)
    scene = first.load()
    assert first.kept is not None
    wait_written(first.kept)
    # Every value file cut short (a disk that filled up, a copy interrupted).
    values = [p for p in kept.rglob("*.val")]
    assert values, "the stations' frame is large enough to be kept in a file of its own"
    for path in values:
        path.write_bytes(path.read_bytes()[:100])
    again = loader(feeds, kept).load()
    pd.testing.assert_frame_equal(again["polling_stations"], scene["polling_stations"])

    # A folder other users may write is not read: pickles from it could run code.
    os.chmod(kept, 0o777)
    assert OnDisk.at(kept) is None
    plain = loader(feeds, kept)
    assert plain.kept is None
    assert len(plain.load()["polling_stations"]) == len(scene["polling_stations"])
    assert Settings.from_env({"POLLWATCH_CACHE": "off"}).cache is None


def test_the_basemap_region_is_built_once_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = OnDisk(tmp_path / "kept")
    box = offline.region((-11.5, 4.3, -7.4, 8.6))
    built = offline.made(box, kept)
    wait_written(kept)

    def no_building(box: object) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(offline, "build", no_building)
    assert offline.made(box, OnDisk(tmp_path / "kept")) == built


def test_files_that_changed_together_are_looked_at_twice_across_one_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = feeds_without_a_time_shift(tmp_path / "feeds")
    pauses: list[float] = []
    monkeypatch.setattr(files.time, "sleep", pauses.append)
    monkeypatch.setattr(store.time, "sleep", pauses.append)
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(feeds), "POLLWATCH_CACHE": "off"})
    made = SceneLoader(settings)
    scene = made.load()
    assert len(pauses) == 1, pauses  # six new files, one pause (was one per file)
    assert len(scene["polling_stations"]) > 0
    # A file that moved during the shared pause has a second look of its own first.
    pauses.clear()
    path = feeds / "patrols.geojson"
    grown = path.read_bytes() + b"\n"

    def written_meanwhile(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:
            path.write_bytes(grown)
            os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)

    monkeypatch.setattr(store.time, "sleep", written_meanwhile)
    os.utime(feeds / "incidents.csv")
    path.write_bytes(path.read_bytes())
    later = made.load(pd.Timestamp.now(tz="UTC"))
    assert len(later["patrols"]) == len(scene["patrols"])
    assert len(pauses) >= 2  # the moved file had its own second look


def test_a_large_file_kept_on_disk_is_shown_at_the_first_look_after_a_restart(
    tmp_path: Path,
) -> None:
    """A file large enough to be read in the background is taken from disk at once: the
    first screen after a restart shows it, not 'still reading'."""
    feeds, kept = feeds_without_a_time_shift(tmp_path / "feeds"), tmp_path / "kept"

    def large(made: SceneLoader) -> SceneLoader:
        made.store.rules = replace(made.store.rules, background_bytes=0)
        return made

    first = large(loader(feeds, kept))
    scene = first.load()
    assert any(p.kind == "reading" for p in scene.problems)  # read in the background
    while any(p.kind == "reading" for p in scene.problems):
        time.sleep(0.05)
        scene = first.load(pd.Timestamp.now(tz="UTC"))
    assert first.kept is not None
    wait_written(first.kept)
    again = large(loader(feeds, kept)).load()
    assert not [p for p in again.problems if p.kind == "reading"]
    pd.testing.assert_frame_equal(again["polling_stations"], scene["polling_stations"])


def test_a_restart_takes_costly_derived_frames_and_datasets_from_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart the first picture's costly parts (coverage of every station, the
    stations' map dataset, the deliveries' by station) come from disk when the files are
    the same, and are made again for a changed file, or for another audience."""
    from layers.analysis import picture
    from layers.analysis.picture import DerivedCache
    from layers.registry import REGISTRY
    from layers.views import publish
    from layers.views.publish import Publisher, layer_urls

    monkeypatch.setattr(picture, "COSTLY_S", 0.0)  # the sample is small: keep them all
    monkeypatch.setattr(publish, "COSTLY_S", 0.0)
    feeds, kept = feeds_without_a_time_shift(tmp_path / "feeds"), tmp_path / "kept"
    derived_rows: dict[str, int] = {}
    for name, layer in REGISTRY.items():

        def counting(frame, scene, name=name, real=layer.derive):  # type: ignore[no-untyped-def]
            derived_rows[name] = derived_rows.get(name, 0) + 1
            return real(frame, scene)

        monkeypatch.setattr(layer, "derive", counting)

    def started(folder: str) -> tuple[SceneLoader, DerivedCache, Publisher]:
        """A server started: its loader, derived cache and operations' publisher."""
        made = loader(feeds, kept)
        cache = DerivedCache(made.kept, "settings")
        return made, cache, Publisher(tmp_path / folder, "/data/operations", kept=made.kept)

    now = pd.Timestamp("2026-11-29T10:00Z")
    first, cache, publisher = started("first")
    scene = first.load(now=now)
    whole = cache.derive(scene)
    urls = layer_urls(publisher, cache, scene, whole, "polling_stations")
    rows_urls = layer_urls(publisher, cache, scene, whole, "deliveries")  # a row-wise layer
    assert derived_rows["polling_stations"] == 1
    assert first.kept is not None
    wait_written(first.kept)

    derived_rows.clear()
    again, cache, publisher = started("again")  # a restart: nothing in memory
    scene = again.load(now=now)
    from_disk = cache.derive(scene)
    assert not derived_rows  # every frame came from disk
    for name in REGISTRY:
        pd.testing.assert_frame_equal(pd.DataFrame(from_disk[name]), pd.DataFrame(whole[name]))

    def built_again() -> dict[str, object]:
        raise AssertionError("a dataset kept on disk was built again")

    monkeypatch.setattr(picture, "map_datasets", lambda *a: built_again())
    monkeypatch.setattr(publish, "map_datasets", lambda *a: built_again())
    assert layer_urls(publisher, cache, scene, from_disk, "polling_stations") == urls
    monkeypatch.setattr(REGISTRY["deliveries"], "datasets", lambda *a: built_again())
    assert layer_urls(publisher, cache, scene, from_disk, "deliveries") == rows_urls
    for url in urls.values():
        name = url.rsplit("/", 1)[1]
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "first" / name).read_bytes()
    # Another audience's publisher does not take the operations' dataset.
    partner = Publisher(tmp_path / "partner", "/data/partner", kept=again.kept)
    with pytest.raises(AssertionError, match="built again"):
        layer_urls(partner, cache, scene, from_disk, "polling_stations")

    # A changed patrols file: coverage is measured again after the next restart.
    patrols = next(p for p in feeds.iterdir() if p.stem == "patrols")
    patrols.write_bytes(patrols.read_bytes().replace(b"}", b"} ", 1))
    derived_rows.clear()
    third, cache, _ = started("third")
    cache.derive(third.load(now=now))
    assert derived_rows.get("polling_stations") == 1 and "incidents" not in derived_rows


def test_point_frames_come_back_from_disk_as_they_went_in(tmp_path: Path) -> None:
    """Point frames are kept as x and y (faster to rebuild than pickled geometries): every
    column, the order, the index, the CRS, missing and empty points come back the same;
    rows at one place share one point, made once (710,000 deliveries at 180,000
    stations); other frames and values are kept as they are."""
    import geopandas as gpd
    import shapely

    points = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "disc": gpd.GeoSeries([shapely.box(0, 0, 1, 1), None, None, None, None]),
        },
        geometry=[
            shapely.Point(-10.5, 6.25),
            None,
            shapely.Point(),
            shapely.Point(1e-7, 89.9),
            shapely.Point(-10.5, 6.25),  # where "a" is
        ],
        crs="EPSG:4326",
        index=[10, 11, 12, 13, 14],
    )
    areas = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    kept = OnDisk(tmp_path / "kept")
    kept.put("k", (points, [areas, {"frame": points, "n": 3}], "text"))
    wait_written(kept)
    got, (other, inner), text = kept.get("k")
    for frame in (got, inner["frame"]):
        assert type(frame) is gpd.GeoDataFrame and frame.geometry.name == "geometry"
        assert list(frame.columns) == list(points.columns) and frame.crs == points.crs
        pd.testing.assert_frame_equal(pd.DataFrame(frame), pd.DataFrame(points))
        assert frame.geometry.isna().tolist() == [False, True, False, False, False]
        assert frame.geometry.is_empty.tolist() == [False, False, True, False, False]
        assert frame.geometry.iloc[0] is frame.geometry.iloc[4]  # one point, made once
        assert frame.geometry.iloc[0] is not frame.geometry.iloc[3]
    pd.testing.assert_frame_equal(other, areas)
    assert inner["n"] == 3 and text == "text"


def test_a_restart_takes_a_costly_check_s_findings_from_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deliveries' check (each event's station looked up: 0.3 s at national scale)
    is not run again after a restart on the same files; what it found is the same. A
    changed stations file runs it again."""
    from layers import scene as scene_module
    from layers.registry import REGISTRY

    monkeypatch.setattr(scene_module, "COSTLY_S", 0.0)  # the sample is small: keep it
    feeds, kept = feeds_without_a_time_shift(tmp_path / "feeds"), tmp_path / "kept"
    deliveries = feeds / "deliveries.csv"
    header, row = deliveries.read_text().splitlines()[:2]
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    cells.update(station_id="NO-SUCH-STATION")
    deliveries.write_text(deliveries.read_text() + ",".join(cells.values()) + "\n")
    first = loader(feeds, kept)
    found = first.load().versions["deliveries"].problems
    assert any(p.kind == "unknown_station" for p in found)
    assert first.kept is not None
    wait_written(first.kept)

    layer = REGISTRY["deliveries"]
    checks: list[int] = []

    def counting(frame, frames, file):  # type: ignore[no-untyped-def]
        checks.append(len(frame))
        return layer.check(frame, frames, file)

    monkeypatch.setattr(layer, "DERIVE", replace(layer.DERIVE, check=counting))
    again = loader(feeds, kept).load()
    assert not checks  # taken from disk
    assert again.versions["deliveries"].problems == found

    stations = feeds / "polling_stations.csv"
    stations.write_bytes(stations.read_bytes().replace(b"\n", b"\r\n", 1))
    loader(feeds, kept).load()
    assert checks  # another stations file: checked again
