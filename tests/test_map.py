"""Map pieces: compact features, and feed text that can only ever show as text."""

from __future__ import annotations

import json
import re
from html import unescape as html_unescape
from urllib.parse import parse_qs, urlsplit

import folium
import geopandas as gpd
import pandas as pd
import shapely

from conftest import ROOT
from layers.map.basemap import HELPERS, OSM_TILES, base_map, first_drawn
from layers.map.elements import PointCloud, feature_group
from layers.map.payload import columnar, feature_collection, split_details

STATIC = ROOT / "dashboard" / "static"
HELPERS_JS = STATIC / HELPERS

PAYLOAD = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>'


def test_feed_text_never_reaches_the_page_as_html() -> None:
    frame = gpd.GeoDataFrame(
        {"name": [PAYLOAD]}, geometry=[shapely.Point(-10.8, 6.3)], crs="EPSG:4326"
    )
    m = folium.Map()
    feature_group("Stations", frame, [{}], tooltip="name", popup=[("Name", "name")]).add_to(m)
    html = m.get_root().render()
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "\\u003cimg src=x onerror=" in html  # carried as JSON text
    assert "pollwatch.featureLayer(" in html
    # pollwatch.featureLayer binds tooltips and popups through label() and popupTable(),
    # which set textContent only.
    js = HELPERS_JS.read_text()
    script = js[js.index("pollwatch.featureLayer = ") : js.index("pollwatch.legend = ")]
    assert "label(props[tooltip])" in script and "popupTable(popup" in script
    assert "innerHTML" not in js
    assert not re.search(r"bindTooltip\([^)]*\+", script)


def test_feed_text_is_never_run_as_a_template() -> None:
    """branca wraps a rendered script in an Element that compiles it as a Jinja template:
    feed text such as ``{{ 7*7 }}`` inside data sent with the page was evaluated on the
    server (and could reach Python objects). Our map elements put the text in as it is."""
    jinja = "{{ 7*7 }} {% for x in [1, 2] %}loop{% endfor %} {{ cycler.__init__ }}"
    frame = gpd.GeoDataFrame(
        {"name": [jinja]}, geometry=[shapely.Point(-10.8, 6.3)], crs="EPSG:4326"
    )
    m = folium.Map()
    feature_group("Areas", frame, [{}], tooltip="name", popup=[("Name", "name")]).add_to(m)
    data = columnar(frame, ["name"])
    PointCloud("points", data, [{}], tooltip="name").add_to(m)
    html = m.get_root().render()
    assert html.count(json.dumps(jinja)[1:-1]) == 2  # in both layers, as it came
    assert "49 looploop" not in html and "bound method" not in html  # nothing evaluated


def test_the_browser_helpers_only_ever_set_text() -> None:
    js = HELPERS_JS.read_text()
    assert "textContent" in js
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js, sink
    # Leaflet treats a string tooltip/popup/icon as HTML: ours are always elements.
    assert not re.search(r"bind(Tooltip|Popup)\((value|text)\(", js)
    assert re.search(r"divIcon\(\{html: div", js)


def test_feature_collection_is_compact_and_skips_unlocated_rows() -> None:
    frame = gpd.GeoDataFrame(
        {"a": [1, 2], "b": ["x", "y"]},
        geometry=[shapely.Point(-10.123456789, 6.987654321), None],
        crs="EPSG:4326",
    )
    fc = feature_collection(frame, ["a"], [3, 4])
    assert len(fc["features"]) == 1
    feature = fc["features"][0]
    assert feature["geometry"]["coordinates"] == [-10.12346, 6.98765]
    assert feature["properties"] == {"a": 1, "_s": 3}
    json.dumps(fc)


def test_base_map_loads_every_script_from_the_app_itself() -> None:
    m = base_map((-11.5, 4.3, -7.3, 8.6), tiles="none", assets="/app/static")
    html = m.get_root().render()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/app/static/") for s in sources), sources
    for source in sources:  # and each of them is really there to be served
        assert (STATIC / source.removeprefix("/app/static/")).is_file(), source
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html


def test_the_datasets_drawn_first_are_fetched_before_any_script() -> None:
    sources = {
        "polling_stations": {"main": "/d/stations-main-1.json", "details": "/d/st-details.json"},
        "incidents": {"main": {"chunks": ["/d/inc-main-1.json", "/d/inc-main-2.json"]}},
        "at_risk": {"main": {"patch": ["/d/risk-base.json", "/d/risk-patch.json"]}},
        "areas": {"features": {"type": "FeatureCollection", "features": []}},  # inline
    }
    urls = first_drawn(sources)
    assert urls == [
        "/d/stations-main-1.json",
        "/d/inc-main-1.json",
        "/d/inc-main-2.json",
        "/d/risk-base.json",
        "/d/risk-patch.json",
    ]  # details come after the first draw; inline data needs no fetch
    m = base_map((-11.5, 4.3, -7.3, 8.6), tiles="none", assets="/app/static", prefetch=urls)
    html = m.get_root().render()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    first = urlsplit(html_unescape(scripts[0]))
    assert first.path == "/app/static/pollwatch/prefetch.js"  # before Leaflet
    assert parse_qs(first.query)["u"] == urls
    assert (STATIC / "pollwatch" / "prefetch.js").is_file()
    plain = base_map((-11.5, 4.3, -7.3, 8.6), tiles="none", assets="/app/static")
    assert "prefetch.js" not in plain.get_root().render()
    # prefetch.js fetches paths of this server only, and pollwatch.js takes what it got.
    prefetch = (STATIC / "pollwatch" / "prefetch.js").read_text()
    assert 'url.charAt(0) !== "/" || url.charAt(1) === "/"' in prefetch
    assert "pollwatch.prefetched[source]" in (STATIC / "pollwatch" / "pollwatch.js").read_text()


