"""Polling stations: where people vote, how many are registered, whether a patrol covers them."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np

from layers.contract import Derivation, MapView, Publication, published
from layers.core.problems import Problem
from layers.geo import coverage, outliers
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import POINT_TYPES, FeedSpec, Field, ReadContext
from layers.map.elements import PointCloud
from layers.map.payload import category_index, columnar, split_details

if TYPE_CHECKING:
    from layers.scene import Scene

STATUSES = ("planned", "open", "closed", "suspended", "relocated")

SPEC = FeedSpec(
    name="polling_stations",
    title="Polling stations",
    geometry=POINT_TYPES,
    doc="One point per polling station (or polling place).",
    fields=(
        Field(
            "id",
            aliases=("station_id", "code", "ps_code", "polling_station_id", "#loc+code"),
            doc="Unique station code. Without one, rows are told apart by their row number.",
        ),
        Field(
            "name",
            aliases=("station_name", "polling_station", "ps_name", "#loc+name"),
            doc="Station name.",
        ),
        Field(
            "admin1",
            aliases=(
                "county",
                "region",
                "province",
                "state",
                "district",
                "adm_1",
                "admin1name",
                "admin1_name",
                "adm1_en",
                "adm1_name",
                "state_name",
                "#adm1+name",
            ),
            doc="First-level area (county, province...).",
        ),
        Field(
            "admin2",
            aliases=(
                "constituency",
                "constituen",
                "lga",
                "lga_name",
                "adm_2",
                "admin2name",
                "admin2_name",
                "adm2_en",
                "#adm2+name",
            ),
            doc="Second-level area.",
        ),
        Field(
            "admin3",
            aliases=("ward", "ward_name", "adm_3", "admin3name", "adm3_en", "#adm3+name"),
            doc="Third-level area.",
        ),
        Field(
            "registered_voters",
            "int",
            aliases=("voters", "registered", "reg_voters", "registered_voters_total"),
            minimum=0,
            maximum=100_000,
            unit="people",
            doc="Registered voters.",
        ),
        Field(
            "status",
            "choice",
            choices=STATUSES,
            synonyms={
                "opened": "open",
                "active": "open",
                "moved": "relocated",
                "shut": "closed",
                "postponed": "suspended",
                "current": "planned",  # a list of places in use for an election (AEC)
                "appointed": "planned",
                "appointment": "planned",
                "abolished": "closed",
                "abolition": "closed",
            },
            doc="Station status; unknown when absent.",
        ),
        Field("materials_delivered", "bool", doc="Polling materials delivered (true/false)."),
        Field("staff_trained", "bool", doc="Polling staff trained (true/false)."),
        Field(
            "staff_needed",
            "int",
            aliases=("staff", "polling_staff", "staff_required"),
            minimum=0,
            maximum=1_000,
            unit="people",
            doc="Polling staff the station needs (default 5): what training is measured against.",
        ),
        Field(
            "opens",
            "time",
            aliases=("opening_time", "opens_at"),
            doc="When the station opens, when not at the polling hours' opening "
            "(POLLWATCH_POLLING_HOURS): a relocated station opening late.",
        ),
    ),
)

COVERAGE_ORDER = ("covered", "uncovered", "unknown")
# A cluster is a pie of its covered (green) and other (red) stations: an area 80 %
# covered reads 80 % green from across the room.
CLUSTER_STYLE = {
    "fillColor": "conic-gradient(#1a9850 0 80%, #d7301f 80% 100%)",
    "color": "#ffffff",
    "weight": 2,
}
# Covered and not covered the same size, so neither hides the other by area.
STYLES = (
    {"radius": 4, "color": "#1b7837", "weight": 1, "fillColor": "#5aae61", "fillOpacity": 0.9},
    {"radius": 4, "color": "#7f0000", "weight": 1, "fillColor": "#d7301f", "fillOpacity": 0.95},
    {"radius": 4, "color": "#555555", "weight": 1, "fillColor": "#bbbbbb", "fillOpacity": 0.8},
)
POPUP = (
    ("Station", "name"),
    ("Id", "id"),
    ("Area", "admin1"),
    ("Sub-area", "admin2"),
    ("Registered voters", "registered_voters"),
    ("Status", "status"),
    ("Coverage", "coverage_state"),
    ("Nearest patrol", "nearest_base"),
    ("Nearest patrol, km", "nearest_base_km"),
)


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean stations frame and problems."""
    return build_frame(raw, SPEC, ctx)


