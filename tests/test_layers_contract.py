"""The same checks over every registered layer: declared contract, load, pure derive, render."""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import pytest

from layers import REGISTRY
from layers.config import Settings
from layers.scene import Scene, SceneLoader
from layers.schema import empty_frame

LAYERS = sorted(REGISTRY)


@pytest.fixture(scope="module")
def scene(sample_folder: Path) -> Scene:
    from conftest import ANCHOR

    return SceneLoader(Settings(sample_folder), now=ANCHOR).load(now=ANCHOR)


def test_registry_lists_every_feed_once() -> None:
    assert LAYERS == [
        "areas",
        "convoy_positions",
        "convoy_routes",
        "incidents",
        "patrols",
        "polling_stations",
    ]
    assert all(REGISTRY[name].SPEC.name == name for name in LAYERS)


@pytest.mark.parametrize("name", LAYERS)
def test_spec_is_declared(name: str) -> None:
    spec = REGISTRY[name].SPEC
    assert spec.title and spec.geometry and spec.fields
    names = [f.name for f in spec.fields]
    assert len(names) == len(set(names))
    assert spec.id_field is None or spec.id_field in names
    for f in spec.fields:
        assert f.doc, f"{name}.{f.name} has no doc"
        assert f.kind != "choice" or f.choices


@pytest.mark.parametrize("name", LAYERS)
def test_load_gives_declared_columns_in_wgs84(name: str, scene: Scene) -> None:
    frame = scene[name]
    assert isinstance(frame, gpd.GeoDataFrame) and len(frame) > 0
    assert frame.crs.to_epsg() == 4326
    assert set(REGISTRY[name].SPEC.columns) <= set(frame.columns)
    types = set(frame.geom_type.dropna())
    assert types <= set(REGISTRY[name].SPEC.geometry)
    assert scene.versions[name].problems == []  # our own sample is clean


@pytest.mark.parametrize("name", LAYERS)
def test_derive_is_pure(name: str, scene: Scene) -> None:
    before = scene[name].copy()
    derived = REGISTRY[name].derive(scene[name], scene)
    assert derived is not scene[name]
    assert list(scene[name].columns) == list(before.columns)
    assert scene[name].equals(before)
    assert len(derived) > 0


@pytest.mark.parametrize("name", LAYERS)
def test_render_gives_a_named_feature_group(name: str, scene: Scene) -> None:
    derived = REGISTRY[name].derive(scene[name], scene)
    group = REGISTRY[name].render(derived)
    assert isinstance(group, folium.FeatureGroup) and group.layer_name
    m = folium.Map()
    group.add_to(m)
    html = m.get_root().render()
    assert group.get_name() in html


@pytest.mark.parametrize("name", LAYERS)
def test_empty_frame_loads_derives_and_renders(name: str, scene: Scene) -> None:
    empty = empty_frame(REGISTRY[name].SPEC)
    empty_scene = Scene({n: empty_frame(REGISTRY[n].SPEC) for n in LAYERS}, now=scene.now)
    derived = REGISTRY[name].derive(empty, empty_scene)
    assert len(derived) == 0
    assert isinstance(REGISTRY[name].render(derived), folium.FeatureGroup)
