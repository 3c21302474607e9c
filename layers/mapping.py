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
import xyzservices
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

PRECISION = 5  # decimals of a degree: about 1 m


class _Text(Element):
    """Rendered script text, put into the page as it is."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class ScriptElement(MacroElement):
    """A MacroElement whose template has only a ``script`` macro, rendered once per page.

    branca's MacroElement wraps the rendered script in a new Element, which compiles it
    as a Jinja template again: for a layer with data inline that took 15 ms a rerun.
    """

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure = self.get_root()
        assert isinstance(figure, Figure), "render a map element inside a Figure"
        script = self._template.module.__dict__["script"]
        figure.script.add_child(_Text(script(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class FeatureLayer(ScriptElement):
    """GeoJSON features styled from ``styles`` by each feature's ``_s`` index.

    ``data``: a FeatureCollection, or the URL the browser fetches it from (once: then only
    ``overlay`` travels on a rerun). ``overlay``: {"s": [style index per feature, -1 to
    hide it], "columns": {property: [value per feature]}}, laid over the features in their
    order. ``tooltip``: property holding a one-line label. ``popup``: (label, property)
    pairs shown as a two-column table. Points are drawn as circle markers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var styles = {{ this.styles|tojson }};
            var popup = {{ this.popup|tojson }};
            var tooltip = {{ this.tooltip|tojson }};
            return L.geoJSON(null, {
                filter: function (feature) { return (feature.properties._s || 0) >= 0; },
                pointToLayer: function (feature, latlng) {
                    return L.circleMarker(latlng, styles[feature.properties._s || 0]);
                },
                style: function (feature) { return styles[feature.properties._s || 0]; },
                onEachFeature: function (feature, layer) {
                    var props = feature.properties;
                    if (tooltip) {
                        layer.bindTooltip(pollwatch.label(props[tooltip]), {sticky: true});
                    }
                    if (popup.length) {
                        layer.bindPopup(function () {
                            return pollwatch.popupTable(popup, function (c) { return props[c]; });
                        }, {maxWidth: 360});
                    }
                }
            });
        })();
        pollwatch.features({{ this.name|tojson }}, {{ this.data|tojson }},
                           {{ this.overlay|tojson }}).then(function (d) {
            {{ this.get_name() }}.addData(d);
            pollwatch.drawnFeatures[{{ this.name|tojson }}] =
                {{ this.get_name() }}.getLayers().length;
        });
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict[str, Any] | str,
        styles: Sequence[dict[str, Any]],
        tooltip: str | None = None,
        popup: Sequence[tuple[str, str]] = (),
        overlay: dict[str, Any] | None = None,
        name: str = "features",
    ):
        super().__init__()
        self._name = "FeatureLayer"
        self.name = name
        self.data = data
        self.overlay = overlay
        self.styles = list(styles)
        self.tooltip = tooltip
        self.popup = [list(p) for p in popup]


