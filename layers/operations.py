"""The operations picture: filters over the derived layers, and the headline figures.

Pure functions of frames: the page passes the user's choices in and shows what
comes out; nothing here knows about widgets or URLs.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import pandas as pd

from layers import convoy_routes as routes_layer
from layers import coverage, gaps, growth, mapping
from layers import incidents as incidents_layer
from layers import patrols as patrols_layer
from layers import polling_stations as stations_layer
from layers.analysis import areas as area_rule
from layers.analysis import figures
from layers.feeds import fault_problem
from layers.problems import Problem
from layers.scene import Scene
from layers.schema import empty_frame

log = logging.getLogger(__name__)

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


# Columns the map filters on in the browser; the rest of a map dataset can come later.
MAP_FILTER_COLUMNS = {
    "polling_stations": ("area", "status"),
    "incidents": ("area", "type", "severity"),
}


def map_datasets(derived: dict[str, gpd.GeoDataFrame], layer: str) -> dict[str, Any]:
    """The map's dataset of ``layer``, served as files the browser fetches once per version.

    Stations and incidents in two parts: "main" draws and filters, "details" carries names
    and popup fields (fetched after the first draw). Patrols: "points" and "discs"
    (:func:`layers.patrols.datasets`). Convoy routes: their "lines"; a rerun sends only
    their styles (:func:`layers.convoy_routes.render`).
    """
    if layer == "patrols":
        return patrols_layer.datasets(derived["patrols"])
    if layer == "convoy_routes":
        return {"lines": routes_layer.dataset(derived["convoy_routes"])}
    return _parts(_points(derived[layer], layer), layer)


def _points(frame: gpd.GeoDataFrame, layer: str) -> dict[str, Any]:
    """Stations' or incidents' map columns (:func:`layers.mapping.columnar`)."""
    module = stations_layer if layer == "polling_stations" else incidents_layer
    return module.dataset(frame, columns=("area",))


def _parts(data: dict[str, Any], layer: str) -> dict[str, Any]:
    main, details = mapping.split_details(data, MAP_FILTER_COLUMNS[layer])
    return {"main": main, "details": details}


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


def with_area(
    frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, feed: str, file: str | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Frame with ``area`` (:func:`layers.analysis.areas.assign`), and the rows whose own
    area and polygon disagree."""
    area, problems = area_rule.assign(frame, areas, feed, file)
    return frame.assign(area=area), problems


def derive_picture(scene: Scene) -> Derived:
    """Every layer derived, with an ``area`` on stations and incidents (no cache kept)."""
    return DerivedCache().derive(scene)


AREA_LAYERS = ("polling_stations", "incidents")


def derive_key(name: str, scene: Scene, minute: bool = True, own: bool = True) -> Hashable | None:
    """What layer ``name``'s derived frame depends on, or None when that cannot be told.

    Stations: their feed, the bases and which bases are on shift now (coverage), the
    areas. Incidents: their feed and the areas. Convoys: their feeds and the minute
    (ages, states), unless ``minute`` is False (for what is built from columns that do
    not age). The rest: their own feed. ``own=False``: everything but the layer's own feed.
    """
    inputs = {
        "polling_stations": ("polling_stations", "patrols", "areas"),
        "incidents": ("incidents", "areas"),
        "convoy_positions": ("convoy_positions", "convoy_routes"),
    }.get(name, (name,))
    if not own:
        inputs = tuple(feed for feed in inputs if feed != name)
    if any(feed not in scene.versions for feed in inputs):
        return None  # a scene put together by hand: no versions to compare
    versions = tuple((scene.versions[f].signature, scene.versions[f].stale_copy) for f in inputs)
    if name == "polling_stations":  # and which bases are on shift
        return (versions, coverage.shift_period(scene["patrols"], scene.now))
    if name == "convoy_positions" and minute:
        return (versions, scene.now.floor("min"))
    return versions


# Layers whose derive is row by row: rows appended to the feed derive on their own.
ROW_WISE = ("incidents",)


