"""Security incidents: our own feed, or ACLED, UCDP and HXL-tagged exports as they come."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from layers.contract import Derivation, MapView, Publication, published
from layers.core.predicates import SEVERITIES
from layers.core.predicates import in_window as within
from layers.core.problems import Level, Problem
from layers.io.raw import RawTable
from layers.io.reader import build_frame
from layers.io.spec import POINT_TYPES, FeedSpec, Field, ReadContext
from layers.map.elements import PointCloud
from layers.map.payload import category_index, columnar, split_details

if TYPE_CHECKING:
    from layers.scene import Scene

UCDP_VIOLENCE = {"1": "State-based conflict", "2": "Non-state conflict", "3": "One-sided violence"}

SPEC = FeedSpec(
    name="incidents",
    title="Incidents",
    geometry=POINT_TYPES,
    grows=True,
    doc="One point per incident. ACLED exports, UCDP GED (with or without its HXL row) "
    "and OpenStreetMap incident tags are read as they are.",
    fields=(
        Field(
            "id",
            aliases=("event_id_cnty", "event_id", "incident_id", "post_id", "#event+id"),
            doc="Unique incident id.",
        ),
        Field(
            "time",
            "time",
            required=True,
            aliases=(
                "event_date",
                "date",
                "date_start",
                "datetime",
                "timestamp",
                "incident_date_start",
                "incident_date",  # Ushahidi v2 / Crowdmap
                "post_date",  # Ushahidi v3
                "post_date_utc",
                "#date+start",
                "#date+occurred",
                "#date",
            ),
            doc="When it happened.",
        ),
        Field(
            "type",
            aliases=("event_type", "incident_type", "type_of_violence", "category", "#event+type"),
            doc="Kind of incident (free text).",
        ),
        Field("sub_type", aliases=("sub_event_type", "subtype"), doc="Finer kind (optional)."),
        Field(
            "severity",
            "choice",
            choices=SEVERITIES,
            synonyms={
                "minor": "low",
                "moderate": "medium",
                "major": "high",
                "severe": "high",
                "extreme": "critical",
                "1": "low",
                "2": "medium",
                "3": "high",
                "4": "critical",
            },
            doc="low / medium / high / critical. When the feed has none it is derived from "
            "fatalities and type, and marked as derived.",
        ),
        Field(
            "fatalities",
            "int",
            aliases=("deaths", "killed", "best", "#affected+killed"),
            minimum=0,
            maximum=100_000,
            unit="people",
            doc="Reported deaths.",
        ),
        Field(
            "description",
            aliases=(
                "notes",
                "details",
                "summary",
                "source_headline",
                "incident_detail",
                "#description",
            ),
            doc="What happened (free text; shown as text, never as HTML).",
        ),
        Field(
            "source",
            aliases=("source_office", "reported_by", "incident_source_url", "#meta+source"),
            doc="Who reported it.",
        ),
        Field("verified", "bool", aliases=("confirmed",), doc="Verified (true/false)."),
        Field(
            "admin1",
            aliases=("adm_1", "county", "region", "state", "province", "#adm1+name"),
            doc="First-level area.",
        ),
        Field(
            "admin2", aliases=("adm_2", "district", "lga", "#adm2+name"), doc="Second-level area."
        ),
    ),
)

CATEGORIES = ("violence", "unrest", "intimidation", "electoral", "other")
_CATEGORY_WORDS = (
    (
        "violence",
        (
            "violence",
            "clash",
            "battle",
            "attack",
            "armed",
            "explosion",
            "conflict",
            "killing",
            "shooting",
            "abduction",
        ),
    ),
    ("unrest", ("riot", "protest", "demonstration", "unrest", "mob")),
    ("intimidation", ("intimidation", "threat", "harass", "hate speech")),
    ("electoral", ("electoral", "ballot", "fraud", "malpractice", "vote", "destruction")),
)
SEVERITY_FILL = {
    "low": "#fed976",
    "medium": "#fd8d3c",
    "high": "#e31a1c",
    "critical": "#67000d",
    "unknown": "#bdbdbd",
}
SEVERITY_RADIUS = {"low": 4, "medium": 5, "high": 7, "critical": 9, "unknown": 4}
CATEGORY_EDGE = {
    "violence": "#000000",
    "unrest": "#6a3d9a",
    "intimidation": "#1f78b4",
    "electoral": "#33a02c",
    "other": "#636363",
}
SEVERITY_ORDER = (*SEVERITIES, "unknown")
STYLES = tuple(
    {
        "radius": SEVERITY_RADIUS[s],
        "color": CATEGORY_EDGE[c],
        "weight": 2,
        "fillColor": SEVERITY_FILL[s],
        "fillOpacity": 0.9,
    }
    for s in SEVERITY_ORDER
    for c in CATEGORIES
)
POPUP = (
    ("Incident", "type"),
    ("Sub-type", "sub_type"),
    ("Time", "time"),
    ("Severity", "severity"),
    ("Severity from", "severity_source"),
    ("Fatalities", "fatalities"),
    ("Area", "admin1"),
    ("Description", "description"),
    ("Source", "source"),
    ("Verified", "verified"),
    ("Id", "id"),
)


def one_row_per_event(raw: RawTable) -> tuple[RawTable, list[Problem]]:
    """An export that lists an event once per actor (ACLED's actor layout: the same event
    id and values, one actor each) as one row per event, its actors joined with '; '."""
    values = raw.values
    key = next((n for n in (SPEC.field("id").name, *SPEC.field("id").aliases) if n in values), None)
    actors = [c for c in values.columns if "actor" in c or c.startswith("inter")]
    if key is None or not actors or not values[key].duplicated().any():
        return raw, []
    others = [c for c in values.columns if c not in actors]
    same = values[others].astype(str)
    # Rows of one event: the same id and the same values apart from the actors.
    group = same.groupby(others, sort=False, dropna=False).ngroup().to_numpy()
    repeated = pd.Series(group).duplicated().to_numpy()
    if not repeated.any():
        return raw, []
    first = np.flatnonzero(~repeated)
    merged = values.iloc[first].copy()
    for col in actors:
        names = (
            values[col]
            .groupby(group, sort=False)
            .agg(
                lambda s: (
                    "; ".join(dict.fromkeys(str(v) for v in s if v is not None and v == v)) or None
                )
            )
        )
        merged[col] = names.reindex(group[first]).to_numpy()
    note = Problem(
        SPEC.name,
        raw.file,
        None,
        None,
        f"{len(values):,} rows list {len(first):,} events once per actor; each event is read "
        "once, its actors joined.",
        "",
        Level.NOTICE,
        "one_row_per_actor",
    )
    shapes = {int(k): raw.shapes[int(i)] for k, i in enumerate(first) if int(i) in raw.shapes}
    return (
        replace(
            raw,
            values=merged.reset_index(drop=True),
            rows=raw.rows[first],
            geom_type=[raw.geom_type[i] for i in first] if raw.geom_type is not None else None,
            lon=raw.lon[first] if raw.lon is not None else None,
            lat=raw.lat[first] if raw.lat is not None else None,
            shapes=shapes,
        ),
        [note],
    )


def load(raw: RawTable, ctx: ReadContext) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean incidents frame and problems; fills severity where the feed has none."""
    raw, joined = one_row_per_event(raw)
    frame, problems = build_frame(raw, SPEC, ctx)
    problems = [*joined, *problems]
    if "type_of_violence" in raw.values.columns and frame["type"].notna().any():
        codes = frame["type"].map(lambda v: None if v is None else str(v).split(".")[0])
        frame["type"] = codes.map(UCDP_VIOLENCE).where(
            codes.isin(list(UCDP_VIOLENCE)), frame["type"]
        )
    reported = frame["severity"] != "unknown"
    derived = derive_severity(frame["fatalities"], frame["type"])
    frame["severity"] = frame["severity"].where(reported, derived)
    frame["severity_source"] = np.where(
        reported, "reported", np.where(derived != "unknown", "derived", "unknown")
    )
    if len(frame) and not reported.any():
        problems.append(
            Problem(
                SPEC.name,
                raw.file,
                None,
                "severity",
                "the feed has no severity; it was derived from fatalities and "
                "type (10+ deaths critical, 1+ high, violence medium, else low).",
                "Add a severity column (low/medium/high/critical) to set it.",
                Level.NOTICE,
                "derived_severity",
            )
        )
    return frame, problems


