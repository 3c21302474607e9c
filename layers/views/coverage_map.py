"""Map layers of the commission's coverage page: choropleth, station states, suggestions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.analysis.gaps import STATES
from layers.analysis.placement import Suggestion
from layers.map.elements import LegendSection, PointCloud, feature_group
from layers.map.payload import category_index, columnar, split_details

STATES = STATES
# Colour and shape differ, so the states read apart on a grey printout too.
STATION_STYLES = (
    {"radius": 4, "color": "#1b7837", "weight": 1, "fillColor": "#5aae61", "fillOpacity": 0.9},
    {
        "radius": 5,
        "color": "#7f3b08",
        "weight": 1.5,
        "fillColor": "#fdb863",
        "fillOpacity": 0.95,
        "shape": "square",
    },
    {
        "radius": 6,
        "color": "#000000",
        "weight": 1.5,
        "fillColor": "#d7301f",
        "fillOpacity": 1,
        "shape": "triangle",
    },
    {"radius": 4, "color": "#555555", "weight": 1, "fillColor": "#bbbbbb", "fillOpacity": 0.8},
)
POPUP = (
    ("Station", "name"),
    ("Id", "id"),
    ("Area", "area"),
    ("Registered voters", "registered_voters"),
    ("Coverage", "state"),
    ("Share of polling hours covered", "day_share"),
    ("Bases covering now", "covering_bases"),
    ("Nearest patrol", "nearest_base"),
    ("Nearest patrol, km", "nearest_base_km"),
    ("Incidents within 10 km, 7 days", "incidents_10km"),
)
# % of voters covered: five classes, red (low) to green (high); grey when unknown.
BANDS = (0, 20, 40, 60, 80, 100)
BAND_COLOURS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
AREA_STYLES = (
    *({"color": "#444444", "weight": 1, "fillColor": c, "fillOpacity": 0.55} for c in BAND_COLOURS),
    {"color": "#444444", "weight": 1, "fillColor": "#dddddd", "fillOpacity": 0.4},
)
SUGGESTION_STYLE = {
    "radius": 9,
    "color": "#000000",
    "weight": 2,
    "fillColor": "#2166ac",
    "fillOpacity": 1,
    "shape": "diamond",
}


def band_index(pct: pd.Series) -> np.ndarray:
    """Class of each % (0-4), 5 when unknown."""
    values = pct.astype(float).to_numpy()
    index = np.clip(np.digitize(values, BANDS[1:-1]), 0, len(BAND_COLOURS) - 1)
    return np.where(np.isnan(values), len(BAND_COLOURS), index)


def choropleth(
    areas: gpd.GeoDataFrame,
    table: pd.DataFrame,
    name: str = "% voters covered by area",
    interactive: bool = True,
) -> folium.FeatureGroup:
    """Area polygons coloured by % of registered voters covered (else % of stations).

    ``interactive=False``: the areas take no clicks (they reach the map instead).
    """
    joined = areas.merge(table, left_on="name", right_on="area", how="left")
    pct = joined["voters_covered_pct"].where(
        joined["voters_covered_pct"].notna(), joined["covered_pct"]
    )
    # Built as lists: with no areas at all, a mapped empty Series would not be text.
    joined["pct_text"] = ["no located stations" if pd.isna(v) else f"{v:.1f}%" for v in pct]
    joined["label"] = [f"{n}: {t}" for n, t in zip(joined["name"], joined["pct_text"], strict=True)]
    return feature_group(
        name,
        gpd.GeoDataFrame(joined, geometry=areas.geometry.name, crs=areas.crs),
        AREA_STYLES if interactive else [{**st, "interactive": False} for st in AREA_STYLES],
        band_index(pct),
        tooltip="label" if interactive else None,
        popup=()
        if not interactive
        else (
            ("Area", "name"),
            ("Voters covered", "pct_text"),
            ("Stations", "stations"),
            ("Covered", "covered"),
            ("Uncovered", "uncovered"),
            ("Partly covered", "partly_covered"),
            ("Unknown location", "unknown_location"),
        ),
    )


# What stays the same from one what-if to the next, and what each run changes.
FIXED = ("name", "id", "area", "registered_voters")


def station_points(stations: gpd.GeoDataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """(points, their fixed popup columns) of analysed stations: the same for every run
    over one version of the stations (and areas)."""
    return split_details(columnar(stations, FIXED), ())


# Counted per version of the incidents, apart from the run (see Analysis.counting).
COUNTED = ("incidents_10km",)


def station_states(stations: gpd.GeoDataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """(style per station, the run's popup columns) of one analysis: an overlay on
    :func:`station_points`."""
    run = [p for _, p in POPUP if p not in FIXED and p not in COUNTED]
    data = columnar(
        stations,
        run,
        category_index(stations["state"], STATES),
        coordinates=False,
    )
    return {"n": data["n"], "s": data["s"]}, {"n": data["n"], "columns": data["columns"]}


def station_counts(stations: gpd.GeoDataFrame) -> dict[str, Any]:
    """The popup columns counted from the incidents (:data:`COUNTED`), as details over
    :func:`station_points`: what a new incident changes on this map."""
    data = columnar(stations, [c for c in COUNTED if c in stations], coordinates=False)
    return {"n": data["n"], "columns": data["columns"]}


def station_layer(
    points: str | dict[str, Any],
    states: str | dict[str, Any],
    details: Sequence[str | dict[str, Any]] = (),
    name: str = "Polling stations by coverage",
) -> folium.FeatureGroup:
    """Stations styled by their state in one run: ``points`` and ``details`` from
    :func:`station_points`, ``states`` and more ``details`` from :func:`station_states`
    and :func:`station_counts`."""
    group = folium.FeatureGroup(name=name)
    PointCloud(
        "coverage_stations",
        points,
        STATION_STYLES,
        tooltip="name",
        popup=POPUP,
        details=list(details) or None,
        overlay=states,
        share_style=0,
        share_label="covered all day",
        unit="stations",
    ).add_to(group)
    return group


def suggestion_layer(
    suggestions: Sequence[Suggestion], radius_m: float, name: str = "Suggested bases"
) -> folium.FeatureGroup:
    """Suggested sites with their radius; tooltip and popup give what each adds."""
    frame = gpd.GeoDataFrame(
        {
            "label": [
                f"Suggestion {s.rank}: +{s.voters:,.0f} voters, +{s.stations} stations"
                for s in suggestions
            ],
            "rank": [s.rank for s in suggestions],
            "voters": [round(s.voters) for s in suggestions],
            "stations": [s.stations for s in suggestions],
            "total_voters": [round(s.total_voters) for s in suggestions],
            "where": [f"{s.lat:.5f}, {s.lon:.5f}" for s in suggestions],
            "radius_m": float(radius_m),
        },
        geometry=[shapely.Point(s.lon, s.lat) for s in suggestions],
        crs="EPSG:4326",
    )
    group = folium.FeatureGroup(name=name)
    PointCloud(
        "suggestions",
        columnar(
            frame,
            ["label", "rank", "voters", "stations", "total_voters", "where"],
            radius="radius_m",
        ),
        [SUGGESTION_STYLE],
        tooltip="label",
        popup=(
            ("Suggestion", "rank"),
            ("At (lat, lon)", "where"),
            ("Voters newly covered", "voters"),
            ("Stations newly covered", "stations"),
            ("Running total of voters", "total_voters"),
        ),
        disc_styles=[{"color": "#2166ac", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.08}],
        cluster_above=10**9,
    ).add_to(group)
    return group


LEGEND: tuple[LegendSection, ...] = (
    ("Stations (polling hours)", tuple(zip(STATES, STATION_STYLES, strict=True))),
    (
        "% voters covered",
        tuple(
            (f"{lo}-{hi}%", {"fillColor": c, "color": "#444", "shape": "square"})
            for lo, hi, c in zip(BANDS[:-1], BANDS[1:], BAND_COLOURS, strict=True)
        ),
    ),
    (
        "Bases",
        (
            ("patrol radius", {"fillColor": "#6baed6", "color": "#2171b5"}),
            ("suggested base", SUGGESTION_STYLE),
        ),
    ),
)