def base_layers(m: folium.Map) -> list[tuple[str, str]]:
    return [
        (c.layer_name, c.tiles) for c in m._children.values() if isinstance(c, folium.TileLayer)
    ]


def test_basemap_choices_put_the_chosen_one_first() -> None:
    offline = base_layers(base_map(None))
    assert [name for name, _ in offline] == [
        "Offline basemap",
        "OpenStreetMap (internet)",
        "No basemap",
    ]
    assert offline[0][1].startswith("data:image/png")  # asks no server for anything
    osm = base_layers(base_map(None, tiles="osm"))
    assert [name for name, _ in osm] == [
        "OpenStreetMap (internet)",
        "Offline basemap",
        "No basemap",
    ]
    assert osm[0][1] == OSM_TILES
    none = base_layers(base_map(None, tiles="none"))
    assert [name for name, _ in none] == [
        "No basemap",
        "Offline basemap",
        "OpenStreetMap (internet)",
    ]
    assert none[0][1].startswith("data:image/png")
    local = base_layers(base_map(None, tiles="http://tiles.local/{z}/{x}/{y}.png"))
    assert local[0] == ("Local tiles", "http://tiles.local/{z}/{x}/{y}.png")
    assert [name for name, _ in local[1:]] == [
        "Offline basemap",
        "OpenStreetMap (internet)",
        "No basemap",
    ]


def test_legend_carries_labels_as_data() -> None:
    m = base_map(None, legend=[("Stations", [("covered <b>", {"fillColor": "#0f0"})])])
    html = m.get_root().render()
    assert "covered \\u003cb\\u003e" in html and "covered <b>" not in html
    assert "pollwatch.legend(" in html
    js = HELPERS_JS.read_text()  # the labels are set as text there
    assert "textContent = section[0]" in js and "createTextNode(item[0])" in js


def test_columnar_points_encode_repeated_text_once() -> None:
    n = 12
    frame = gpd.GeoDataFrame(
        {
            "name": [f"station {i}" for i in range(n)],
            "area": ["North", "South", None] * 4,
            "voters": list(range(n)),
            "time": pd.to_datetime(["2026-10-11T10:00Z"] * (n - 1) + [None], utc=True),
            "radius_m": [1000.0] * n,
        },
        geometry=[shapely.Point(-10 + i / 100, 6.123456789) for i in range(n - 1)] + [None],
        crs="EPSG:4326",
    )
    data = columnar(
        frame, ["name", "area", "voters"], style_index=[1] * n, time="time", radius="radius_m"
    )
    assert data["n"] == n - 1  # the unlocated row is not a point
    assert data["y"][0] == 6.12346 and data["x"][1] == -9.99
    assert data["s"] == [1] * (n - 1)
    assert data["t"][0] == int(pd.Timestamp("2026-10-11T10:00Z").timestamp())
    assert data["r"][0] == 1000.0
    assert data["columns"]["name"][3] == "station 3"  # all distinct: a plain list
    area = data["columns"]["area"]
    assert area["labels"] == ["North", "South"] and area["codes"][:3] == [0, 1, -1]
    assert data["columns"]["voters"][5] == 5
    json.dumps(data)


def test_point_cloud_carries_feed_text_as_json() -> None:
    m = folium.Map()
    group = folium.FeatureGroup("Stations").add_to(m)
    PointCloud(
        "stations",
        {"n": 0, "x": [], "y": [], "s": [], "columns": {"name": [PAYLOAD]}},
        [{}],
        tooltip="name",
    ).add_to(group)
    html = m.get_root().render()
    assert "pollwatch.pointCloud(" in html
    assert "<img src=x" not in html and "<script>alert" not in html


def test_split_details_keeps_what_the_map_draws_and_filters_with() -> None:
    frame = gpd.GeoDataFrame(
        {"name": ["a", "b"], "area": ["N", "N"], "voters": [1, 2]},
        geometry=[shapely.Point(1, 2), shapely.Point(3, 4)],
        crs="EPSG:4326",
    )
    data = columnar(frame, ["name", "area", "voters"], [0, 1])
    main, details = split_details(data, ["area"])
    assert main["x"] == [1.0, 3.0] and main["s"] == [0, 1] and list(main["columns"]) == ["area"]
    assert details == {"n": 2, "columns": {"name": ["a", "b"], "voters": [1, 2]}}


def test_a_map_element_is_rendered_once_for_every_session_with_its_key() -> None:
    """dashboard/mapelement.py catches what st_folium gives its component: the same key
    renders once, and every map goes back to the real component afterwards."""
    import streamlit_folium

    from dashboard import mapelement

    builds: list[str] = []

    def build(name: str) -> dict[str, object]:
        builds.append(name)
        m = base_map((-11.0, 6.0, -10.0, 7.0), "none", "/app/static", [], "v1")
        group = feature_group("Stations", gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"), [])
        return {"fig": m, "key": "map", "returned_objects": [], "feature_group_to_add": [group]}

    key = ("test", build.__name__, id(builds))
    first = mapelement._shared(key, lambda: build("first"))
    second = mapelement._shared(key, lambda: build("second"))
    assert builds == ["first"] and second is first
    assert "L.map" in first["script"] and "feature_group_feature_group_0" in first["feature_group"]
    assert streamlit_folium._component_func is mapelement._COMPONENT  # put back
    own = mapelement._rendered(lambda: build("own"))  # key None: this session's own
    assert builds == ["first", "own"] and own["script"] == first["script"]