@dataclass(frozen=True)
class _Derived:
    key: Hashable
    context: Hashable  # the key without the layer's own feed
    source: gpd.GeoDataFrame  # the scene's frame it was derived from
    frame: gpd.GeoDataFrame
    failure: Problem | None = None  # why this key's derive failed (frame: the last good one)
    notes: tuple[Problem, ...] = ()  # what deriving found (e.g. an area that disagrees)


class Derived(dict[str, gpd.GeoDataFrame]):
    """Every layer's derived frame, by feed name, and the scene they came from with the
    feeds whose derive failed marked as failed (their last good frame kept)."""

    def __init__(
        self,
        frames: dict[str, gpd.GeoDataFrame],
        scene: Scene,
        failures: dict[str, Problem],
        notes: dict[str, list[Problem]],
    ):
        super().__init__(frames)
        self.failures = failures
        self.scene = scene.derived(failures, notes) if failures or notes else scene


REBASE_ROWS = 5_000  # rows appended since a map dataset's full build before it is rebuilt
_SERIAL = itertools.count()  # names each full build of a map dataset


@dataclass(frozen=True)
class _Chunks:
    context: Hashable  # what the dataset depends on besides its own feed
    base_source: gpd.GeoDataFrame  # the feed's frame at the full build
    base_key: Hashable
    base: dict[str, Any]  # columnar, of the full build
    source: gpd.GeoDataFrame  # the feed's frame now
    tail: dict[str, Any] | None  # columnar, of the rows appended since the full build