def category(types: pd.Series) -> pd.Series:
    """Broad category of each free-text incident type, for styling and filters."""

    def one(value: object) -> str:
        text = str(value).lower() if value is not None else ""
        for name, words in _CATEGORY_WORDS:
            if any(w in text for w in words):
                return name
        return "other"

    codes, uniques = pd.factorize(types, use_na_sentinel=True)
    per_unique = np.array([one(v) for v in uniques.tolist()] + [one(None)], dtype=object)
    return pd.Series(per_unique[codes], index=types.index, dtype=object)  # -1: missing


def derive_severity(fatalities: pd.Series, types: pd.Series) -> pd.Series:
    """Severity from deaths and type, for feeds that report none (ACLED, UCDP)."""
    deaths = fatalities.astype("float64")
    cats = category(types)
    has_info = deaths.notna() | types.notna()
    sev = np.select(
        [deaths >= 10, deaths >= 1, cats == "violence", cats.isin(["unrest", "intimidation"])],
        ["critical", "high", "medium", "low"],
        "low",
    )
    return pd.Series(np.where(has_info, sev, "unknown"), index=fatalities.index, dtype=object)


def derive(incidents: gpd.GeoDataFrame, scene: Scene) -> gpd.GeoDataFrame:
    """Incidents with their category. Nothing here depends on the time, so the derived
    incidents change only with their feed (ages: :func:`age_hours`)."""
    out = incidents.copy()
    out["category"] = category(out["type"])
    return out


