"""Map pieces: compact features, and feed text that can only ever show as text."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import shapely

from layers import mapping

PAYLOAD = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>'


def test_feed_text_never_reaches_the_page_as_html() -> None:
    frame = gpd.GeoDataFrame(
        {"name": [PAYLOAD]}, geometry=[shapely.Point(-10.8, 6.3)], crs="EPSG:4326"
    )
    m = folium.Map()
    mapping.feature_group("Stations", frame, [{}], tooltip="name", popup=[("Name", "name")]).add_to(
        m
    )
    html = m.get_root().render()
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "\\u003cimg src=x onerror=" in html  # carried as JSON text
    script = html[html.index("L.geoJSON(null") :]
    assert "textContent" in script and "innerHTML" not in script
    assert not re.search(r"bindTooltip\([^)]*\+", script)


def test_feature_collection_is_compact_and_skips_unlocated_rows() -> None:
    frame = gpd.GeoDataFrame(
        {"a": [1, 2], "b": ["x", "y"]},
        geometry=[shapely.Point(-10.123456789, 6.987654321), None],
        crs="EPSG:4326",
    )
    fc = mapping.feature_collection(frame, ["a"], [3, 4])
    assert len(fc["features"]) == 1
    feature = fc["features"][0]
    assert feature["geometry"]["coordinates"] == [-10.12346, 6.98765]
    assert feature["properties"] == {"a": 1, "_s": 3}
    json.dumps(fc)


def test_base_map_can_load_leaflet_from_the_app_itself() -> None:
    m = mapping.base_map((-11.5, 4.3, -7.3, 8.6), tiles="none", assets="/app/static")
    html = m.get_root().render()
    assert "/app/static/leaflet-1.9.4/leaflet.js" in html
    assert (
        "cdn.jsdelivr" not in html
        and "code.jquery" not in html
        and "tile.openstreetmap" not in html
    )