class PointCloud(ScriptElement):
    """Many points drawn by ``pollwatch.pointCloud`` (see dashboard/static/pollwatch-*/).

    ``source``: a :func:`columnar` dataset, or the URL the browser fetches it from (then
    only ``where`` travels on a rerun). ``where``: {"columns": {column: [allowed labels]},
    "time": [t0, t1]} in epoch seconds, applied in the browser. Above ``cluster_above``
    points they are grouped into clusters, coloured by the share of points drawn with
    style ``share_style`` when given. ``details``: the columns the map can draw without
    (names, popup fields), split off with :func:`split_details` and fetched after the
    first draw (one source or several). ``overlay``: the style index ``s`` (and columns)
    of another run over the same points, laid over ``source`` before drawing, so a what-if
    sends a few bytes per point, not the points again. ``disc_styles``: draw a circle of
    each point's radius ``r`` beneath it. ``after``: the name of a layer to wait for, so a
    secondary layer loads once it is drawn.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = pollwatch.pointCloud({{ this.options|tojson }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        name: str,
        source: str | dict[str, Any],
        styles: Sequence[dict[str, Any]],
        tooltip: str | None = None,
        popup: Sequence[tuple[str, str]] = (),
        where: dict[str, Any] | None = None,
        details: str | dict[str, Any] | Sequence[str | dict[str, Any]] | None = None,
        overlay: str | dict[str, Any] | None = None,
        disc_styles: Sequence[dict[str, Any]] | None = None,
        cluster_above: int = 3000,
        share_style: int | None = None,
        share_label: str = "",
        unit: str = "points",
        after: str | None = None,
    ):
        super().__init__()
        self._name = "PointCloud"
        self.options = {
            "name": name,
            "source": source,
            "styles": list(styles),
            "tooltip": tooltip,
            "popup": [list(p) for p in popup],
            "where": where,
            "details": details
            if details is None or isinstance(details, str | dict)
            else list(details),
            "overlay": overlay,
            "discStyles": None if disc_styles is None else list(disc_styles),
            "clusterAbove": cluster_above,
            "shareStyle": share_style,
            "shareLabel": share_label,
            "unit": unit,
            "after": after,
        }


def columnar(
    frame: gpd.GeoDataFrame,
    properties: Sequence[str],
    style_index: Sequence[int] | np.ndarray | None = None,
    time: str | None = None,
    radius: str | None = None,
    coordinates: bool = True,
) -> dict[str, Any]:
    """The located points of ``frame`` as compact column arrays for :class:`PointCloud`.

    x/y to 1 m, ``s`` style index, ``t`` epoch seconds of column ``time``, ``r`` radius in
    metres from column ``radius``; text columns with few distinct values are sent as
    labels plus codes (-1 for missing). ``coordinates=False``: no x/y, for an ``overlay``
    on a dataset of the same frame that has them.
    """
    geoms = frame.geometry
    located = (geoms.notna() & ~geoms.is_empty).to_numpy()
    wanted = [c for c in (*properties, time, radius) if c is not None and c in frame]
    rows = pd.DataFrame({c: frame[c] for c in dict.fromkeys(wanted)}, index=frame.index)[located]
    styles = (
        np.zeros(len(frame), dtype=int)
        if style_index is None
        else np.asarray(style_index, dtype=int)
    )[located]
    data: dict[str, Any] = {"n": len(rows), "s": styles.tolist(), "columns": {}}
    if coordinates:
        shapes = geoms[located]
        points = (
            shapes.representative_point()
            if len(shapes) and not (shapes.geom_type == "Point").all()
            else shapes
        ).to_numpy()
        data["x"] = np.round(shapely.get_x(points), PRECISION).tolist()
        data["y"] = np.round(shapely.get_y(points), PRECISION).tolist()
    if time is not None:
        stamps = pd.to_datetime(rows[time], utc=True)
        seconds = (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        data["t"] = [None if pd.isna(v) else int(v) for v in seconds.tolist()]
    if radius is not None:
        data["r"] = [None if pd.isna(v) else round(float(v), 1) for v in rows[radius].tolist()]
    for name in properties:
        if name not in rows:
            continue
        column = rows[name]
        if column.dtype == object or isinstance(column.dtype, pd.CategoricalDtype | pd.StringDtype):
            codes, labels = pd.factorize(column, use_na_sentinel=True)
            if len(labels) <= max(1, len(rows) // 4):
                data["columns"][name] = {
                    "labels": [display_value(v) for v in labels.tolist()],
                    "codes": codes.tolist(),
                }
                continue
        data["columns"][name] = _json_values(column)
    return data


def joined_columnar(earlier: dict[str, Any], added: dict[str, Any]) -> dict[str, Any]:
    """The :func:`columnar` dataset of a frame's rows, from that of its first rows
    (``earlier``) and that of the rest (``added``): the rows a feed appended are built
    alone. Labelled columns share their labels (kept as labels while few enough)."""
    n = earlier["n"] + added["n"]
    out: dict[str, Any] = {"n": n}
    for name in ("s", "x", "y", "t", "r"):
        if name in earlier:
            out[name] = earlier[name] + added[name]
    out["columns"] = {
        name: _joined_column(column, added["columns"][name], n)
        for name, column in earlier["columns"].items()
    }
    return out


def _joined_column(earlier: Any, added: Any, n: int) -> Any:
    if isinstance(earlier, dict) and isinstance(added, dict):
        labels = list(earlier["labels"])
        place = {v: i for i, v in enumerate(labels)}
        remap = []
        for v in added["labels"]:
            if v not in place:
                place[v] = len(labels)
                labels.append(v)
            remap.append(place[v])
        if len(labels) <= max(1, n // 4):
            codes = [remap[c] if c >= 0 else -1 for c in added["codes"]]
            return {"labels": labels, "codes": earlier["codes"] + codes}
    return _plain(earlier) + _plain(added)


def _plain(column: Any) -> list[Any]:
    """A column's values, whether labelled or not."""
    if not isinstance(column, dict):
        return list(column)
    labels = column["labels"]
    return [labels[c] if c >= 0 else None for c in column["codes"]]


