"""Plotly figures of the operations picture (pure: frames in, figures out).

Built with graph_objects rather than plotly.express: the same figures for a fraction
of the server time on every rerun.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale

from layers.analysis.kpis import coverage_by_area
from layers.analysis.logistics import ALL_AREAS
from layers.incidents import SEVERITY_FILL

FONT = {"size": 13}
HEIGHT = 340
ROW_PX = 22  # bar charts by area grow with the number of areas


def as_text(values: Iterable[object]) -> list[str]:
    """Feed values for chart labels, legends and hover text, shown as written: plotly reads
    a subset of HTML in them (links, styles, line breaks), entities escaped it shows as text."""
    return [html.escape(str(v), quote=False) for v in values]


def picked(points: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The filters a click on a chart's bar sets: {filter name: value} from the bars'
    ``customdata``: [filter name, the feed's own value], or a list of such pairs (a
    segment of a stacked bar: its area and its severity). Labels are escaped for plotly,
    so the value to filter on travels beside them."""
    chosen = {}
    for point in points:
        data = point.get("customdata")
        if not isinstance(data, list | tuple) or not data:
            continue
        pairs = data if isinstance(data[0], list | tuple) else [data]
        for pair in pairs:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                chosen[str(pair[0])] = str(pair[1])
    return chosen


def _figure(
    traces: list[dict[str, Any]], title: str, height: int = HEIGHT, **layout: Any
) -> go.Figure:
    """A figure of our own trace and layout dicts, built without plotly's check of each
    property on the way in: the check took two thirds of the charts' time on every rerun.
    tests/test_charts.py builds every chart again with the check on."""
    return go.Figure(
        data=traces,
        layout={
            "title": {"text": title},
            "height": height,
            "font": FONT,
            "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
            "legend": {"orientation": "h", "y": -0.15},
            "barmode": "stack",
            **layout,
        },
        _validate=False,
    )


def _empty(title: str, message: str) -> go.Figure:
    return _figure(
        [],
        title,
        annotations=[{"text": message, "showarrow": False, "font": {"size": 15}}],
        xaxis={"visible": False},
        yaxis={"visible": False},
    )


def bin_width(span: pd.Timedelta) -> str:
    """A bar width that gives a readable number of bars for a window of ``span``."""
    if span <= pd.Timedelta(hours=2):
        return "10min"
    if span <= pd.Timedelta(days=2):
        return "h"
    return "6h" if span <= pd.Timedelta(days=10) else "D"


def incidents_over_time(
    incidents: gpd.GeoDataFrame, time_range: tuple[pd.Timestamp, pd.Timestamp]
) -> go.Figure:
    """Stacked bars of incidents per time bin, by type; bins fit the window's length."""
    title = "Incidents over time, by type"
    if incidents.empty:
        return _empty(title, "No incidents in this window")
    freq = bin_width(time_range[1] - time_range[0])
    binned = pd.DataFrame(
        {
            "time": incidents["time"].dt.floor(freq),
            "type": incidents["type"].fillna("(no type)").astype(str),
        }
    )
    counts = binned.groupby(["type", "time"]).size()
    order = counts.groupby(level="type").sum().sort_values(ascending=False).index
    palette = qualitative.Safe + qualitative.Pastel
    traces = [
        {
            "type": "bar",
            "x": counts[kind].index,
            "y": counts[kind].to_numpy(),
            "name": as_text([kind])[0],
            "marker": {"color": palette[i % len(palette)]},
            "customdata": [["type", kind]] * len(counts[kind]),
        }
        for i, kind in enumerate(order)
    ]
    return _figure(traces, title, bargap=0.1, yaxis={"title": {"text": "incidents"}})


def incidents_by_area(incidents: gpd.GeoDataFrame) -> go.Figure:
    """Horizontal bars: incidents per area, by severity."""
    title = "Incidents by area, by severity"
    if incidents.empty:
        return _empty(title, "No incidents in this window")
    counts = incidents.groupby(["severity", "area"]).size()
    areas = counts.groupby(level="area").sum().sort_values().index
    present = set(counts.index.get_level_values(0))
    traces = [
        {
            "type": "bar",
            "y": as_text(areas),
            "x": counts[sev].reindex(areas, fill_value=0).to_numpy(),
            "name": sev,
            "orientation": "h",
            "marker": {"color": colour},
            # A segment is an area's incidents of one severity: a click sets both.
            "customdata": [[["area", str(a)], ["severity", sev]] for a in areas],
        }
        for sev, colour in SEVERITY_FILL.items()
        if sev in present
    ]
    height = max(HEIGHT, ROW_PX * len(areas) + 140)
    return _figure(traces, title, height, xaxis={"title": {"text": "incidents"}})


