"""Rows appended to a feed file are read alone, with the same answer as reading it whole."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from layers.analysis.picture import DerivedCache, derive_picture, map_datasets
from layers.analysis.risk import Risk
from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.io.files import write_atomic
from layers.io.parsing import parse
from layers.io.raw import RawTable
from layers.io.store import FeedVersion
from layers.map.payload import joined_columnar
from layers.scene import SceneLoader

FEEDS = ("incidents", "convoy_positions")


def problems(version: FeedVersion) -> Counter:
    return Counter((p.row, p.column, p.kind, p.message, p.level) for p in version.problems)


def assert_same_as_whole_read(loader: SceneLoader, folder: Path) -> None:
    fresh = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(folder)}))
    for feed in FEEDS:
        kept, whole = loader.store.get(feed), fresh.store.get(feed)
        assert not kept.stale_copy
        pd.testing.assert_frame_equal(kept.data, whole.data)
        assert problems(kept) == problems(whole)


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Simulator, SceneLoader, list]:
    sim = Simulator(tmp_path)
    loader = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)}))
    loader.load()
    parsed: list[int] = []
    real_parse = parse

    def counting(feed: str, path: Path, data: bytes, *progress: object) -> RawTable:
        parsed.append(len(data))
        return real_parse(feed, path, data, *progress)  # type: ignore[arg-type]

    monkeypatch.setattr("layers.io.store.parse", counting)  # as the store calls it
    return sim, loader, parsed


def test_appended_rows_read_alone_equal_a_whole_read(live) -> None:  # type: ignore[no-untyped-def]
    sim, loader, parsed = live
    folder = sim.out
    for _ in range(3):
        added = sim.step(incidents=2)
        parsed.clear()
        loader.load()
        sizes = [(folder / f"{f}.csv").stat().st_size for f in FEEDS]
        grew = 2 + (added["deliveries"] > 0)  # and deliveries, when one moved on
        assert len(parsed) == grew and max(parsed) < min(sizes) / 4  # only the new rows
        assert_same_as_whole_read(loader, folder)


def test_a_feed_that_drops_its_old_rows_is_taken_and_read_whole(tmp_path: Path) -> None:
    """A feed of "the last H hours" loses rows at its head: the new version is taken (the
    rows it kept are unchanged), and read whole, as what was read before is no longer a
    prefix of the file."""
    sim = Simulator(tmp_path, keep_hours=300)  # the sample's incidents go back 460 hours
    loader = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)}))
    before = loader.load()["incidents"]
    for _ in range(4):
        sim.step(seconds=30 * 60, incidents=2)
        assert not loader.load().versions["incidents"].stale_copy
    shown = loader.load()["incidents"]
    assert len(shown) < len(before)  # the old rows did go
    assert shown["time"].min() >= sim.now - pd.Timedelta(hours=300)
    assert_same_as_whole_read(loader, tmp_path)


def test_a_window_that_drops_most_of_a_feed_at_once_is_held_back(tmp_path: Path) -> None:
    sim = Simulator(tmp_path)
    loader = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)}))
    shown = len(loader.load()["incidents"])
    sim.keep = pd.Timedelta(hours=24)  # from all 460 hours to the last 24
    sim.step(incidents=2)
    version = loader.load().versions["incidents"]
    assert version.stale_copy and len(version.data) == shown
    assert "incidents.csv dropped its " in version.problems[0].message
    assert f"oldest rows of {shown:,} at once" in version.problems[0].message


def append(path: Path, *rows: str) -> None:
    write_atomic(path, path.read_text() + "".join(r + "\n" for r in rows))


def test_checks_across_rows_see_the_rows_read_before(live) -> None:  # type: ignore[no-untyped-def]
    sim, loader, _ = live
    path = sim.out / "incidents.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = list(frame.columns)
    lat, lon = columns.index("latitude"), columns.index("longitude")
    first = frame.iloc[0].tolist()
    repeated = list(first)  # an id the file already has
    swapped = list(frame.iloc[1])
    swapped[0] = "SWAP-1"
    swapped[lat], swapped[lon] = swapped[lon], swapped[lat]
    quoted = list(frame.iloc[2])
    quoted[0] = "QUOTED-1"
    quoted[columns.index("description")] = '"near the market, by the bridge"'
    append(path, ",".join(repeated), ",".join(swapped), "", ",".join(quoted))
    scene = loader.load()
    kinds = Counter(p.kind for p in scene.versions["incidents"].problems)
    assert kinds["duplicate_id"] >= 1 and kinds["swapped"] >= 1
    assert "near the market, by the bridge" in scene["incidents"]["description"].tolist()
    assert_same_as_whole_read(loader, sim.out)


def test_a_damaged_appended_row_holds_the_version_back(live) -> None:  # type: ignore[no-untyped-def]
    sim, loader, _ = live
    shown = len(loader.load()["incidents"])
    path = sim.out / "incidents.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = frame.iloc[3].tolist()
    row[0] = "BAD-1"
    row[list(frame.columns).index("latitude")] = "abc"
    append(path, ",".join(row))
    scene = loader.load()
    assert scene.versions["incidents"].stale_copy and len(scene["incidents"]) == shown
    assert f"row {len(frame) + 2}, column latitude: 'abc'" in (
        scene.versions["incidents"].problems[0].message
    )
    sim.step(incidents=1)  # the writer rewrites the file whole, bad row gone: read again
    assert not loader.load().versions["incidents"].stale_copy
    assert_same_as_whole_read(loader, sim.out)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_windows_line_ends_and_a_bom_read_appended_rows_too(
    tmp_path: Path, newline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[bytes] = []
    real_parse = parse
    monkeypatch.setattr(
        "layers.io.store.parse",
        lambda feed, path, data, *progress: (
            parsed.append(data) or real_parse(feed, path, data, *progress)
        ),
    )
    path = tmp_path / "polling_stations.csv"
    rows = ["id,name,lat,lon,registered_voters", "S1,One,6.3,-10.8,100", "S2,Two,6.4,-10.7,50"]
    body = newline.join(rows) + newline
    write_atomic(path, b"\xef\xbb\xbf" + body.encode())
    loader = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)}))
    loader.store.get("polling_stations")
    body += newline.join(["S3,Three,6.5,-10.6,70", "S1,Again,6.6,-10.5,10"]) + newline
    write_atomic(path, b"\xef\xbb\xbf" + body.encode())
    kept = loader.store.get("polling_stations")
    assert b"S2,Two" not in parsed[-1] and b"S3,Three" in parsed[-1]  # the new rows alone
    whole = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)})).store.get(
        "polling_stations"
    )
    pd.testing.assert_frame_equal(kept.data, whole.data)
    assert problems(kept) == problems(whole)
    assert kept.data["id"].tolist() == ["S1", "S2", "S3"]  # the repeated S1 left out


def plain(data: dict) -> dict:
    """A map dataset with every labelled column written out, to compare values."""
    from layers.map.payload import _plain

    return {
        **data,
        "columns": {name: _plain(column) for name, column in data["columns"].items()},
    }


def test_grown_feed_derives_and_builds_its_new_rows_alone(live) -> None:  # type: ignore[no-untyped-def]
    from layers.core import growth

    sim, loader, _ = live
    now = sim.now + pd.Timedelta(minutes=5)  # after every step's incidents
    cache = DerivedCache()
    scene = loader.load(now=now)
    derived = cache.derive(scene)
    first = cache.map_chunks(scene, derived, "incidents")
    assert len(first) == 1  # one full build
    risk = Risk.find(derived["polling_stations"], derived["incidents"], now, "low")
    base, pairs = risk, len(risk.s)
    for _ in range(3):
        sim.step(incidents=3)
        scene = loader.load(now=now)
        before = derived["incidents"]
        derived = cache.derive(scene)
        assert growth.extends(derived["incidents"], before)  # only the new rows derived
        assert len(derived["incidents"]) > len(before)
        whole = derive_picture(scene)
        pd.testing.assert_frame_equal(derived["incidents"], whole["incidents"])
        chunks = cache.map_chunks(scene, derived, "incidents")
        assert chunks[0] == first[0] and len(chunks) == 2  # the full build kept, new rows apart
        fresh = map_datasets(whole, "incidents")
        for part in ("main", "details"):
            kept = joined_columnar(chunks[0][1][part], chunks[1][1][part])
            assert plain(kept) == plain(fresh[part])
        risk = risk.grown(derived["incidents"])
        again = Risk.find(derived["polling_stations"], whole["incidents"], now, "low")
        pd.testing.assert_frame_equal(risk.summary(), again.summary())
        assert risk.overlay == again.overlay
        change = risk.changes(base)
        assert change is not None
        for laid, whole_part, base_part in zip(
            (patched(b, c) for b, c in zip(base.overlay, change, strict=True)),
            again.overlay,
            base.overlay,
            strict=True,
        ):
            assert laid == whole_part
            # Only the stations near the new incidents travel, not all of them.
            assert set(change[0]["at"]) == set(risk.s[len(base.s) :].tolist())
            assert len(change[0]["at"]) < base_part["n"]
    assert len(risk.s) > pairs  # the new incidents put stations at risk


def patched(base: dict, change: dict) -> dict:
    """``base`` with ``change``'s rows laid over it, as the browser does (pollwatch.js)."""
    out = dict(base)
    if "s" in change:
        out["s"] = list(base["s"])
        for row, value in zip(change["at"], change["s"], strict=True):
            out["s"][row] = value
    if "columns" in change:
        out["columns"] = dict(base["columns"])
        for name, values in change["columns"].items():
            column = list(base["columns"][name])
            for row, value in zip(change["at"], values, strict=True):
                column[row] = value
            out["columns"][name] = column
    return out