def _json_values(column: pd.Series) -> list[Any]:
    """A column's values as JSON can carry them; vectorised for numbers and plain text."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        known = column.notna().to_numpy()
        truth = column.fillna(False).to_numpy(dtype=bool)
        out = np.full(len(column), None, dtype=object)
        out[known & truth] = "yes"
        out[known & ~truth] = "no"
        return list(out.tolist())
    if pd.api.types.is_numeric_dtype(dtype):
        values = column.astype("float64").to_numpy(na_value=np.nan)
        whole = pd.api.types.is_integer_dtype(dtype)
        rounded = values if whole else np.round(values, 3)
        out = rounded.astype(object)
        if whole:
            ok = ~np.isnan(values)
            out[ok] = values[ok].astype(np.int64)
        out[np.isnan(values)] = None
        return list(out.tolist())
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        stamps = pd.to_datetime(column, utc=True)
        text = stamps.dt.strftime("%Y-%m-%d %H:%M UTC").to_numpy(dtype=object)
        text[stamps.isna().to_numpy()] = None
        return list(text.tolist())
    values = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return list(values.tolist())
    return [display_value(v) for v in values.tolist()]


def split_details(
    data: dict[str, Any], keep: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the map draws and filters with, the other columns) of a :func:`columnar` dataset."""
    main = {k: v for k, v in data.items() if k != "columns"}
    main["columns"] = {k: v for k, v in data["columns"].items() if k in keep}
    details = {
        "n": data["n"],
        "columns": {k: v for k, v in data["columns"].items() if k not in keep},
    }
    return main, details


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
    columns = {p: _json_values(rows[p]) for p in properties if p in rows}
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
    source: str | None = None,
    layer: str = "features",
) -> folium.FeatureGroup:
    """A named, switchable FeatureGroup holding one FeatureLayer of ``frame``, or of the
    URL ``source`` of its :func:`feature_collection` (``layer``: the name the browser
    knows it by)."""
    group = folium.FeatureGroup(name=name, show=show)
    data = (
        feature_collection(frame, popup_columns(popup, tooltip), style_index)
        if source is None
        else source
    )
    FeatureLayer(data, styles, tooltip, popup, name=layer).add_to(group)
    return group


def popup_columns(popup: Sequence[tuple[str, str]], tooltip: str | None = None) -> list[str]:
    """The columns a layer's popup and tooltip show."""
    return list(dict.fromkeys([*(p for _, p in popup), *([tooltip] if tooltip else [])]))


