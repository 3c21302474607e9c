"""What the user chose to see: one object per filter, and the frames the choices keep.

Each filter owns its pandas mask, the rule the browser applies to the published data
(pollwatch.js ``select``), its URL form and its label, as datasette's filters own their
SQL and their sentence. Layers say which filters apply to them, and to which of their
columns (``FILTERS`` in each layer module); :func:`apply` and :func:`browser_where`
dispatch through the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.analysis import areas as area_rule
from layers.analysis import history
from layers.core import growth
from layers.incidents import SEVERITY_ORDER
from layers.registry import REGISTRY

WINDOWS = {"1 h": 1.0, "6 h": 6.0, "24 h": 24.0, "7 days": 168.0}
WHOLE = "whole feed"  # every incident the feed holds, however old (an ACLED history)
CUSTOM = "custom"
NO_AREA = area_rule.NO_AREA
WINDOW_PARAMS = {
    "1 h": "1h",
    "6 h": "6h",
    "24 h": "24h",
    "7 days": "7d",
    WHOLE: "all",
    CUSTOM: "custom",
}
# The start of the whole feed's window: before any record a feed can hold.
BEGINNING = pd.Timestamp("1900-01-01", tz="UTC")


@dataclass(frozen=True)
class Filters:
    """What the user chose to see. An empty tuple means 'all'."""

    areas: tuple[str, ...] = ()
    sub_areas: tuple[str, ...] = ()  # "Area / Sub-area" (layers.analysis.areas.sub_areas)
    station_statuses: tuple[str, ...] = ()
    incident_types: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    convoy_states: tuple[str, ...] = ()
    window: str = "24 h"  # a key of WINDOWS, WHOLE, or CUSTOM with start/end
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None

    def time_range(self, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        """(start, end] of the incident window."""
        if self.window == CUSTOM and self.start is not None and self.end is not None:
            return self.start, self.end
        now = now.floor("s")  # whole seconds, as the browser compares them
        if self.window == WHOLE:
            return BEGINNING, now
        return now - pd.Timedelta(hours=WINDOWS.get(self.window, 24.0)), now

    def of(self, layer: str) -> tuple[tuple[str, object], ...]:
        """The choices that narrow ``layer`` (a cache key for what is built from it)."""
        return tuple((name, FILTERS[name].chosen(self)) for name in REGISTRY[layer].FILTERS)

    def to_query(self) -> dict[str, str | list[str]]:
        """URL parameters for a shareable link (defaults left out). Lists repeat the
        parameter: ``?area=Bong&area=Lofa``."""
        query: dict[str, str | list[str]] = {}
        for f in FILTERS.values():
            query.update(f.query(self))
        return query

    @classmethod
    def from_query(
        cls, get_all: Callable[[str], list[str]], offered: Mapping[str, Sequence[str]]
    ) -> tuple[Filters, list[str]]:
        """Filters from URL parameters (``get_all(name)`` lists a parameter's values), and
        what was asked for but not applied. Values the data does not offer are left out
        and reported, never an error: a shared link may outlive an area or an incident type.
        """
        filters, ignored = cls(), []
        for f in FILTERS.values():
            filters, skipped = f.read(filters, get_all, offered.get(f.name, ()))
            ignored += skipped
        return filters, ignored

    def sentence(self, now: pd.Timestamp) -> str:
        """The view's filters in words, e.g. 'Area: Bong, Lofa; incidents of the last 24 h'."""
        parts = [f.words(self, now) for f in FILTERS.values()]
        return "; ".join(p for p in parts if p) or "everything"


@dataclass(frozen=True)
class Choice:
    """Keeps rows whose column is one of the chosen values (none chosen: every row)."""

    name: str  # URL parameter, and the key layers use in FILTERS
    label: str
    field: str  # the Filters attribute holding the choice
    order: tuple[str, ...] = ()  # offered in this order; otherwise sorted
    # The filter whose choice narrows this one's offer: a sub-area is offered when its
    # area is chosen (or when no area is).
    within: str | None = None

    def narrowed(self, offered: Sequence[str], parents: Sequence[str]) -> list[str]:
        """The values offered once the ``within`` filter holds ``parents``."""
        if self.within is None or not parents:
            return list(offered)
        return [v for v in offered if area_rule.parent_of(v) in parents]

    def chosen(self, filters: Filters) -> tuple[str, ...]:
        return tuple(getattr(filters, self.field))

    def mask(
        self, frame: pd.DataFrame, column: str, filters: Filters, now: pd.Timestamp
    ) -> np.ndarray | None:
        wanted = self.chosen(filters)
        if not wanted or column not in frame:
            return None
        return frame[column].isin(wanted).to_numpy(dtype=bool)

    def rule(self, column: str, filters: Filters, now: pd.Timestamp) -> dict[str, object]:
        wanted = self.chosen(filters)
        return {"columns": {column: list(wanted)}} if wanted else {}

    def query(self, filters: Filters) -> dict[str, str | list[str]]:
        wanted = self.chosen(filters)
        return {self.name: list(wanted)} if wanted else {}

    def read(
        self, filters: Filters, get_all: Callable[[str], list[str]], offered: Sequence[str]
    ) -> tuple[Filters, list[str]]:
        asked = get_all(self.name)
        kept = tuple(v for v in dict.fromkeys(asked) if v in offered)
        skipped = [f"{self.name}={v}" for v in asked if v not in offered]
        return replace(filters, **{self.field: kept}), skipped  # type: ignore[arg-type]

    def words(self, filters: Filters, now: pd.Timestamp) -> str:
        wanted = self.chosen(filters)
        return f"{self.label}: {', '.join(wanted)}" if wanted else ""

    def offered(self, derived: Mapping[str, gpd.GeoDataFrame]) -> list[str]:
        """The values found in every layer this filter applies to."""
        found: set[str] = set()
        for layer, module in REGISTRY.items():
            column = module.FILTERS.get(self.name)
            if column is not None and layer in derived:
                found |= _values(derived[layer], layer, column)
        if self.order:
            return [v for v in self.order if v in found]
        return sorted(found)


@dataclass(frozen=True)
class Window:
    """Keeps rows whose time lies in the chosen window (start < time <= end)."""

    name: str = "window"
    label: str = "Incidents in the last"

    def chosen(self, filters: Filters) -> object:
        return (filters.window, filters.start, filters.end)

    def mask(
        self, frame: pd.DataFrame, column: str, filters: Filters, now: pd.Timestamp
    ) -> np.ndarray | None:
        start, end = filters.time_range(now)
        t = frame[column]
        return ((t > start) & (t <= end)).to_numpy(dtype=bool)

    def rule(self, column: str, filters: Filters, now: pd.Timestamp) -> dict[str, object]:
        start, end = filters.time_range(now)  # epoch seconds, as the browser compares them
        return {"time": [int(start.timestamp()), int(end.timestamp())]}

    def query(self, filters: Filters) -> dict[str, str | list[str]]:
        query: dict[str, str | list[str]] = {}
        if filters.window != Filters.window:
            query[self.name] = WINDOW_PARAMS[filters.window]
        if filters.window == CUSTOM and filters.start is not None and filters.end is not None:
            query["from"] = filters.start.strftime("%Y-%m-%dT%H:%MZ")
            query["to"] = filters.end.strftime("%Y-%m-%dT%H:%MZ")
        return query

    def read(
        self, filters: Filters, get_all: Callable[[str], list[str]], offered: Sequence[str]
    ) -> tuple[Filters, list[str]]:
        skipped = []
        windows = {v: k for k, v in WINDOW_PARAMS.items()}
        asked = (get_all(self.name) or [WINDOW_PARAMS[Filters.window]])[-1]
        window = windows.get(asked, Filters.window)
        if asked not in windows:
            skipped.append(f"{self.name}={asked}")
        start = end = None
        if window == CUSTOM:
            start, end = _stamp(get_all("from")), _stamp(get_all("to"))
            if start is None or end is None or start >= end:
                skipped.append("window=custom without a valid from < to")
                window, start, end = Filters.window, None, None
        return replace(filters, window=window, start=start, end=end), skipped

    def words(self, filters: Filters, now: pd.Timestamp) -> str:
        start, end = filters.time_range(now)
        if filters.window == CUSTOM:
            return f"incidents from {start:%d %b %Y %H:%M} to {end:%d %b %Y %H:%M} UTC"
        if filters.window == WHOLE:
            return "every incident of the feed"
        return f"incidents of the last {filters.window}"

    def period(self, filters: Filters, now: pd.Timestamp) -> str:
        """The window in words: 'the last 24 h', 'the whole feed', or its range with the
        years whenever they matter (:func:`layers.analysis.history.span_text`)."""
        if filters.window == WHOLE:
            return "the whole feed"
        if filters.window == CUSTOM:
            return history.span_text(*filters.time_range(now), now)
        return f"the last {filters.window}"


FILTERS: dict[str, Choice | Window] = {
    f.name: f
    for f in (
        Choice("area", "Area", "areas"),
        Choice("sub_area", "Sub-area", "sub_areas", within="area"),
        Choice("status", "Station status", "station_statuses"),
        Window(),
        Choice("type", "Incident type", "incident_types"),
        Choice("severity", "Severity", "severities", SEVERITY_ORDER),
        Choice("convoy", "Convoy status", "convoy_states"),
    )
}
CHOICES = tuple(f for f in FILTERS.values() if isinstance(f, Choice))


def _stamp(values: list[str]) -> pd.Timestamp | None:
    """The last value as a UTC time, or None when absent or not a time."""
    if not values:
        return None
    try:
        stamp = pd.Timestamp(values[-1])
    except ValueError:
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _values(frame: gpd.GeoDataFrame, layer: str, column: str) -> set[str]:
    """The distinct values of a derived frame's column, kept per frame (grown with it)."""
    if not len(frame) or column not in frame:
        return set()

    def of(rows: gpd.GeoDataFrame) -> set[str]:
        return {str(v) for v in rows[column].dropna().unique()}

    return growth.kept(
        frame,
        f"choices {layer} {column}",
        lambda: of(frame),
        lambda known, added: known | of(added),
    )


def choices(derived: Mapping[str, gpd.GeoDataFrame]) -> dict[str, list[str]]:
    """The values a user can pick in each choice filter, as found in the data."""
    return {f.name: f.offered(derived) for f in CHOICES}


@dataclass(frozen=True)
class Picture:
    """Derived frames after the filters, and the incident window they used."""

    frames: dict[str, gpd.GeoDataFrame]
    time_range: tuple[pd.Timestamp, pd.Timestamp] | None = None


def apply(derived: Mapping[str, gpd.GeoDataFrame], filters: Filters, now: pd.Timestamp) -> Picture:
    """Every layer's derived frame narrowed by the filters that apply to it."""
    out = dict(derived)
    for layer, module in REGISTRY.items():
        frame = derived[layer]
        keep: np.ndarray | None = None
        for name, column in module.FILTERS.items():
            mask = FILTERS[name].mask(frame, column, filters, now)
            if mask is not None:
                keep = mask if keep is None else keep & mask
        if keep is not None and not keep.all():
            out[layer] = frame[keep]
    return Picture(out, time_range=filters.time_range(now))


def browser_where(filters: Filters, now: pd.Timestamp) -> dict[str, dict[str, object]]:
    """Per layer, the rules the browser applies to its published data: the same as
    :func:`apply` ({"columns": {column: [values]}, "time": [start, end]})."""
    where: dict[str, dict[str, object]] = {}
    for layer, module in REGISTRY.items():
        columns: dict[str, object] = {}
        rules: dict[str, object] = {"columns": columns}
        for name, column in module.FILTERS.items():
            rule = dict(FILTERS[name].rule(column, filters, now))
            columns.update(rule.pop("columns", {}))  # type: ignore[call-overload]
            rules.update(rule)
        where[layer] = rules
    return where


Bounds = tuple[float, float, float, float]


def framed(picture: Picture, filters: Filters, whole: Bounds | None) -> Bounds | None:
    """The map frame of a view: around the chosen areas (or sub-areas), their polygons and
    located stations, so choosing an area zooms to it; ``whole`` (the data's frame) when
    no area is chosen or nothing chosen has a location."""
    if not (filters.areas or filters.sub_areas):
        return whole
    names = ("polling_stations",) if filters.sub_areas else ("areas", "polling_stations")
    boxes = np.array(
        [picture.frames[n].total_bounds for n in names if len(picture.frames.get(n, ()))]
    ).reshape(-1, 4)
    boxes = boxes[~np.isnan(boxes).any(axis=1)]  # a frame with no location at all
    if not len(boxes):
        return whole
    minx, miny = boxes[:, :2].min(axis=0)
    maxx, maxy = boxes[:, 2:].max(axis=0)
    pad = max(maxx - minx, maxy - miny, 0.05) * 0.05
    return (minx - pad, miny - pad, maxx + pad, maxy + pad)
