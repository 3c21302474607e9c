"""Map building blocks shared by the layers: a compact GeoJSON layer with text-only popups.

folium's own tooltips and popups insert feed text as HTML (an incident description
``<img src=x onerror=...>`` runs). :class:`FeatureLayer` instead puts every feed
value into the page with ``textContent``, so feed text can only ever show as text,
and it styles features from a small style table instead of one style per feature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from layers.map.payload import feature_collection, popup_columns


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


# A legend section: its title and (label, style) rows; styles as the layers draw them.
LegendSection = tuple[str, Sequence[tuple[str, Mapping[str, Any]]]]


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

    def __init__(self, sections: Sequence[LegendSection]):
        super().__init__()
        self._name = "Legend"
        self.sections = [
            [title, [[label, dict(style)] for label, style in items]] for title, items in sections
        ]
