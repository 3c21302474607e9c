"""Map elements the layers draw with: a compact GeoJSON layer, a layer for many points, the
legend. Their scripts only call pollwatch.js (dashboard/static/pollwatch/) with options.

folium's own tooltips and popups insert feed text as HTML (an incident description
``<img src=x onerror=...>`` runs). Here every feed value reaches the page through
``textContent`` in pollwatch.js, so feed text can only ever show as text, and features
are styled from a small style table instead of one style per feature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from layers.map.payload import feature_collection, popup_columns

CLUSTER_MAX_ZOOM = 12  # the deepest zoom at which a point cloud still clusters


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
    as a Jinja template again: for a layer with data inline that took 15 ms a rerun, and
    feed text like ``{{ 7*7 }}`` in inline data was evaluated. branca has no public way to
    add rendered text as it is, so this uses what its own MacroElement.render uses: the
    template's ``script`` macro, the figure's ``script`` element and ``_children``.
    """

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure = self.get_root()
        assert isinstance(figure, Figure), "render a map element inside a Figure"
        script = self._template.module.__dict__["script"]
        figure.script.add_child(_Text(script(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class FeatureLayer(ScriptElement):
    """GeoJSON features styled from ``styles`` by each feature's ``_s`` index
    (``pollwatch.featureLayer`` in dashboard/static/pollwatch/pollwatch.js).

    ``data``: a FeatureCollection, or the URL the browser fetches it from (once: then only
    ``overlay`` travels on a rerun). ``overlay``: {"s": [style index per feature, -1 to
    hide it], "columns": {property: [value per feature]}}, laid over the features in their
    order. ``tooltip``: property holding a one-line label. ``popup``: (label, property)
    pairs shown as a two-column table. Points are drawn as circle markers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = pollwatch.featureLayer({{ this.options|tojson }});
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
        self.options = {
            "name": name,
            "data": data,
            "overlay": overlay,
            "styles": list(styles),
            "tooltip": tooltip,
            "popup": [list(p) for p in popup],
        }


class PointCloud(ScriptElement):
    """Many points drawn by ``pollwatch.pointCloud`` (dashboard/static/pollwatch/pollwatch.js).

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
            # Clusters up to zoom 12 (60 px there: 2 km), single points closer in: the
            # index of 180,000 points builds in 0.42x the time of Supercluster's default
            # of 16 (in the page: 229 against 592 ms); the densest zoom-13 view of the
            # national set shows 1,082 stations, drawn at once.
            "clusterMaxZoom": CLUSTER_MAX_ZOOM,
        }


class OffAtFirst(ScriptElement):
    """Marks its group off until the user switches it on: streamlit-folium adds every
    group to the map whatever folium's ``show`` says, so pollwatch.js takes it off."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.pollwatchOff = true;
        {{ this._parent.get_name() }}.pollwatchName = {{ this._parent.layer_name|tojson }};
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "OffAtFirst"


def overlay_group(name: str, show: bool = True) -> folium.FeatureGroup:
    """A FeatureGroup the layer control lists as ``name``; ``show=False``: off until the
    user switches it on."""
    group = folium.FeatureGroup(name=name, show=show)
    if not show:
        OffAtFirst().add_to(group)
    return group


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
    group = overlay_group(name, show)
    data = (
        feature_collection(frame, popup_columns(popup, tooltip), style_index)
        if source is None
        else source
    )
    FeatureLayer(data, styles, tooltip, popup, name=layer).add_to(group)
    return group


# A legend section: its title and (label, style) rows; styles as the layers draw them.
LegendSection = tuple[str, Sequence[tuple[str, Mapping[str, Any]]]]


class OfflineBasemap(ScriptElement):
    """The basemap that needs no internet (:mod:`layers.map.offline`), under the tiles:
    ``urls`` of its parts, fetched once."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        pollwatch.basemap(
            {{ this._parent.get_name() }}, {{ this.urls|tojson }}, {{ this.dark|tojson }}
        );
        {% endmacro %}
        """
    )

    def __init__(self, urls: dict[str, str], dark: bool = False):
        super().__init__()
        self._name = "OfflineBasemap"
        self.urls = dict(urls)
        self.dark = dark


class HeatLayer(ScriptElement):
    """A heat layer of the points of the layer ``source`` as the browser keeps them
    (``pollwatch.heat``): each weighs ``weights[severity]`` (severity = style index //
    ``categories``), halving every ``half_life_h`` hours of age at ``now`` (epoch s)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        pollwatch.heat({{ this.options|tojson }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        source: str,
        weights: Sequence[float],
        categories: int,
        half_life_h: float,
        now: float,
        gradient: dict[str, str],
    ) -> None:
        super().__init__()
        self._name = "HeatLayer"
        self.options = {
            "source": source,
            "weights": list(weights),
            "categories": categories,
            "halfLifeH": half_life_h,
            "now": now,
            "gradient": gradient,
        }


class WallFill(ScriptElement):
    """The wall view's map fills its frame, which the page sizes to the screen
    (``pollwatch.wall``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        pollwatch.wall({{ this._parent.get_name() }}, {{ this.bounds|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]] | None) -> None:
        super().__init__()
        self._name = "WallFill"
        self.bounds = bounds


class Legend(ScriptElement):
    """A folding legend in the map's lower-left corner (``pollwatch.legend``); our own
    labels and colours only."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        pollwatch.legend({{ this.sections|tojson }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, sections: Sequence[LegendSection]):
        super().__init__()
        self._name = "Legend"
        self.sections = [
            [title, [[label, dict(style)] for label, style in items]] for title, items in sections
        ]
