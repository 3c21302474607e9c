"""Map building blocks shared by the layers: a compact GeoJSON layer with text-only popups.

folium's own tooltips and popups insert feed text as HTML (an incident description
``<img src=x onerror=...>`` runs). :class:`FeatureLayer` instead puts every feed
value into the page with ``textContent``, so feed text can only ever show as text,
and it styles features from a small style table instead of one style per feature.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

PRECISION = 5  # decimals of a degree: about 1 m


class FeatureLayer(MacroElement):
    """GeoJSON features styled from ``styles`` by each feature's ``_s`` index.

    ``tooltip``: property holding a one-line label. ``popup``: (label, property) pairs
    shown as a two-column table. Points are drawn as circle markers (canvas when the
    map prefers canvas).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var styles = {{ this.styles|tojson }};
            var popup = {{ this.popup|tojson }};
            var tooltip = {{ this.tooltip|tojson }};
            function text(value) {
                return (value === null || value === undefined) ? "" : String(value);
            }
            function popupTable(props) {
                var table = document.createElement("table");
                table.className = "pollwatch-popup";
                popup.forEach(function (pair) {
                    var value = text(props[pair[1]]);
                    if (value === "") { return; }
                    var row = table.insertRow();
                    var th = document.createElement("th");
                    th.textContent = pair[0];
                    row.appendChild(th);
                    row.insertCell().textContent = value;
                });
                return table;
            }
            return L.geoJSON(null, {
                pointToLayer: function (feature, latlng) {
                    return L.circleMarker(latlng, styles[feature.properties._s || 0]);
                },
                style: function (feature) { return styles[feature.properties._s || 0]; },
                onEachFeature: function (feature, layer) {
                    if (tooltip) {
                        var label = document.createElement("span");
                        label.textContent = text(feature.properties[tooltip]);
                        layer.bindTooltip(label, {sticky: true});
                    }
                    if (popup.length) {
                        layer.bindPopup(function () { return popupTable(feature.properties); },
                                        {maxWidth: 360});
                    }
                }
            });
        })();
        {{ this.get_name() }}.addData({{ this.data|tojson }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict[str, Any],
        styles: Sequence[dict[str, Any]],
        tooltip: str | None = None,
        popup: Sequence[tuple[str, str]] = (),
    ):
        super().__init__()
        self._name = "FeatureLayer"
        self.data = data
        self.styles = list(styles)
        self.tooltip = tooltip
        self.popup = [list(p) for p in popup]


def display_value(value: object) -> object:
    """A value as JSON can carry it: times as text, missing as None, numbers as numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return round(float(value), 3)
    if isinstance(value, np.bool_ | bool):
        return "yes" if value else "no"
    return value if isinstance(value, int | float) else str(value)


def feature_collection(
    frame: gpd.GeoDataFrame,
    properties: Sequence[str],
    style_index: Sequence[int] | np.ndarray | None = None,
) -> dict[str, Any]:
    """Compact FeatureCollection of the located rows: chosen properties, coordinates to 1 m."""
    located = frame.geometry.notna() & ~frame.geometry.is_empty
    rows = frame[located]
    styles = (np.zeros(len(frame), dtype=int) if style_index is None else np.asarray(style_index))[
        located.to_numpy()
    ]
    geoms = rows.geometry.to_numpy()
    if len(rows) and (rows.geom_type == "Point").all():
        xs = np.round(shapely.get_x(geoms), PRECISION).tolist()
        ys = np.round(shapely.get_y(geoms), PRECISION).tolist()
        shapes: list[dict[str, Any]] = [
            {"type": "Point", "coordinates": [x, y]} for x, y in zip(xs, ys, strict=True)
        ]
    else:
        rounded = shapely.transform(geoms, lambda xy: np.round(xy, PRECISION))
        shapes = [json.loads(s) for s in shapely.to_geojson(rounded)]
    columns = {p: [display_value(v) for v in rows[p].tolist()] for p in properties if p in rows}
    features = []
    for i, shape in enumerate(shapes):
        props = {p: col[i] for p, col in columns.items()}
        props["_s"] = int(styles[i])
        features.append({"type": "Feature", "geometry": shape, "properties": props})
    return {"type": "FeatureCollection", "features": features}


def feature_group(
    name: str,
    frame: gpd.GeoDataFrame,
    styles: Sequence[dict[str, Any]],
    style_index: Sequence[int] | np.ndarray | None = None,
    tooltip: str | None = None,
    popup: Sequence[tuple[str, str]] = (),
    show: bool = True,
) -> folium.FeatureGroup:
    """A named, switchable FeatureGroup holding one FeatureLayer of ``frame``."""
    group = folium.FeatureGroup(name=name, show=show)
    props = list(dict.fromkeys([*(p for _, p in popup), *([tooltip] if tooltip else [])]))
    FeatureLayer(feature_collection(frame, props, style_index), styles, tooltip, popup).add_to(
        group
    )
    return group


def category_index(values: pd.Series, order: Sequence[str]) -> np.ndarray:
    """Index of each value in ``order``; values not in it get the last index."""
    lookup = {v: i for i, v in enumerate(order)}
    return values.map(lambda v: lookup.get(v, len(order) - 1)).to_numpy(dtype=int)


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"


LEAFLET = "leaflet-1.9.4"


def base_map(
    bounds: tuple[float, float, float, float] | None, tiles: str = "osm", assets: str | None = None
) -> folium.Map:
    """The map everything is drawn on: canvas renderer, fitted to (minx, miny, maxx, maxy).

    ``tiles``: 'osm', 'none' (no basemap: areas still draw), or a tile URL template.
    ``assets``: URL prefix where Leaflet is served (``{assets}/leaflet-1.9.4/leaflet.js``);
    when given, the map loads nothing from a CDN and needs only jQuery-free Leaflet.
    """
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)
    if assets is not None:
        m.default_js = [("leaflet", f"{assets}/{LEAFLET}/leaflet.js")]
        m.default_css = [("leaflet_css", f"{assets}/{LEAFLET}/leaflet.css")]
    if tiles == "osm":
        folium.TileLayer(OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap", max_zoom=19).add_to(
            m
        )
    elif tiles != "none":
        folium.TileLayer(tiles, attr="Local tiles", name="Local tiles").add_to(m)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m
