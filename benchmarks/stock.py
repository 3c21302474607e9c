"""The stock approach a user would pick instead of ours: a Streamlit page with
streamlit-folium and folium's FastMarkerCluster of the same stations.

Written to a folder of its own by :func:`stock_app` and run with ``streamlit run``.
folium takes its scripts from CDNs, which a benchmark with the network blocked cannot
reach: the ones the clusters need are served by the page's own server instead, Leaflet
1.9.4 from dashboard/static, Leaflet.markercluster 1.5.3 and Leaflet.awesome-markers 2.0.5
(FastMarkerCluster's markers) from the npm registry, their SHA-512 checked. folium's other
defaults (jQuery, Bootstrap, Font Awesome) are left out: the clusters do not need them,
and leaving them out can only make the stock page faster. Nothing else differs from
folium's documented use.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path

from layers.map.admin1 import download

ROOT = Path(__file__).resolve().parents[1]
MARKERCLUSTER = "https://registry.npmjs.org/leaflet.markercluster/-/leaflet.markercluster-1.5.3.tgz"
MARKERCLUSTER_INTEGRITY = (  # the registry's dist.integrity of 1.5.3
    "sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4"
    "TDX7T4NpbAXpR2+NTRSEGfCSeA=="
)
AWESOME = "https://registry.npmjs.org/leaflet.awesome-markers/-/leaflet.awesome-markers-2.0.5.tgz"
AWESOME_INTEGRITY = (
    "sha512-Ne/xDjkGyaujwNVVkv2tyXQUV0ZW7gZ0Mo0FuQY4jp2qWrvXi0hwDBvmZyF/8YOvybyMabTMM/mFWCTd1j"
    "ZIQA=="
)
PACKAGES = (  # (tarball, its integrity, the files of package/dist/ served)
    (
        MARKERCLUSTER,
        MARKERCLUSTER_INTEGRITY,
        ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"),
    ),
    (AWESOME, AWESOME_INTEGRITY, ("leaflet.awesome-markers.js", "leaflet.awesome-markers.css")),
)

PAGE = """
import folium
import pandas as pd
import streamlit as st
from folium.plugins import FastMarkerCluster
from streamlit_folium import st_folium

STATIONS = {stations!r}


@st.cache_data
def points(path: str) -> list[list[float]]:
    frame = pd.read_csv(path, usecols=["latitude", "longitude"]).dropna()
    return frame[["latitude", "longitude"]].values.tolist()


@st.cache_resource
def the_map(path: str) -> folium.Map:
    located = points(path)
    lats, lons = [p[0] for p in located], [p[1] for p in located]
    m = folium.Map()  # OpenStreetMap tiles: refused offline, as on a cut-off wall PC
    m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])
    FastMarkerCluster(located).add_to(m)
    return m


# The CDN files, served by this server (the network is blocked in the benchmark).
folium.Map.default_js = [
    ("leaflet", "/app/static/leaflet.js"),
    ("awesome_markers", "/app/static/leaflet.awesome-markers.js"),
]
folium.Map.default_css = [
    ("leaflet_css", "/app/static/leaflet.css"),
    ("awesome_markers_css", "/app/static/leaflet.awesome-markers.css"),
]
FastMarkerCluster.default_js = [("markercluster", "/app/static/leaflet.markercluster.js")]
FastMarkerCluster.default_css = [
    ("markercluster_css", "/app/static/MarkerCluster.css"),
    ("markercluster_default_css", "/app/static/MarkerCluster.Default.css"),
]
st.title("Polling stations")
st_folium(the_map(STATIONS), height=640, use_container_width=True, returned_objects=[])
"""


def stock_app(stations: Path) -> Path:
    """A folder with the stock page (``page.py``) of the stations in ``stations`` and the
    static files it loads; returns the page's path."""
    folder = Path(tempfile.mkdtemp(prefix="pollwatch-stock-"))
    static = folder / "static"
    static.mkdir()
    leaflet = ROOT / "dashboard" / "static" / "leaflet-1.9.4"
    shutil.copy(leaflet / "leaflet.js", static)
    shutil.copy(leaflet / "leaflet.css", static)
    shutil.copytree(leaflet / "images", static / "images")
    for url, integrity, names in PACKAGES:
        tarball = folder / "package.tgz"
        download(url, tarball, integrity)
        with tarfile.open(tarball) as tar:
            for name in names:
                member = tar.extractfile(f"package/dist/{name}")
                assert member is not None
                (static / name).write_bytes(member.read())
    page = folder / "page.py"
    page.write_text(PAGE.format(stations=str(stations)))
    return page
