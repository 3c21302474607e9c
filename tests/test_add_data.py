"""The Add data page: a dropped file, what would be read from it, and writing it in under
the feed's name (layers/io/intake.py, dashboard/add_data.py)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from streamlit.testing.v1 import AppTest
from test_app import copy_folder

from conftest import ROOT, audit_events, shown
from layers.access.policy import may
from layers.access.roles import Role
from layers.core.settings import Settings
from layers.io import intake
from layers.registry import REGISTRY
from layers.scene import SceneLoader

APP = str(ROOT / "dashboard" / "main.py")


def shapefile_parts(tmp_path: Path, names: list[str]) -> list[tuple[str, bytes]]:
    frame = gpd.GeoDataFrame(
        {"ADM1_EN": names},
        geometry=[shapely.box(-11 + i, 5, -10.1 + i, 6) for i in range(len(names))],
        crs="EPSG:4326",
    )
    frame.to_file(tmp_path / "export.shp")
    return [(p.name, p.read_bytes()) for p in sorted(tmp_path.glob("export.*"))]


def test_what_is_dropped_becomes_one_file_of_the_feed(tmp_path: Path) -> None:
    one = intake.upload_of("incidents", [("ACLED export 2020.CSV", b"a,b\n")])
    assert one == intake.Upload("incidents.csv", b"a,b\n")
    parts = intake.upload_of("areas", shapefile_parts(tmp_path, ["North"]))
    assert parts.name == "areas.zip"
    with zipfile.ZipFile(io.BytesIO(parts.data)) as z:
        assert {"areas.shp", "areas.shx", "areas.dbf", "areas.prj"} <= set(z.namelist())
    for files, said in (
        ([("report.xlsx", b"PK")], "not a format"),
        ([("areas.shp", b"x")], "a set of files"),
        ([("a.csv", b"x"), ("b.csv", b"y")], "only a shapefile's parts"),
    ):
        with pytest.raises(ValueError, match=said):
            intake.upload_of("areas", files)
    assert intake.guess_feed("incidents_2020.csv", list(REGISTRY)) == "incidents"
    assert intake.guess_feed("convoy_positions.gpx", list(REGISTRY)) == "convoy_positions"
    assert intake.guess_feed("export.csv", list(REGISTRY)) is None


def test_install_moves_the_feeds_other_files_aside_never_deletes(tmp_path: Path) -> None:
    (tmp_path / "incidents.csv").write_text("old csv\n")
    (tmp_path / "incidents.geojson").write_text("{}")
    moved = intake.install(tmp_path, intake.Upload("incidents.csv", b"new\n"))
    assert sorted(moved) == ["incidents.csv", "incidents.geojson"]
    assert (tmp_path / "incidents.csv").read_bytes() == b"new\n"
    aside = sorted(p.name.split("-", 1)[1] for p in (tmp_path / intake.REPLACED).iterdir())
    assert aside == ["incidents.csv", "incidents.geojson"]
    loaded = SceneLoader(Settings(tmp_path)).load()
    assert ".replaced/" not in dict(loaded.unread)  # hidden: not a file the folder lists


def test_only_operations_may_add_data() -> None:
    assert may(Role.OPERATIONS, "add_data")
    assert not may(Role.COMMISSION, "add_data") and not may(Role.PARTNER, "add_data")


def test_a_dropped_shapefile_is_previewed_asked_about_and_added(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "feeds").mkdir()
    folder = copy_folder(sample_folder, tmp_path / "feeds")
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    monkeypatch.setenv("POLLWATCH_AUDIT", str(tmp_path / "audit"))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("add_data.py")
    at.run()
    assert not at.exception, at.exception
    parts = shapefile_parts(tmp_path, ["North <b>", "South"])
    at.file_uploader(key="add_files").set_value(
        [(name, data, "application/octet-stream") for name, data in parts]
    ).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="add_feed").value == "areas"  # (the first feed: "export" names none)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows read"] == "2" and metrics["With a location"] == "2"
    mapping = at.dataframe[0].value
    assert ("adm1_en", "name") in set(zip(mapping.iloc[:, 0], mapping.iloc[:, 1], strict=True))
    # Fewer rows than the 15 counties shown: asked first.
    warning = " ".join(shown(w.value) for w in at.warning)
    assert "The feed now shows 15 located rows (areas.geojson); this file has 2" in warning
    assert at.button(key="add_go").disabled
    at.checkbox(key="add_fewer").check().run()
    at.button(key="add_go").click().run()
    assert not at.exception, at.exception
    assert (folder / "areas.zip").is_file() and not (folder / "areas.geojson").exists()
    assert any("Added areas.zip (2 rows)" in shown(s.value) for s in at.success)
    areas = SceneLoader(Settings(folder)).load()["areas"]
    assert sorted(areas["name"]) == ["North <b>", "South"]
    event = next(e for e in audit_events(tmp_path / "audit") if e["event"] == "add-data")
    assert "areas.zip" in str(event["detail"]) and "sha256" in str(event["detail"])
