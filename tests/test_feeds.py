"""Reading feed files: whole files, encodings, short headers, HXL rows, last good copy."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pyproj
import pytest

from layers.core.problems import Level
from layers.core.settings import Settings
from layers.io.files import StillWriting, locate, read_whole, write_atomic
from layers.io.parsing import parse
from layers.io.raw import FeedError
from layers.io.store import FeedStore
from layers.scene import SceneLoader

STATIONS_CSV = "id,name,latitude,longitude,registered_voters\nS1,One,6.3,-10.8,100\n"


def test_locate_finds_either_suffix_and_warns_about_two(tmp_path: Path) -> None:
    assert locate(tmp_path, "incidents") == (None, [])
    (tmp_path / "incidents.csv").write_text("x")
    path, problems = locate(tmp_path, "incidents")
    assert path == tmp_path / "incidents.csv" and problems == []
    (tmp_path / "incidents.geojson").write_text("{}")
    path, problems = locate(tmp_path, "incidents")
    assert path is not None and problems[0].kind == "several_files"
    assert "incidents.geojson" in problems[0].message and "incidents.csv" in problems[0].message


@pytest.mark.parametrize("data", [b"", b"   \n\n"])
def test_empty_file_is_a_feed_error(data: bytes) -> None:
    with pytest.raises(FeedError, match="empty") as err:
        parse("incidents", Path("incidents.csv"), data)
    assert err.value.problem.kind == "empty_file"


def test_half_written_geojson_names_line_and_column() -> None:
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Point", "coordinates": [1, 2]},
                }
            ],
        }
    )
    with pytest.raises(FeedError, match=r"not valid JSON \(line 1, column \d+") as err:
        parse("incidents", Path("incidents.geojson"), text[: len(text) // 2].encode())
    assert err.value.problem.kind == "unparseable"
    assert "half-written" in err.value.problem.fix


def test_geojson_that_is_not_a_feature_collection() -> None:
    with pytest.raises(FeedError, match="expected a GeoJSON FeatureCollection, got 'Topology'"):
        parse("areas", Path("areas.geojson"), b'{"type": "Topology"}')


def test_windows_1252_file_is_read_and_reported() -> None:
    raw = parse(
        "polling_stations",
        Path("s.csv"),
        "id,name,lat,lon\nS1,École Saint-Michel,6.3,-10.8\n".encode("cp1252"),
    )
    assert raw.values.loc[0, "name"] == "École Saint-Michel"
    assert raw.problems[0].kind == "encoding" and raw.problems[0].level == Level.WARNING


def test_utf8_bom_and_semicolons_and_decimal_commas_are_read() -> None:
    raw = parse(
        "polling_stations", Path("s.csv"), "\ufeffid;name;lat;lon\nS1;Bong;6,99;-9,47\n".encode()
    )
    assert list(raw.values.columns) == ["id", "name", "lat", "lon"]
    assert raw.values.loc[0, "lat"] == "6,99"


def test_short_header_does_not_shift_columns() -> None:
    text = (
        "County\tConstituency\tLatitude\tLongitude\n"
        "BOMI\tTUBMANBURG\tPOLLING PLACE A\t6.87\t-10.81\n"
        "BONG\tGBARNGA\tPOLLING PLACE B\t6.99\t-9.47\n"
    )
    raw = parse("polling_stations", Path("places.tsv"), text.encode())
    assert list(raw.values.columns) == [
        "county",
        "constituency",
        "column_3",
        "latitude",
        "longitude",
    ]
    assert raw.values.loc[1, "latitude"] == "6.99"
    short = [p for p in raw.problems if p.kind == "short_header"]
    assert len(short) == 1 and short[0].row == 1
    assert "4 names but the rows have 5 fields" in short[0].message


def test_hxl_row_is_recognised_not_read_as_data() -> None:
    text = (
        ",event_date,latitude,longitude,fatalities\n"
        "0,#date+occurred,#geo+lat,#geo+lon,#affected+killed\n"
        "1,2020-12-31,9.05,7.49,2\n"
    )
    raw = parse("incidents", Path("acled.csv"), text.encode())
    assert len(raw.values) == 1 and raw.rows.tolist() == [3]
    assert raw.hxl["latitude"] == "#geo+lat"


def test_row_with_missing_fields_is_kept_and_reported() -> None:
    raw = parse("polling_stations", Path("s.csv"), (STATIONS_CSV + "S2,Two,6.4\n").encode())
    assert len(raw.values) == 2
    problem = next(p for p in raw.problems if p.kind == "row_length")
    assert problem.row == 3 and "3 fields where the header has 5" in problem.message


def test_geojson_crs_other_than_wgs84_is_reprojected() -> None:
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32629"}},
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [311_000, 698_000]},
            }
        ],
    }
    raw = parse("polling_stations", Path("s.geojson"), json.dumps(doc).encode())
    assert raw.lon is not None and raw.lat is not None
    lon, lat = pyproj.Transformer.from_crs(32629, 4326, always_xy=True).transform(311_000, 698_000)
    assert (raw.lon[0], raw.lat[0]) == pytest.approx((lon, lat), abs=1e-9)
    assert -11 < lon < -10 and 6 < lat < 7  # near Monrovia, not in metres


def test_unknown_crs_is_a_feed_error() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [],
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}},
    }
    with pytest.raises(FeedError, match="CRS that is not known"):
        parse("areas", Path("areas.geojson"), json.dumps(doc).encode())


def test_write_atomic_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "incidents.csv"
    write_atomic(target, "a,b\n1,2\n")
    write_atomic(target, "a,b\n3,4\n")
    assert target.read_text() == "a,b\n3,4\n"
    assert [p.name for p in tmp_path.iterdir()] == ["incidents.csv"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def _rewrite_loop(path: str, stop_after: float) -> None:
    end = time.monotonic() + stop_after
    i = 0
    while time.monotonic() < end:
        rows = "".join(f"S{j},Name {j},6.{j % 9},-10.{j % 7},{i}\n" for j in range(200))
        write_atomic(Path(path), "id,name,latitude,longitude,registered_voters\n" + rows)
        i += 1


def test_reader_never_sees_half_a_file_while_a_writer_replaces_it(tmp_path: Path) -> None:
    target = tmp_path / "polling_stations.csv"
    _rewrite_loop(str(target), 0.0)
    write_atomic(target, "id,name,latitude,longitude,registered_voters\n")
    writer = multiprocessing.get_context("spawn").Process(
        target=_rewrite_loop, args=(str(target), 3.0)
    )
    writer.start()
    reads = failures = 0
    try:
        while writer.is_alive() or reads < 100:
            try:
                data, _ = read_whole(target)
            except StillWriting:  # changed at every look: left for the next, never half-read
                continue
            raw = parse("polling_stations", target, data)
            reads += 1
            failures += int(len(raw.values) not in (0, 200) or bool(raw.problems))
    finally:
        writer.join()
    assert reads >= 100 and failures == 0


def test_store_keeps_last_good_copy_and_recovers(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    path = folder / "polling_stations.csv"
    write_atomic(path, STATIONS_CSV)
    loader = SceneLoader(Settings(folder))
    first = loader.store.get("polling_stations")
    assert first.data is not None and len(first.data) == 1 and not first.stale_copy

    write_atomic(path, "name,registered_voters\nOne,100\n")  # lost its coordinates
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    broken = loader.store.get("polling_stations")
    assert broken.stale_copy and broken.data is not None and len(broken.data) == 1
    assert broken.problems[0].kind == "kept_last_good"
    assert "no latitude/longitude columns" in broken.problems[0].message

    write_atomic(path, STATIONS_CSV + "S2,Two,6.4,-10.7,50\n")
    recovered = loader.store.get("polling_stations")
    assert not recovered.stale_copy and recovered.data is not None and len(recovered.data) == 2


def test_store_reads_a_file_again_only_when_it_changed(tmp_path: Path) -> None:
    write_atomic(tmp_path / "polling_stations.csv", STATIONS_CSV)
    calls = []

    def build(feed, raw):  # type: ignore[no-untyped-def]
        calls.append(feed)
        return raw.values, []

    store: FeedStore = FeedStore(tmp_path, build)
    assert store.get("polling_stations") is store.get("polling_stations")
    assert calls == ["polling_stations"]


def test_missing_feed_is_reported_and_others_still_load(tmp_path: Path) -> None:
    write_atomic(tmp_path / "polling_stations.csv", STATIONS_CSV)
    scene = SceneLoader(Settings(tmp_path)).load()
    assert len(scene["polling_stations"]) == 1
    assert len(scene["incidents"]) == 0
    missing = [p for p in scene.problems if p.kind == "missing_file"]
    assert {p.feed for p in missing} == {
        "patrols",
        "convoy_routes",
        "convoy_positions",
        "incidents",
    }  # areas is optional


def test_lines_of_spaces_are_not_rows(tmp_path: Path) -> None:
    text = "id,name,lat,lon,registered_voters\n   \nS1,One,6.3,-10.8,100\n \t \n,,,,\nS2,Two,6.4,-10.7,50\n  \n"
    raw = parse("polling_stations", tmp_path / "p.csv", text.encode())
    assert raw.values["id"].tolist() == ["S1", "S2"]
    assert raw.rows.tolist() == [3, 6]  # as a spreadsheet numbers the lines
    assert not raw.problems


def test_an_os_failure_is_a_failed_feed_that_keeps_its_last_good_copy_and_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "polling_stations.csv"
    write_atomic(path, STATIONS_CSV)
    loader = SceneLoader(Settings(tmp_path))
    assert len(loader.load()["polling_stations"]) == 1
    write_atomic(path, STATIONS_CSV + "S2,Two,6.4,-10.7,50\n")
    real = read_whole

    def denied(p: Path, attempts: int = 5):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr("layers.io.store.read_whole", denied)
    version = loader.load().versions["polling_stations"]
    assert version.stale_copy and len(version.data) == 1  # the last good copy stays
    problem = next(p for p in version.problems if p.kind == "os_error")
    assert "Permission denied" in problem.message and problem.file == "polling_stations.csv"
    assert "showing" in version.problems[0].message
    # Fixing a permission changes neither time nor size: the file is tried again anyway.
    monkeypatch.setattr("layers.io.store.read_whole", real)
    version = loader.load().versions["polling_stations"]
    assert not version.stale_copy and len(version.data) == 2


def test_a_file_that_vanishes_between_listing_and_reading_is_a_failed_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "polling_stations.csv"
    write_atomic(path, STATIONS_CSV)
    real = locate

    def listed_then_gone(folder: Path, feed: str):  # type: ignore[no-untyped-def]
        found = real(folder, feed)
        if feed == "polling_stations":
            path.unlink()
        return found

    monkeypatch.setattr("layers.io.store.locate", listed_then_gone)
    version = SceneLoader(Settings(tmp_path)).load().versions["polling_stations"]
    assert version.data is None
    assert [p.kind for p in version.problems] == ["os_error"]


def test_an_exception_in_a_layers_load_is_a_failed_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from layers import polling_stations

    path = tmp_path / "polling_stations.csv"
    write_atomic(path, STATIONS_CSV)
    loader = SceneLoader(Settings(tmp_path))
    assert len(loader.load()["polling_stations"]) == 1

    def broken(raw, ctx):  # type: ignore[no-untyped-def]
        raise KeyError("a layer's own bug")

    monkeypatch.setattr(polling_stations, "load", broken)
    write_atomic(path, STATIONS_CSV + "S2,Two,6.4,-10.7,50\n")
    version = loader.load().versions["polling_stations"]
    assert version.stale_copy and len(version.data) == 1
    fault = next(p for p in version.problems if p.kind == "internal_error")
    assert "KeyError" in fault.message and "a layer's own bug" in fault.message


def test_a_malformed_scenario_manifest_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    write_atomic(tmp_path / "polling_stations.csv", STATIONS_CSV)
    for text in (
        '{"label": "EXERCISE", "anchor": ',
        "[1, 2]",
        '{"anchor": "not a time", "shift_times_to_now": true}',
    ):
        write_atomic(tmp_path / "scenario.json", text)
        scene = SceneLoader(Settings(tmp_path)).load()
        assert len(scene["polling_stations"]) == 1
        assert [p.kind for p in scene.problems if p.feed == "scenario"] == ["bad_manifest"]


# ------------------------------------------------------------- hostile file contents


def hostile_files() -> dict[str, bytes]:
    rng = np.random.default_rng(7)
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    bad_crs = json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": "EPSG:32629"},
            "features": [],
        }
    ).encode()
    huge_cell = (STATIONS_CSV + "S2," + "x" * 200_000 + ",6.4,-10.7,50\n").encode()
    return {
        "polling_stations.geojson deep": deep,
        "polling_stations.geojson crs": bad_crs,
        "polling_stations.csv huge cell": huge_cell,
        "polling_stations.csv random": rng.integers(0, 256, 1_000_000, dtype=np.uint8).tobytes(),
    }


@pytest.mark.parametrize("case", sorted(hostile_files()))
def test_a_hostile_file_is_a_failed_version_with_a_reason_and_the_last_good_copy_stays(
    case: str, tmp_path: Path
) -> None:
    name = case.split()[0]
    good = tmp_path / "polling_stations.csv"
    write_atomic(good, STATIONS_CSV)
    loader = SceneLoader(Settings(tmp_path))
    assert len(loader.load()["polling_stations"]) == 1
    good.unlink()
    (tmp_path / name).write_bytes(hostile_files()[case])
    version = loader.load().versions["polling_stations"]
    assert version.data is not None and len(version.data) == 1  # the last good copy
    assert version.stale_copy
    reasons = [p for p in version.problems if p.level == Level.ERROR]
    assert reasons and all(p.kind != "internal_error" for p in reasons), [str(p) for p in reasons]
    assert "showing" in version.problems[0].message


def test_lone_carriage_returns_are_line_ends_not_errors(tmp_path: Path) -> None:
    text = STATIONS_CSV.replace("\n", "\r") + "S2,Two,6.4,-10.7,50\r"
    raw = parse("polling_stations", tmp_path / "p.csv", text.encode())
    assert raw.values["id"].tolist() == ["S1", "S2"]
    stray = STATIONS_CSV + "S2,Tw\ro,6.4,-10.7,50\n"  # a stray CR inside a cell
    raw = parse("polling_stations", tmp_path / "p.csv", stray.encode())
    assert any(p.kind == "row_length" for p in raw.problems)  # reported, not a traceback


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read(codec: str, tmp_path: Path) -> None:
    text = STATIONS_CSV.replace("One", "Zwédru")
    raw = parse("polling_stations", tmp_path / "p.csv", text.encode(codec))
    assert raw.values["name"].tolist() == ["Zwédru"]
    assert [p.kind for p in raw.problems] == ["encoding"] and codec in raw.problems[0].message