def derive(stations: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """Stations with coverage by the active patrol bases: covered, count, nearest base."""
    out = stations.copy()
    cov = coverage.coverage(stations, scene["patrols"], at=scene.now)
    for col in cov.columns:
        out[col] = cov[col]
    out["coverage_state"] = np.where(
        cov["covered"].isna(),
        "unknown",
        np.where(cov["covered"].fillna(False), "covered", "uncovered"),
    )
    out["nearest_base_km"] = (cov["nearest_base_m"] / 1000).round(2)
    return out


def dataset(stations: gpd.GeoDataFrame, columns: Sequence[str] = ()) -> dict[str, Any]:
    """The located stations (derived frame) as columns for the map, plus ``columns``."""
    state = stations["coverage_state"] if "coverage_state" in stations else None
    index = (
        category_index(state, COVERAGE_ORDER) if state is not None else np.full(len(stations), 2)
    )
    props = list(dict.fromkeys([*(p for _, p in POPUP), *columns]))
    return columnar(stations, props, index)


def render(
    stations: gpd.GeoDataFrame,
    name: str = "Polling stations",
    *,
    source: str | dict[str, Any] | None = None,
    details: str | dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
) -> folium.FeatureGroup:
    """Stations coloured by coverage, clustered when there are many (derived frame).

    ``source``: the :func:`dataset` itself or the URL it is served at (then ``stations``
    is not read and ``where`` narrows the rows in the browser); ``details``: the columns
    split off it (see :func:`layers.map.payload.split_details`), fetched after the first draw.
    """
    group = folium.FeatureGroup(name=name)
    PointCloud(
        "stations",
        dataset(stations) if source is None else source,
        STYLES,
        tooltip="name",
        popup=tuple((label, col) for label, col in POPUP if col in stations.columns),
        where=where,
        details=details,
        share_style=0,
        share_label="covered",
        unit="stations",
    ).add_to(group)
    return group


LEGEND = (
    "Polling stations",
    (
        ("covered", STYLES[0]),
        ("not covered", STYLES[1]),
        ("clusters: green share = covered", CLUSTER_STYLE),
    ),
)


def _shift(scene: Scene) -> Hashable:
    return coverage.shift_period(scene["patrols"], scene.now)


def check(
    stations: gpd.GeoDataFrame, frames: Mapping[str, gpd.GeoDataFrame], file: str | None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Stations outside the country marked as of doubtful location (:mod:`layers.geo.outliers`)."""
    return outliers.mark(stations, frames["areas"], SPEC.name, file)


DERIVE = Derivation(needs=("patrols", "areas"), moment=_shift, areas=True, check=check)
FILTERS = {"area": "area", "sub_area": "area2", "status": "status"}
PUBLISH = Publication(("main", "details"))


def datasets(stations: gpd.GeoDataFrame) -> dict[str, Any]:
    """ "main": what the map draws and filters on; "details": names and popup fields,
    fetched after the first draw (:func:`layers.map.payload.split_details`)."""
    main, details = split_details(
        dataset(stations, columns=("area", "area2")), tuple(FILTERS.values())
    )
    return {"main": main, "details": details}


def draw(view: MapView) -> folium.FeatureGroup:
    """The published stations, filtered in the browser."""
    return render(view.shown[SPEC.name], **published(view, SPEC.name))