def coverage_chart(stations: gpd.GeoDataFrame) -> go.Figure:
    """Horizontal bars: % of located stations within a patrol radius, per area."""
    title = "Coverage by area (% of stations)"
    table = coverage_by_area(stations).dropna(subset=["covered_pct"])
    if table.empty:
        return _empty(title, "No located stations")
    hover = [
        f"{a}: {c:,} of {n:,} located stations covered; {v:.1f}% of voters"
        for a, c, n, v in zip(
            as_text(table["area"]),
            table["covered"],
            table["located"],
            table["voters_covered_pct"].fillna(0),
            strict=True,
        )
    ]
    return _area_bars(
        table["area"], table["covered_pct"], hover, title, "% of located stations covered"
    )


def _area_bars(
    areas: pd.Series, pct: pd.Series, hover: list[str], title: str, axis: str
) -> go.Figure:
    """Horizontal bars of a percentage per area, worst at the bottom, red to green; a
    click on a bar picks its area (:func:`picked`)."""
    order = np.argsort(pct.to_numpy(dtype=float), kind="stable")
    names = [str(a) for a in areas.to_numpy()[order]]
    values = pct.to_numpy(dtype=float)[order]
    bar = {
        "type": "bar",
        "y": as_text(names),
        "x": values,
        "orientation": "h",
        "hovertext": [hover[i] for i in order],
        "hoverinfo": "text",
        "text": [f"{p:.0f}%" for p in values],
        "textposition": "outside",
        "cliponaxis": False,
        "marker": {"color": sample_colorscale("RdYlGn", (values / 100).clip(0, 1).tolist())},
        "customdata": [["area", a] for a in names],
    }
    return _figure(
        [bar],
        title,
        max(HEIGHT, ROW_PX * len(names) + 140),
        xaxis={"range": [0, 100], "title": {"text": axis}},
        showlegend=False,
    )


def deliveries_chart(by_area: pd.DataFrame) -> go.Figure:
    """% of stations with all their materials delivered, per area (a
    :func:`layers.analysis.logistics.by_area` table; its all-areas row left out)."""
    title = "Stations with all materials, by area (%)"
    table = by_area[by_area["area"] != ALL_AREAS].dropna(subset=["share_delivered"])
    if table.empty:
        return _empty(title, "No stations")
    hover = [
        f"{a}: {d:,} of {n:,} stations have everything; {w:,} flagged"
        for a, d, n, w in zip(
            as_text(table["area"]),
            table["all_delivered"],
            table["stations"],
            table["flagged"],
            strict=True,
        )
    ]
    return _area_bars(
        table["area"],
        table["share_delivered"] * 100,
        hover,
        title,
        "% of stations with all materials",
    )


def training_chart(by_area: pd.DataFrame) -> go.Figure:
    """% of the staff stations need that were trained, per area (a
    :func:`layers.analysis.logistics.training_by_area` table)."""
    title = "Staff trained, by area (% of staff needed)"
    table = by_area[by_area["area"] != ALL_AREAS].dropna(subset=["share_trained"])
    if table.empty:
        return _empty(title, "No stations")
    hover = [
        f"{a}: {t:,.0f} of {n:,.0f} staff trained; {s:,} stations short"
        for a, t, n, s in zip(
            as_text(table["area"]),
            table["trained"],
            table["needed"],
            table["stations_short"],
            strict=True,
        )
    ]
    return _area_bars(
        table["area"], table["share_trained"] * 100, hover, title, "% of staff needed, trained"
    )


def _severity_rank(severity: object) -> int:
    """Lowest first (stacked from the bottom), unknown last."""
    order = list(SEVERITY_FILL)
    return order.index(severity) if severity in order else len(order)


def review_timeline(timeline: pd.DataFrame) -> go.Figure:
    """The after-action review's incidents per local hour, stacked by severity."""
    title = "Incidents through the day, by severity (local hours)"
    if not len(timeline):
        return _empty(title, "No incidents this day")
    traces = [
        {
            "type": "bar",
            "x": rows["hour"].to_numpy(),
            "y": rows["incidents"].to_numpy(),
            "name": as_text([severity])[0],
            "marker": {"color": SEVERITY_FILL.get(str(severity), "#969696")},
        }
        for severity, rows in sorted(
            timeline.groupby("severity", sort=False), key=lambda kv: _severity_rank(kv[0])
        )
    ]
    return _figure(traces, title, bargap=0.1, yaxis={"title": {"text": "incidents"}})


def review_coverage(coverage: pd.DataFrame) -> go.Figure:
    """The after-action review's share of stations covered at each hour of polling."""
    title = "Stations covered through polling hours (%)"
    if not len(coverage):
        return _empty(title, "No polling hours kept this day")
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "x": coverage["local"].to_numpy(),
        "y": coverage["covered_pct"].round(1).to_numpy(),
        "name": "covered",
        "line": {"color": "#2171b5", "width": 3},
    }
    return _figure([trace], title, yaxis={"title": {"text": "% covered"}, "range": [0, 100]})
