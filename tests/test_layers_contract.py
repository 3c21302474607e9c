"""The same checks over every registered layer: declared contract, load, pure derive, render."""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import pytest

from layers.analysis.filters import FILTERS, Filters, apply, browser_where, choices
from layers.analysis.picture import DerivedCache, derive_picture
from layers.contract import MapView
from layers.core.settings import Settings
from layers.io.spec import empty_frame
from layers.registry import REGISTRY
from layers.scene import Scene, SceneLoader

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
        "deliveries",
        "incidents",
        "patrols",
        "polling_stations",
        "storage_sites",
        "training",
    ]
    assert all(REGISTRY[name].SPEC.name == name for name in LAYERS)


@pytest.mark.parametrize("name", LAYERS)
def test_spec_is_declared(name: str) -> None:
    spec = REGISTRY[name].SPEC
    assert spec.title and spec.fields  # no geometry: rows located by another feed
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


def view_of(scene: Scene) -> MapView:
    derived = derive_picture(scene)
    shown = apply(derived, Filters(), scene.now).frames
    return MapView(derived, shown, {}, browser_where(Filters(), scene.now))


@pytest.mark.parametrize("name", LAYERS)
def test_draw_gives_a_named_feature_group(name: str, scene: Scene) -> None:
    group = REGISTRY[name].draw(view_of(scene))
    assert isinstance(group, folium.FeatureGroup) and group.layer_name
    m = folium.Map()
    group.add_to(m)
    html = m.get_root().render()
    assert group.get_name() in html


@pytest.mark.parametrize("name", LAYERS)
def test_declarations_name_real_feeds_filters_columns_and_parts(name: str, scene: Scene) -> None:
    layer = REGISTRY[name]
    assert set(layer.DERIVE.needs) <= set(REGISTRY) - {name}
    derived = derive_picture(scene)[name]
    for filter_name, column in layer.FILTERS.items():
        assert filter_name in FILTERS and column in derived, (filter_name, column)
    parts = layer.datasets(derived)
    assert tuple(parts) == layer.PUBLISH.parts
    assert all(isinstance(part, dict) for part in parts.values())
    assert isinstance(layer.LEGEND[0], str) and layer.LEGEND[1]


@pytest.mark.parametrize("name", LAYERS)
def test_empty_frame_loads_derives_and_draws(name: str, scene: Scene) -> None:
    empty = empty_frame(REGISTRY[name].SPEC)
    empty_scene = Scene({n: empty_frame(REGISTRY[n].SPEC) for n in LAYERS}, now=scene.now)
    derived = REGISTRY[name].derive(empty, empty_scene)
    assert len(derived) == 0
    assert isinstance(REGISTRY[name].draw(view_of(empty_scene)), folium.FeatureGroup)


