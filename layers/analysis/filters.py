"""What the user chose to see: the filters, their URL form, and the frames they keep."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from layers import incidents as incidents_layer
from layers.analysis import areas as area_rule
from layers.core import growth

WINDOWS = {"1 h": 1.0, "6 h": 6.0, "24 h": 24.0, "7 days": 168.0}
CUSTOM = "custom"
NO_AREA = area_rule.NO_AREA


# Filter field -> URL parameter. Lists repeat the parameter: ?area=Bong&area=Lofa
LIST_PARAMS = {
    "areas": "area",
    "station_statuses": "status",
    "incident_types": "type",
    "severities": "severity",
    "convoy_states": "convoy",
}


WINDOW_PARAMS = {"1 h": "1h", "6 h": "6h", "24 h": "24h", "7 days": "7d", CUSTOM: "custom"}


@dataclass(frozen=True)
class Filters:
    """What the user chose to see. An empty tuple means 'all'."""

    areas: tuple[str, ...] = ()
    station_statuses: tuple[str, ...] = ()
    incident_types: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    convoy_states: tuple[str, ...] = ()
    window: str = "24 h"  # a key of WINDOWS, or "custom" with start/end
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None

    def time_range(self, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        """(start, end] of the incident window."""
        if self.window == CUSTOM and self.start is not None and self.end is not None:
            return self.start, self.end
        now = now.floor("s")  # whole seconds, as the browser compares them
        return now - pd.Timedelta(hours=WINDOWS.get(self.window, 24.0)), now

    def to_query(self) -> dict[str, str | list[str]]:
        """URL parameters for a shareable link (defaults left out)."""
        query: dict[str, str | list[str]] = {
            param: list(getattr(self, name))
            for name, param in LIST_PARAMS.items()
            if getattr(self, name)
        }
        if self.window != Filters.window:
            query["window"] = WINDOW_PARAMS[self.window]
        if self.window == CUSTOM and self.start is not None and self.end is not None:
            query["from"] = self.start.strftime("%Y-%m-%dT%H:%MZ")
            query["to"] = self.end.strftime("%Y-%m-%dT%H:%MZ")
        return query

    @classmethod
    def from_query(
        cls, get_all: Callable[[str], list[str]], offered: dict[str, list[str]]
    ) -> tuple[Filters, list[str]]:
        """Filters from URL parameters (``get_all(name)`` lists a parameter's values).

        Values the data does not offer are left out and reported, never an error:
        a shared link may outlive an area or an incident type.
        """
        ignored: list[str] = []
        values: dict[str, object] = {}
        for name, param in LIST_PARAMS.items():
            asked = get_all(param)
            values[name] = tuple(v for v in dict.fromkeys(asked) if v in offered.get(name, []))
            ignored += [f"{param}={v}" for v in asked if v not in offered.get(name, [])]
        windows = {v: k for k, v in WINDOW_PARAMS.items()}
        asked_window = (get_all("window") or [WINDOW_PARAMS[cls.window]])[-1]
        window = windows.get(asked_window, cls.window)
        if asked_window not in windows:
            ignored.append(f"window={asked_window}")
        start = end = None
        if window == CUSTOM:
            start, end = _stamp(get_all("from")), _stamp(get_all("to"))
            if start is None or end is None or start >= end:
                ignored.append("window=custom without a valid from < to")
                window, start, end = cls.window, None, None
        return cls(window=window, start=start, end=end, **values), ignored  # type: ignore[arg-type]


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


def browser_where(
    filters: Filters, time_range: tuple[pd.Timestamp, pd.Timestamp]
) -> dict[str, dict[str, object]]:
    """The station and incident filters as the map applies them in the browser.

    Same rules as :func:`apply`: a value list keeps rows whose column is in it; the
    time range keeps incidents with start < time <= end (epoch seconds).
    """

    def columns(pairs: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
        return {column: list(values) for column, values in pairs.items() if values}

    start, end = time_range
    return {
        "polling_stations": {
            "columns": columns({"area": filters.areas, "status": filters.station_statuses})
        },
        "incidents": {
            "columns": columns(
                {
                    "area": filters.areas,
                    "type": filters.incident_types,
                    "severity": filters.severities,
                }
            ),
            "time": [int(start.timestamp()), int(end.timestamp())],
        },
    }


@dataclass(frozen=True)
class Picture:
    """Derived frames after the filters, and the incident window they used."""

    frames: dict[str, gpd.GeoDataFrame]
    time_range: tuple[pd.Timestamp, pd.Timestamp] | None = None


def choices(derived: dict[str, gpd.GeoDataFrame]) -> dict[str, list[str]]:
    """The values a user can filter on, as found in the data."""

    def values(layer: str, column: str) -> set[str]:  # once per derived frame
        frame = derived[layer]
        if not len(frame):
            return set()

        def of(rows: gpd.GeoDataFrame) -> set[str]:
            return {str(v) for v in rows[column].dropna().unique()}

        return growth.kept(
            frame,
            f"choices {layer} {column}",
            lambda: of(frame),
            lambda known, added: known | of(added),
        )

    severities = values("incidents", "severity")
    return {
        "areas": sorted(values("polling_stations", "area") | values("incidents", "area")),
        "station_statuses": sorted(values("polling_stations", "status")),
        "incident_types": sorted(values("incidents", "type")),
        "severities": [s for s in (*incidents_layer.SEVERITIES, "unknown") if s in severities],
        "convoy_states": sorted(values("convoy_positions", "state")),
    }


def _keep(frame: gpd.GeoDataFrame, column: str, wanted: tuple[str, ...]) -> gpd.GeoDataFrame:
    return frame[frame[column].isin(wanted)] if wanted else frame


def apply(derived: dict[str, gpd.GeoDataFrame], filters: Filters, now: pd.Timestamp) -> Picture:
    """The derived frames narrowed to what ``filters`` asks for."""
    out = dict(derived)
    stations = _keep(derived["polling_stations"], "area", filters.areas)
    out["polling_stations"] = _keep(stations, "status", filters.station_statuses)
    start, end = filters.time_range(now)
    events = derived["incidents"]
    events = events[(events["time"] > start) & (events["time"] <= end)]
    events = _keep(events, "area", filters.areas)
    events = _keep(events, "type", filters.incident_types)
    out["incidents"] = _keep(events, "severity", filters.severities)
    convoys = derived["convoy_positions"]
    out["convoy_positions"] = (
        _keep(convoys, "state", filters.convoy_states) if len(convoys) else convoys
    )
    if len(out["convoy_positions"]) < len(convoys):
        shown = set(out["convoy_positions"]["convoy_id"])
        out["convoy_routes"] = derived["convoy_routes"][
            derived["convoy_routes"]["convoy_id"].isin(shown)
        ]
    if filters.areas and len(derived["areas"]):
        out["areas"] = derived["areas"][derived["areas"]["name"].isin(filters.areas)]
    return Picture(out, time_range=(start, end))