def age_hours(incidents: gpd.GeoDataFrame, now: pd.Timestamp) -> pd.Series:
    """Each incident's age in hours at ``now`` (negative: reported for later)."""
    return ((now - incidents["time"]).dt.total_seconds() / 3600).round(2)


def in_window(incidents: gpd.GeoDataFrame, now: pd.Timestamp, hours: float) -> gpd.GeoDataFrame:
    """Incidents of the last ``hours`` before ``now`` (none from the future)."""
    return incidents[within(incidents["time"], now, hours)]


def dataset(incidents: gpd.GeoDataFrame, columns: Sequence[str] = ()) -> dict[str, Any]:
    """The located incidents (derived frame) as columns for the map, with times."""
    sev = category_index(incidents["severity"], SEVERITY_ORDER)
    cats = category_index(incidents["category"], CATEGORIES)
    props = list(dict.fromkeys([*(p for _, p in POPUP), *columns]))
    return columnar(incidents, props, sev * len(CATEGORIES) + cats, time="time")


def render(
    incidents: gpd.GeoDataFrame,
    name: str = "Incidents",
    *,
    source: str | dict[str, Any] | None = None,
    details: str | dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
) -> folium.FeatureGroup:
    """Incidents: fill and size by severity, outline colour by category (derived frame).

    ``source`` and ``where`` as for polling stations: the browser can narrow a served
    dataset by column values and by a time range.
    """
    group = folium.FeatureGroup(name=name)
    PointCloud(
        "incidents",
        dataset(incidents) if source is None else source,
        STYLES,
        tooltip="type",
        popup=POPUP,
        where=where,
        details=details,
        unit="incidents",
    ).add_to(group)
    return group


LEGEND = (
    "Incidents",
    (
        *(
            (f"severity {s}", {"fillColor": SEVERITY_FILL[s], "color": "#333", "weight": 1})
            for s in SEVERITY_ORDER
        ),
        *((f"{c} (outline)", {"color": CATEGORY_EDGE[c], "weight": 2}) for c in CATEGORIES),
    ),
)


DERIVE = Derivation(needs=("areas",), row_wise=True, areas=True)
FILTERS = {
    "area": "area",
    "sub_area": "area2",
    "type": "type",
    "severity": "severity",
    "window": "time",
}
PUBLISH = Publication(("main", "details"))


def datasets(incidents: gpd.GeoDataFrame) -> dict[str, Any]:
    """ "main": what the map draws and filters on (times included); "details": the popup
    fields, fetched after the first draw."""
    columns = tuple(c for c in FILTERS.values() if c != "time")
    main, details = split_details(dataset(incidents, columns=("area", "area2")), columns)
    return {"main": main, "details": details}


def draw(view: MapView) -> folium.FeatureGroup:
    """The published incidents, filtered in the browser."""
    return render(view.shown[SPEC.name], **published(view, SPEC.name))