class DerivedCache:
    """Derived layers kept between reruns, each recomputed only when its inputs changed.

    A filter change or a refresh where nothing changed costs no derivation; a new
    incidents file re-derives incidents only (coverage of 180,000 stations is the costly
    one, and depends on neither), and when the file only grew, only its new rows (the
    result is recorded as grown, see :mod:`layers.growth`).
    Also keeps the incidents' map dataset (:meth:`map_chunks`), grown in the same way.
    """

    def __init__(self) -> None:
        self._memo: dict[str, _Derived] = {}
        self._chunks: dict[str, _Chunks] = {}
        self._lock = threading.Lock()
        self.keys: dict[str, Hashable | None] = {}

    def derive(self, scene: Scene) -> Derived:
        """Every layer derived. A layer whose derive raises keeps its last good frame
        (an empty one at first) and its feed shows as failed, with the reason."""
        from layers import REGISTRY

        held: dict[str, _Derived] = {}
        with self._lock:
            for name in REGISTRY:
                key = derive_key(name, scene)
                self.keys[name] = key
                memo = self._memo.get(name)
                if key is None or memo is None or memo.key != key:
                    memo = self._derive(name, key, scene, memo)
                    if key is not None:
                        self._memo[name] = memo
                held[name] = memo
        return Derived(
            {name: d.frame for name, d in held.items()},
            scene,
            {name: d.failure for name, d in held.items() if d.failure is not None},
            {name: list(d.notes) for name, d in held.items() if d.notes},
        )

    def _derive(
        self, name: str, key: Hashable | None, scene: Scene, memo: _Derived | None
    ) -> _Derived:
        """Layer ``name`` derived anew; only its appended rows when its feed just grew."""
        from layers import REGISTRY

        context = derive_key(name, scene, own=False)
        added = (
            growth.added_rows(scene[name], memo.source)
            if name in ROW_WISE and memo is not None and memo.context == context
            else None
        )
        source = scene[name] if added is None else added
        version = scene.versions.get(name)
        file = version.path.name if version and version.path else None
        try:
            frame = REGISTRY[name].derive(source, scene)
            notes: list[Problem] = []
            if name in AREA_LAYERS:
                frame, notes = with_area(frame, scene["areas"], name, file)
        except Exception as err:  # noqa: BLE001 - one layer's fault must not take the page
            log.exception("deriving %s failed", name)
            failure = fault_problem(name, file, err)
            if memo is not None:
                return replace(memo, key=key, failure=failure)
            return _Derived(key, context, scene[name], self._empty(name, scene), failure)
        if added is not None and memo is not None:
            earlier = memo.frame
            frame = gpd.GeoDataFrame(
                pd.concat([earlier, frame]), geometry="geometry", crs=earlier.crs
            )
            growth.grew(frame, earlier)
            notes = [*memo.notes, *notes]
        return _Derived(key, context, scene[name], frame, None, tuple(notes))

    @staticmethod
    def _empty(name: str, scene: Scene) -> gpd.GeoDataFrame:
        """``name``'s derived frame with no rows: what a layer shows before any good one
        (every layer derives an empty frame: the contract test checks it)."""
        from layers import REGISTRY

        layer = REGISTRY[name]
        frame = layer.derive(empty_frame(layer.SPEC), scene)
        return with_area(frame, scene["areas"], name)[0] if name in AREA_LAYERS else frame

    def map_chunks(
        self, scene: Scene, derived: dict[str, gpd.GeoDataFrame], layer: str
    ) -> list[tuple[Hashable, dict[str, Any]]]:
        """The map dataset of a row-wise points layer (incidents) in chunks of rows, each
        with a key naming its content: the rows of its last full build, then (when the
        feed grew since) the rows appended since, built alone. The browser joins them,
        so a new incident sends its rows, not all 50,000 again. Fully rebuilt when the
        feed did not just grow, the areas changed, or more than ``REBASE_ROWS`` rows
        were appended since. The minute does not matter: the map shows no ages."""
        source, frame = scene[layer], derived[layer]
        context = derive_key(layer, scene, minute=False, own=False)
        with self._lock:
            held = self._chunks.get(layer)
        if (
            held is None
            or held.context != context
            or not growth.extends(source, held.base_source)
            or len(source) - len(held.base_source) > REBASE_ROWS
        ):
            base = _points(frame, layer)
            held = _Chunks(context, source, ("map", layer, next(_SERIAL)), base, source, None)
        elif source is not held.source:
            start = len(held.source) if growth.extends(source, held.source) else None
            if start is not None and held.tail is not None:
                tail = mapping.joined_columnar(held.tail, _points(frame.iloc[start:], layer))
            else:
                tail = _points(frame.iloc[len(held.base_source) :], layer)
            held = replace(held, source=source, tail=tail)
        with self._lock:
            self._chunks[layer] = held
        chunks = [(held.base_key, _parts(held.base, layer))]
        if held.tail is not None and held.tail["n"]:
            chunks.append(((held.base_key, len(held.source)), _parts(held.tail, layer)))
        return chunks


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


@dataclass(frozen=True)
class Kpis:
    """The Operations page's headline: stations and voters by coverage now
    (:class:`layers.analysis.figures.Headline`), incidents in the window, convoys on the road."""

    figures: figures.Headline
    incidents: int
    convoys_en_route: int


def kpis(picture: Picture) -> Kpis:
    """Headline figures of what is shown, coverage taken now (bases on duty now)."""
    stations = picture.frames["polling_stations"]
    voters = stations["registered_voters"] if "registered_voters" in stations else None
    counted = growth.kept(
        stations, "kpis", lambda: figures.headline(stations["coverage_state"], voters)
    )
    convoys = picture.frames["convoy_positions"]
    return Kpis(
        counted,
        len(picture.frames["incidents"]),
        int((convoys["state"] == "en route").sum()) if len(convoys) else 0,
    )


def coverage_by_area(stations: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per area of the derived stations: :func:`layers.gaps.area_table` (coverage now), with
    ``located``, the stations whose location is known."""
    columns = [c for c in ("area", "registered_voters") if c in stations]
    state = stations["coverage_state"].replace({"unknown": gaps.UNKNOWN_LOCATION})
    table = gaps.area_table(pd.DataFrame(stations[columns]).assign(state=state))
    table["located"] = table["stations"] - table["unknown_location"]
    return table
