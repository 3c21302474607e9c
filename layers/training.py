"""Training of polling staff: one row per training session; the map shades each area by the
share of the staff its stations need that were trained
(:mod:`layers.analysis.logistics` gives the same per station)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from layers.analysis import areas as area_rule
from layers.analysis import logistics
from layers.contract import Derivation, MapView, Publication
from layers.core.problems import Problem
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import FeedSpec, Field, ReadContext
from layers.map.elements import feature_group

if TYPE_CHECKING:
    from layers.scene import Scene

SPEC = FeedSpec(
    name="training",
    title="Training",
    geometry=(),
    optional=True,
    doc="Training sessions of polling staff, one row per session: when, where, who was "
    "trained, and for which stations (or, without a list, for an area's stations).",
    fields=(
        Field("id", aliases=("session_id", "session"), doc="Unique session id."),
        Field(
            "date",
            "time",
            required=True,
            aliases=("session_date", "held_on", "time", "start"),
            doc="When the session was held.",
        ),
        Field("place", aliases=("venue", "location"), doc="Where it was held."),
        Field(
            "admin1",
            aliases=("county", "region", "province", "state", "district", "area", "#adm1+name"),
            doc="The area whose stations it trained staff for (without a station list: "
            "all of that area's stations share it).",
        ),
        Field("trainer", aliases=("trainers", "facilitator"), doc="Who gave it."),
        Field(
            "presiding_officers",
            "int",
            aliases=("po", "presiding"),
            minimum=0,
            maximum=100_000,
            unit="people",
            doc="Presiding officers trained.",
        ),
        Field(
            "poll_clerks",
            "int",
            aliases=("clerks", "polling_clerks"),
            minimum=0,
            maximum=100_000,
            unit="people",
            doc="Polling clerks trained.",
        ),
        Field(
            "other_staff",
            "int",
            aliases=("others", "queue_controllers"),
            minimum=0,
            maximum=100_000,
            unit="people",
            doc="Other station staff trained (queue controllers, security...).",
        ),
        Field(
            "stations",
            aliases=("station_ids", "polling_stations"),
            doc="The station ids whose staff it trained, separated by ';', ',' or spaces "
            "(their `id` in polling_stations).",
        ),
    ),
)

STYLES = tuple(
    {"color": "#4d4d4d", "weight": 1, "fillColor": colour, "fillOpacity": 0.45}
    for colour in ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850", "#bdbdbd")
)
BANDS = (0.5, 0.7, 0.85, 0.95)  # shares of staff trained: below each, one colour
POPUP = (
    ("Area", "area"),
    ("Staff trained, %", "trained_pct"),
    ("Trained", "trained"),
    ("Needed", "needed"),
    ("Sessions", "sessions"),
)
LEGEND = (
    "Staff trained (by area)",
    (
        ("under 50 %", STYLES[0]),
        ("50-70 %", STYLES[1]),
        ("70-85 %", STYLES[2]),
        ("85-95 %", STYLES[3]),
        ("95 % or more", STYLES[4]),
    ),
)


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean sessions frame and problems."""
    return build_frame(raw, SPEC, ctx)


def derive(sessions: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """One row per area with stations: its polygon (from the areas feed), staff ``needed``
    by its stations, ``trained`` for them, ``trained_pct`` and ``sessions``."""
    areas = scene["areas"]
    stations = scene["polling_stations"]  # as loaded: their areas by the one rule
    if not len(sessions):  # no training feed: nothing to shade, not every area red
        stations = stations.iloc[0:0]
    stations = stations.assign(area=area_rule.assign(stations, areas, "polling_stations")[0])
    table = logistics.training_by_area(logistics.trained_per_station(stations, sessions))
    shape_of = (
        dict(zip(areas["name"].astype(str), areas.geometry, strict=True)) if "name" in areas else {}
    )
    counted = sessions["admin1"].value_counts() if "admin1" in sessions else pd.Series()
    out = gpd.GeoDataFrame(
        table.assign(
            sessions=table["area"].map(counted).fillna(0).astype(int),
            trained_pct=(table["share_trained"] * 100).round(0),
        ),
        geometry=gpd.GeoSeries(
            np.array([shape_of.get(str(a)) for a in table["area"]], dtype=object),
            index=table.index,
            crs="EPSG:4326",
        ),
        crs="EPSG:4326",
    )
    return out[out["area"] != logistics.ALL_AREAS].reset_index(drop=True)


def _band(areas: gpd.GeoDataFrame) -> np.ndarray:
    share = areas["trained_pct"].to_numpy(dtype=float) / 100
    band = np.searchsorted(np.asarray(BANDS), share, side="right")
    return np.where(np.isnan(share), len(STYLES) - 1, band)


DERIVE = Derivation(needs=("polling_stations", "areas"))
FILTERS = {"area": "area"}
PUBLISH = Publication()  # one polygon per area: inline with the map


def datasets(areas: gpd.GeoDataFrame) -> dict[str, Any]:
    """None: the areas travel inline with the map."""
    return {}


def draw(view: MapView) -> folium.FeatureGroup:
    """Areas shaded by staff trained; off until switched on."""
    areas = view.shown[SPEC.name]
    areas = areas[areas.geometry.notna()]
    return feature_group(
        LEGEND[0],
        areas,
        STYLES,
        _band(areas),
        tooltip="area",
        popup=POPUP,
        show=False,
        layer="training",
    )