def category_index(values: pd.Series, order: Sequence[str]) -> np.ndarray:
    """Index of each value in ``order``; values not in it get the last index."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = {v: i for i, v in enumerate(order)}
    last = len(order) - 1
    per_unique = np.array([lookup.get(v, last) for v in uniques.tolist()] + [last], dtype=int)
    return per_unique[codes]  # code -1 (missing) takes the last entry


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"
# One transparent pixel: a tile layer that asks nobody for anything ("no basemap").
BLANK_TILE = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
LEAFLET = "leaflet-1.9.4"
SUPERCLUSTER = "supercluster-8.0.1"
HELPERS = "pollwatch-2"  # bump when pollwatch.js changes, so browsers fetch the new one


def base_map(
    bounds: tuple[float, float, float, float] | None,
    tiles: str = "osm",
    assets: str = "/app/static",
    legend: Sequence[tuple[str, Sequence[tuple[str, dict[str, Any]]]]] = (),
) -> folium.Map:
    """The map everything is drawn on: canvas renderer, fitted to (minx, miny, maxx, maxy).

    ``tiles`` picks the basemap shown first: 'osm', 'none', or a local tile URL template
    (then offered beside OpenStreetMap and 'No basemap' in the layer control).
    ``assets``: URL prefix where Leaflet, Supercluster and our helpers are served
    (dashboard/static): the map loads nothing from a CDN.
    ``legend``: (section, [(label, style)]) shown in the corner; labels are our own text.
    """
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)
    m.default_js = [
        ("leaflet", f"{assets}/{LEAFLET}/leaflet.js"),
        ("supercluster", f"{assets}/{SUPERCLUSTER}/supercluster.min.js"),
        ("pollwatch", f"{assets}/{HELPERS}/pollwatch.js"),
    ]
    m.default_css = [("leaflet_css", f"{assets}/{LEAFLET}/leaflet.css")]
    layers = {
        "osm": (OSM_TILES, OSM_ATTRIBUTION, "OpenStreetMap"),
        "none": (BLANK_TILE, "No basemap", "No basemap"),
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
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    if legend:
        Legend(legend).add_to(m)
    return m


class Legend(ScriptElement):
    """A folding legend in the map's lower-left corner (our own labels and colours only)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var box = L.DomUtil.create("details", "pollwatch-legend");
                box.open = true;
                box.style.cssText = "background:rgba(255,255,255,0.92);padding:4px 8px;" +
                    "font:11px/1.3 sans-serif;border-radius:4px;box-shadow:0 0 4px #888;" +
                    "max-height:45vh;overflow:auto;max-width:210px";
                var summary = document.createElement("summary");
                summary.style.cssText = "font-weight:bold;cursor:pointer";
                summary.textContent = "Legend";
                box.appendChild(summary);
                var div = document.createElement("div");
                box.appendChild(div);
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                var sections = {{ this.sections|tojson }};
                sections.forEach(function (section) {
                    var head = document.createElement("div");
                    head.style.cssText = "font-weight:bold;margin-top:4px";
                    head.textContent = section[0];
                    div.appendChild(head);
                    section[1].forEach(function (item) {
                        var row = document.createElement("div");
                        var swatch = document.createElement("span");
                        var st = item[1];
                        var clip = {triangle: "polygon(50% 0,100% 100%,0 100%)",
                                    diamond: "polygon(50% 0,100% 50%,50% 100%,0 50%)"};
                        swatch.style.cssText = st.shape === "line" ?
                            "display:inline-block;width:18px;height:0;margin-right:6px;" +
                            "vertical-align:middle;border-top:" + (st.weight || 1) + "px " +
                            (st.dashArray ? "dashed " : "solid ") + (st.color || "#333") :
                            "display:inline-block;width:11px;height:11px;" +
                            "margin-right:6px;vertical-align:middle;border-radius:" +
                            (st.shape && st.shape !== "circle" ? "1px" : "50%") +
                            (clip[st.shape] ? ";clip-path:" + clip[st.shape] : "") +
                            ";background:" +
                            (st.fillColor || "transparent") + ";border:" + (st.weight || 1) +
                            "px " + (st.dashArray ? "dashed " : "solid ") + (st.color || "#333");
                        row.appendChild(swatch);
                        row.appendChild(document.createTextNode(item[0]));
                        div.appendChild(row);
                    });
                });
                return box;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, dict[str, Any]]]]]):
        super().__init__()
        self._name = "Legend"
        self.sections = [
            [title, [[label, dict(style)] for label, style in items]] for title, items in sections
        ]
