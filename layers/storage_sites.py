"""Storage sites of electoral materials: warehouses, county magazines and UN compounds used
as stores, with their stock, guard and state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np

from layers.contract import Derivation, MapView, Publication
from layers.core.problems import Level, Problem
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import AREA_TYPES, POINT_TYPES, FeedSpec, Field, ReadContext
from layers.map.elements import FeatureLayer, PointCloud, overlay_group
from layers.map.payload import columnar, feature_collection, split_details

if TYPE_CHECKING:
    from layers.scene import Scene

KINDS = ("warehouse", "county_magazine", "compound")
STATES = ("open", "closed", "compromised")

SPEC = FeedSpec(
    name="storage_sites",
    title="Storage sites",
    geometry=(*POINT_TYPES, *AREA_TYPES),
    optional=True,
    doc="Where electoral materials are kept: a point, or the site's outline.",
    fields=(
        Field(
            "id", aliases=("site_id", "store_id", "facility_id", "#loc+code"), doc="Unique site id."
        ),
        Field("name", aliases=("site_name", "facility", "#loc+name"), doc="Site name."),
        Field(
            "kind",
            "choice",
            choices=KINDS,
            default="warehouse",
            synonyms={
                "store": "warehouse",
                "depot": "warehouse",
                "magazine": "county_magazine",
                "strongroom": "county_magazine",
                "un_compound": "compound",
                "base": "compound",
            },
            doc="Warehouse, county magazine, or a UN compound used as a store.",
        ),
        Field(
            "admin1",
            aliases=("county", "region", "province", "state", "district", "#adm1+name"),
            doc="First-level area (without it, the area polygon the site lies in).",
        ),
        Field(
            "capacity",
            "int",
            aliases=("capacity_kits", "max_kits"),
            minimum=0,
            maximum=1_000_000,
            unit="ballot kits",
            doc="Ballot kits the site can hold.",
        ),
        Field(
            "ballot_kits",
            "int",
            aliases=("kits", "stock", "stock_kits"),
            minimum=0,
            maximum=1_000_000,
            unit="ballot kits",
            doc="Ballot kits in stock now.",
        ),
        Field(
            "sensitive_materials",
            "int",
            aliases=("sensitive", "sensitive_items"),
            minimum=0,
            maximum=1_000_000,
            unit="items",
            doc="Sensitive materials in stock now (result forms, seals, marked registers).",
        ),
        Field(
            "guard_unit",
            aliases=("guard", "guarded_by", "#org+name"),
            doc="Unit guarding the site.",
        ),
        Field(
            "status",
            "choice",
            choices=STATES,
            default="open",
            synonyms={
                "active": "open",
                "secured": "open",
                "shut": "closed",
                "empty": "closed",
                "breached": "compromised",
                "looted": "compromised",
                "attacked": "compromised",
            },
            doc="Open, closed, or compromised (breached, looted, attacked).",
        ),
        Field("updated", "time", aliases=("counted", "as_of"), doc="When the stock was counted."),
    ),
)

_FILLS = (  # by status, in STATES' order; last: a status not read
    {"radius": 7, "color": "#3f007d", "weight": 2, "fillColor": "#807dba", "fillOpacity": 1.0},
    {"radius": 7, "color": "#525252", "weight": 2, "fillColor": "#d9d9d9", "fillOpacity": 1.0},
    {"radius": 9, "color": "#67000d", "weight": 3, "fillColor": "#ef3b2c", "fillOpacity": 1.0},
    {"radius": 7, "color": "#000000", "weight": 1, "fillColor": "#ffffff", "fillOpacity": 1.0},
)
STYLES = tuple({**style, "shape": "square"} for style in _FILLS)
OUTLINE_STYLES = tuple(
    {"color": s["color"], "weight": 2, "fillColor": s["fillColor"], "fillOpacity": 0.1}
    for s in STYLES
)
POPUP = (
    ("Site", "name"),
    ("Id", "id"),
    ("Kind", "kind"),
    ("Status", "status"),
    ("Ballot kits", "ballot_kits"),
    ("Capacity", "capacity"),
    ("Stock, % of capacity", "stock_pct"),
    ("Sensitive materials", "sensitive_materials"),
    ("Guard", "guard_unit"),
    ("Counted", "updated"),
)
LEGEND = (
    SPEC.title,
    tuple(
        (label, style)
        for label, style in zip(
            (*(f"{state} store" for state in STATES), "status not known"), STYLES, strict=True
        )
    ),
)
DERIVE = Derivation(row_wise=True, areas=True)
FILTERS = {"area": "area"}
PUBLISH = Publication(("main", "details", "outlines"))


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean sites frame and problems; a stock over the site's capacity is reported (the
    count or the capacity is wrong) and kept as sent."""
    frame, problems = build_frame(raw, SPEC, ctx)
    over = (frame["ballot_kits"] > frame["capacity"]).fillna(False).to_numpy(dtype=bool)
    for i in np.flatnonzero(over):
        row = frame.iloc[i]
        problems.append(
            Problem(
                SPEC.name,
                raw.file,
                int(row["source_row"]),
                "ballot_kits",
                f"{row['ballot_kits']:,} ballot kits in a site that holds {row['capacity']:,}.",
                "Check the stock count and the capacity; the count is shown as sent.",
                Level.WARNING,
                "over_capacity",
            )
        )
    return frame, problems


def derive(sites: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """Sites with ``stock_pct``: ballot kits in stock as a share of capacity (none without
    a capacity)."""
    out = sites.copy()
    capacity = out["capacity"].astype("Float64")
    share = (out["ballot_kits"].astype("Float64") / capacity.where(capacity > 0)) * 100
    out["stock_pct"] = share.round(0).to_numpy(dtype=float, na_value=np.nan)
    return out


def _state(sites: gpd.GeoDataFrame) -> np.ndarray:
    """Each site's style: its status's place in STATES; a status not read, the last."""
    known = sites["status"].map({s: i for i, s in enumerate(STATES)})
    return known.fillna(len(STATES)).to_numpy(dtype=int)


def datasets(sites: gpd.GeoDataFrame) -> dict[str, Any]:
    """The map's parts of the sites (derived frame): "main" (each site as a square at its
    point or inside its outline, with what the filters read), "details" (its popup) and
    "outlines" (sites sent as polygons)."""
    columns = [p for _, p in POPUP]
    main, details = split_details(
        columnar(sites, [*columns, *FILTERS.values()], _state(sites)), tuple(FILTERS.values())
    )
    point = (sites.geom_type == "Point").to_numpy()
    outlines = feature_collection(sites[~point], ["name"], _state(sites)[~point])
    return {"main": main, "details": details, "outlines": outlines}


def draw(view: MapView) -> folium.FeatureGroup:
    """Every site the filters keep, with outlines for sites sent as polygons; off until
    switched on."""
    sources = view.sources.get(SPEC.name) or datasets(view.shown[SPEC.name])
    group = overlay_group(SPEC.title, show=False)  # a logistics layer: on when wanted
    FeatureLayer(
        sources["outlines"], OUTLINE_STYLES, tooltip="name", name="storage_outlines"
    ).add_to(group)
    PointCloud(
        SPEC.name,
        sources["main"],
        STYLES,
        tooltip="name",
        popup=POPUP,
        where=dict(view.where.get(SPEC.name, {})),
        details=sources["details"],
        unit="sites",
    ).add_to(group)
    return group
