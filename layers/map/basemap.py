"""The base map every page draws on: tiles, assets served by the app, the legend."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import folium
import xyzservices
from folium.map import FitBounds

from layers.map.elements import Legend, LegendSection, OfflineBasemap, WallFill
from layers.map.offline import attribution as offline_attribution

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"


# One transparent pixel: a tile layer that asks nobody for anything, under which the
# offline basemap shows.
BLANK_TILE = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
# One white pixel: "No basemap" covers the offline one.
WHITE_TILE = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGP4DwQACfsD/fteaysAAAAASUVORK5CYII="
)


LEAFLET = "leaflet-1.9.4"
SUPERCLUSTER = "supercluster-8.0.1"
LEAFLET_HEAT = "leaflet.heat-0.2.0"
HELPERS = "pollwatch/pollwatch.js"
PREFETCH = "pollwatch/prefetch.js"
# What a map loads, each asked for with ?v=<hash of them all> (assets_version), so a
# browser may keep them for good and still fetches a new release.
ASSETS = (
    f"{LEAFLET}/leaflet.js",
    f"{LEAFLET}/leaflet.css",
    f"{SUPERCLUSTER}/supercluster.min.js",
    f"{LEAFLET_HEAT}/leaflet-heat.js",
    HELPERS,
    PREFETCH,
)


def base_map(
    bounds: tuple[float, float, float, float] | None,
    tiles: str = "offline",
    assets: str = "/app/static",
    legend: Sequence[LegendSection] = (),
    version: str = "",
    offline: dict[str, str] | None = None,
    wall: bool = False,
    dark: bool = False,
    prefetch: Sequence[str] = (),
) -> folium.Map:
    """The map everything is drawn on: canvas renderer, fitted to (minx, miny, maxx, maxy).

    ``tiles`` picks the basemap shown first: 'offline' (the basemap that needs no
    internet, ``offline``), 'osm', 'none', or a local tile URL template; the others are
    offered in the layer control. The offline basemap lies under every tile layer, so it
    shows wherever a tile server does not answer.
    ``assets``: URL prefix where Leaflet, Supercluster and our helpers are served
    (dashboard/static): the map loads nothing from a CDN.
    ``legend``: (section, [(label, style)]) shown in the corner; labels are our own text.
    ``version``: the content hash of the assets (:func:`assets_version`), asked for with
    each of them, so a browser fetches a new release and keeps an unchanged one.
    ``wall``: the map fills its frame (the wall view sizes the frame to the screen);
    ``dark``: the offline basemap in a dimmed control room's colours.
    ``offline``: URLs of the parts of the basemap that needs no internet
    (:mod:`layers.map.offline`), drawn under the tiles.
    ``prefetch``: URLs of datasets the map draws first (:func:`first_drawn`), fetched as
    its frame opens while the scripts load.
    """
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)

    def asset(path: str) -> str:
        return f"{assets}/{path}?v={version}" if version else f"{assets}/{path}"

    m.default_js = [
        *([("prefetch", prefetch_url(assets, prefetch, version))] if prefetch else []),
        ("leaflet", asset(f"{LEAFLET}/leaflet.js")),
        ("supercluster", asset(f"{SUPERCLUSTER}/supercluster.min.js")),
        ("leaflet_heat", asset(f"{LEAFLET_HEAT}/leaflet-heat.js")),
        ("pollwatch", asset(HELPERS)),
    ]
    m.default_css = [("leaflet_css", asset(f"{LEAFLET}/leaflet.css"))]
    layers = {
        "offline": (BLANK_TILE, offline_attribution(), "Offline basemap"),
        "osm": (OSM_TILES, OSM_ATTRIBUTION, "OpenStreetMap (internet)"),
        "none": (WHITE_TILE, "No basemap", "No basemap"),
    }
    if tiles not in layers:
        layers = {"local": (tiles, "Local tiles", "Local tiles"), **layers}
    first = tiles if tiles in layers else "local"
    for key in [first, *(k for k in layers if k != first)]:
        url, attribution, name = layers[key]
        # Only the first is on the map; the others ask for nothing until chosen.
        # A provider, not a URL: folium would search xyzservices' catalogue for the URL
        # (5 ms per layer, on every rerun).
        provider = xyzservices.TileProvider(
            name=name, url=url, attribution=attribution, html_attribution=attribution
        )
        folium.TileLayer(
            provider, attr=attribution, name=name, max_zoom=19, show=key == first
        ).add_to(m)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        fit = FitBounds([[miny, minx], [maxy, maxx]])
        # At once: animated from folium's first view of the world, the zoom took 250 ms
        # and a long task of its own before the stations could draw.
        fit.options["animate"] = False
        fit.add_to(m)
    if wall:
        frame = None if bounds is None else [[bounds[1], bounds[0]], [bounds[3], bounds[2]]]
        WallFill(frame).add_to(m)
    if offline:
        OfflineBasemap(offline, dark).add_to(m)
    if legend:
        Legend(legend).add_to(m)
    return m


def prefetch_url(assets: str, urls: Sequence[str], version: str = "") -> str:
    """The URL of prefetch.js that fetches ``urls`` (paths of this server) at once."""
    query = [("u", url) for url in dict.fromkeys(urls)] + ([("v", version)] if version else [])
    return f"{assets}/{PREFETCH}?" + urlencode(query)


def first_drawn(sources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The URLs among layers' published ``sources`` ({layer: {part: source}}) that the
    map needs to draw: every part but the details fetched after the first draw; a source
    in chunks or patches gives each URL it holds."""
    urls: list[str] = []

    def walk(source: object) -> None:
        if isinstance(source, str):
            urls.append(source)
        elif isinstance(source, dict):
            for inner in source.get("chunks") or source.get("patch") or []:
                walk(inner)

    for parts in sources.values():
        for part, source in parts.items():
            if part != "details":
                walk(source)
    return urls


def assets_version(static: Path) -> str:
    """A hash of the map's assets (:data:`ASSETS`) under ``static`` (the app's static
    folder)."""
    digest = hashlib.sha256()
    for path in ASSETS:
        digest.update(path.encode() + b"\0" + (static / path).read_bytes())
    return digest.hexdigest()[:12]