def test_a_new_layer_takes_its_module_and_one_registry_line(
    tmp_path: Path, sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """layers/storage_sites.py came as its module, its test and one registry line: no page,
    no publisher and no script names it, and it is loaded, derived with areas, filtered,
    published, drawn and listed on the Feeds page."""
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT
    from layers.views.publish import Publisher, published_layers

    storage_sites = REGISTRY["storage_sites"]
    for path in sample_folder.iterdir():
        if path.stem != "storage_sites":
            (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "storage_sites.csv").write_text(
        "id,name,admin1,kind,latitude,longitude\n"
        "W1,Gbarnga store,Bong,warehouse,6.99,-9.47\n"
        "W2,Voinjama magazine,Lofa,magazine,8.42,-9.75\n"
    )
    scene = SceneLoader(Settings(tmp_path)).load()
    derived = derive_picture(scene)
    assert derived["storage_sites"]["area"].tolist() == ["Bong", "Lofa"]
    filters = Filters(areas=("Lofa",))
    shown = apply(derived, filters, scene.now).frames
    assert shown["storage_sites"]["id"].tolist() == ["W2"]
    where = browser_where(filters, scene.now)
    assert where["storage_sites"] == {"columns": {"area": ["Lofa"]}}
    urls = published_layers(
        Publisher(tmp_path / "published", "/data"),
        DerivedCache(),
        scene,
        derived,
        shown,
        filters,
    )
    assert set(urls["storage_sites"]) == {"main", "details", "outlines"}
    view = MapView(derived, shown, urls, where)
    m = folium.Map()
    storage_sites.draw(view).add_to(m)
    assert "storage_sites" in m.get_root().render()
    assert "Lofa" in choices(derived)["area"]
    monkeypatch.setenv("POLLWATCH_FEEDS", str(tmp_path))
    for page in ("operations.py", "coverage.py", "feeds.py"):
        at = AppTest.from_file(str(ROOT / "dashboard" / page), default_timeout=90)
        at.run()
        assert not at.exception, (page, at.exception)
    table = at.dataframe[0].value.set_index("feed")
    assert table.loc["Storage sites", "rows"] == 2
    for path in (ROOT / "dashboard").rglob("*"):
        if path.suffix in (".py", ".js", ".css", ".html"):
            assert "storage" not in path.read_text().lower(), path


# ---------------------------------------------------------------- bad input, for every layer

VALID = {"text": "x", "int": "1", "float": "1", "time": "2026-10-11T10:00:00Z", "bool": "true"}
GEOMETRY = {
    "Point": {"type": "Point", "coordinates": [-10.8, 6.3]},
    "LineString": {"type": "LineString", "coordinates": [[-10.8, 6.3], [-10.7, 6.4]]},
    "Polygon": {
        "type": "Polygon",
        "coordinates": [[[-10.8, 6.3], [-10.7, 6.3], [-10.7, 6.4], [-10.8, 6.3]]],
    },
}
WRONG = {
    "Point": GEOMETRY["LineString"],
    "LineString": GEOMETRY["Point"],
    "Polygon": GEOMETRY["Point"],
}
BROKEN = {
    "Point": {"type": "Point", "coordinates": ["east", "north"]},
    "LineString": {"type": "LineString", "coordinates": [[-10.8, 6.3]]},
    "Polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
}
BROKEN_KIND = {
    "Point": "not_a_number",
    "LineString": "invalid_geometry",
    "Polygon": "invalid_geometry",
}


def good_props(name: str, i: int) -> dict[str, object]:
    spec = REGISTRY[name].SPEC
    props: dict[str, object] = {}
    for f in spec.fields:
        props[f.name] = f.choices[0] if f.kind == "choice" else VALID[f.kind]
    if spec.id_field:
        props[spec.id_field] = f"id-{i}"
    return props


def feature(name: str, i: int, geometry: dict | None = None, **override: object) -> dict:
    kinds = REGISTRY[name].SPEC.geometry  # none: rows without a location of their own
    return {
        "type": "Feature",
        "properties": {**good_props(name, i), **override},
        "geometry": GEOMETRY[kinds[0]] if geometry is None and kinds else geometry,
    }


def load_features(name: str, features: list[dict]):  # type: ignore[no-untyped-def]
    from conftest import geojson, load_text

    return load_text(name, f"{name}.geojson", geojson(features))


def bad_cases(name: str) -> list[tuple[str, dict, str, str]]:
    """(case, bad feature, problem kind, column) for every way this layer's input can be bad."""
    spec = REGISTRY[name].SPEC
    kind = spec.geometry[0] if spec.geometry else None
    cases = []
    if kind is not None:
        cases = [
            (
                "no geometry",
                {**feature(name, 99), "geometry": None},
                "missing_coordinates",
                "geometry",
            ),
            (
                "wrong geometry type",
                feature(name, 99, WRONG[kind]),
                "wrong_geometry_type",
                "geometry",
            ),
            ("broken geometry", feature(name, 99, BROKEN[kind]), BROKEN_KIND[kind], "geometry"),
        ]
    if kind == "Point":
        cases.append(
            (
                "null island",
                feature(name, 99, {"type": "Point", "coordinates": [0, 0]}),
                "null_island",
                "geometry",
            )
        )
        cases.append(
            (
                "out of range",
                feature(name, 99, {"type": "Point", "coordinates": [-300, 6.3]}),
                "out_of_range",
                "geometry",
            )
        )
    if spec.id_field:
        cases.append(("duplicate id", feature(name, 0), "duplicate_id", spec.id_field))
    for f in spec.fields:
        if f.kind == "choice":
            cases.append(
                (
                    f"unknown {f.name}",
                    feature(name, 99, **{f.name: "nonsense"}),
                    "unknown_value",
                    f.name,
                )
            )
        if f.kind == "time":
            cases.append(
                (f"bad {f.name}", feature(name, 99, **{f.name: "soon-ish"}), "bad_time", f.name)
            )
        if f.kind in ("int", "float"):
            cases.append(
                (f"bad {f.name}", feature(name, 99, **{f.name: "lots"}), "not_a_number", f.name)
            )
    return cases


@pytest.mark.parametrize(("name", "case"), [(n, c[0]) for n in LAYERS for c in bad_cases(n)])
def test_every_layer_reports_each_bad_row_and_keeps_the_good_ones(name: str, case: str) -> None:
    _, bad, kind, column = next(c for c in bad_cases(name) if c[0] == case)
    good = [feature(name, i) for i in range(25)]
    frame, problems = load_features(name, [*good, bad])
    found = [p for p in problems if p.kind == kind]
    assert found, f"{case}: no {kind} problem in {[p.kind for p in problems]}"
    assert found[0].row == 26 and found[0].column == column and found[0].fix
    assert found[0].feed == name and found[0].file == f"{name}.geojson"
    kept = 25 if kind == "duplicate_id" else 26
    assert len(frame) == kept
    if REGISTRY[name].SPEC.geometry:
        assert frame.geometry.iloc[:25].notna().all()  # good rows untouched
    assert frame["source_row"].iloc[:25].tolist() == list(range(1, 26))


@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_fails_whole_feeds_with_a_reason(name: str, tmp_path: Path) -> None:
    from conftest import load_text
    from layers.io.raw import FeedError

    with pytest.raises(FeedError, match="empty"):
        load_text(name, f"{name}.csv", "")
    with pytest.raises(FeedError, match="not valid JSON"):
        load_text(name, f"{name}.geojson", '{"type": "FeatureCollection", "features": [{"ty')
    required = [f.name for f in REGISTRY[name].SPEC.fields if f.required]
    for missing in required:
        props = {k: v for k, v in good_props(name, 1).items() if k != missing}
        text = (
            ",".join([*props, "lat", "lon"])
            + "\n"
            + ",".join([str(v) for v in props.values()] + ["6.3", "-10.8"])
            + "\n"
        )
        with pytest.raises(FeedError, match=f"required column '{missing}' is missing"):
            load_text(name, f"{name}.csv", text)
    scene = SceneLoader(Settings(tmp_path)).load()
    missing_file = [p for p in scene.versions[name].problems if p.kind == "missing_file"]
    assert len(missing_file) == (0 if REGISTRY[name].SPEC.optional else 1)
