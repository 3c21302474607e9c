"""Convoy tracking: progress along the planned route, recent speed, ETA, and alerts.

Pure functions of the pings, the routes and the time. Distances are geodesic: along a
route, the route's geodesic length up to the convoy's nearest point on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.core.memo import Memo
from layers.geo import geodesy


@dataclass(frozen=True)
class Thresholds:
    """When a convoy raises an alert (defaults from the operations centre's practice)."""

    off_route_m: float = 2_000.0
    stale_after: pd.Timedelta = pd.Timedelta(minutes=30)
    stopped_after: pd.Timedelta = pd.Timedelta(minutes=20)
    stopped_within_m: float = 200.0
    near_end_m: float = 1_000.0  # at its origin or destination: not "stopped", "arrived"
    speed_window: pd.Timedelta = pd.Timedelta(minutes=30)


def _single(line: BaseGeometry | None) -> shapely.LineString | None:
    """A route as one line (the longest part of a multi-line)."""
    if line is None or line.is_empty:
        return None
    if isinstance(line, shapely.MultiLineString):
        return max(line.geoms, key=lambda g: g.length)
    return line if isinstance(line, shapely.LineString) else None


class Route:
    """A planned route prepared for many 'how far along' questions."""

    def __init__(self, line: shapely.LineString):
        self.line = line
        xy = np.asarray(line.coords)[:, :2]
        self.scale = float(np.cos(np.radians(xy[:, 1].mean())))
        steps = geodesy.distance_m(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
        self.cum_m = np.concatenate([[0.0], np.cumsum(steps)])  # geodesic, per vertex
        flat = xy * np.array([self.scale, 1.0])
        self.flat = shapely.LineString(flat)
        self.flat_cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(flat, axis=0).T))])

    @property
    def length_m(self) -> float:
        return float(self.cum_m[-1])

    def along_m(self, lon: float, lat: float) -> float:
        """Geodesic distance along the route from its start to the point nearest (lon, lat)
        (found in a frame scaled by the cosine of latitude; vertex lengths are geodesic)."""
        return self.along_flat(self.flat.project(shapely.Point(lon * self.scale, lat)))

    def along_flat(self, d: float) -> float:
        """Geodesic distance along the route at ``d`` along its scaled (flat) line."""
        found = int(np.searchsorted(self.flat_cum, d, side="right")) - 1
        seg = min(max(found, 0), len(self.flat_cum) - 2)
        span = self.flat_cum[seg + 1] - self.flat_cum[seg]
        t = (d - self.flat_cum[seg]) / span if span > 0 else 0.0
        return float(self.cum_m[seg] + t * (self.cum_m[seg + 1] - self.cum_m[seg]))


_ROUTES: Memo[Route] = Memo(4096)


def prepared_route(line: shapely.LineString) -> Route:
    """:class:`Route` of a line, remembered: routes stay while pings come every few seconds."""
    return _ROUTES.get(line, lambda: Route(line))


@dataclass(frozen=True)
class Pings:
    """Located pings sorted by convoy id, then time: ``rows`` (positions in the frame),
    ``tns`` (epoch ns), ``x``/``y``; convoy ``ids`` in id order, each convoy's pings from
    ``starts`` to ``ends``."""

    rows: np.ndarray
    tns: np.ndarray
    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, pings: gpd.GeoDataFrame) -> Pings:
        ok = (pings.geometry.notna() & pings["time"].notna()).to_numpy()
        rows = np.flatnonzero(ok)
        codes, names = pd.factorize(pings["convoy_id"].astype(str).to_numpy()[rows])
        names = np.asarray(names, dtype=str)
        rank = np.empty(len(names), dtype=np.int64)
        rank[np.argsort(names, kind="stable")] = np.arange(len(names))
        times = pd.DatetimeIndex(pd.to_datetime(pings["time"].iloc[rows], utc=True))
        tns = times.as_unit("ns").asi8
        order = np.lexsort((tns, rank[codes]))  # stable: equal times keep file order
        convoy = rank[codes][order]
        starts = np.flatnonzero(np.r_[True, convoy[1:] != convoy[:-1]]) if len(order) else order
        shapes = pings.geometry.to_numpy()[rows[order]]
        return cls(
            rows[order],
            tns[order],
            shapely.get_x(shapes),
            shapely.get_y(shapes),
            np.sort(names),
            starts,
            np.r_[starts[1:], len(order)].astype(np.int64),
        )

    @property
    def last(self) -> np.ndarray:
        """Each convoy's latest ping (index into the sorted arrays)."""
        return self.ends - 1

    def first_at_or_after(self, cut: np.ndarray) -> np.ndarray:
        """Per convoy, its first ping at or after time ``cut`` (``ends`` when none)."""
        before = (self.tns < np.repeat(cut, self.ends - self.starts)).astype(np.int64)
        return self.starts + np.add.reduceat(before, self.starts)


TRACK_COLUMNS = [
    "convoy_id",
    "time",
    "route_km",
    "done_km",
    "done_pct",
    "off_route_m",
    "speed_kmh",
    "eta",
    "arrived",
    "off_route",
    "overdue",
    "position_stale",
    "stopped",
    "alerts",
    "ping",
]


def track(
    pings: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
    now: pd.Timestamp,
    limits: Thresholds = Thresholds(),
) -> pd.DataFrame:
    """Per convoy with a located ping, in convoy id order: done_km, route_km, done_pct,
    off_route_m, speed_kmh (over the recent pings), eta, arrived, the alert flags
    off_route, overdue, position_stale, stopped, with ``alerts`` naming them, and ``ping``:
    the row position in ``pings`` of its latest ping.

    Array by array over every convoy; a loop remains only for what each convoy's own
    route answers (the distance along it, and off it)."""
    p = Pings.of(pings)
    n, last = len(p.ids), p.last
    if not n:
        return pd.DataFrame(columns=TRACK_COLUMNS)
    window = p.first_at_or_after(p.tns[last] - limits.speed_window.value)
    recent = p.first_at_or_after(np.full(n, now.value - limits.stopped_after.value))
    lines, arrival = _plans(routes, p.ids)
    has = np.array([line is not None for line in lines], dtype=bool)
    route_km, done, done_window, off, to_end, from_start = (np.full(n, np.nan) for _ in range(6))
    x, y = p.x[last], p.y[last]
    on = np.flatnonzero(has)
    if len(on):
        prepared = [prepared_route(lines[i]) for i in on]
        route_km[on] = [r.length_m / 1000 for r in prepared]
        done[on] = _along_m(prepared, x[on], y[on]) / 1000
        done_window[on] = _along_m(prepared, p.x[window[on]], p.y[window[on]]) / 1000
        off[on] = [geodesy.distance_to_shape_m(lines[i], x[i : i + 1], y[i : i + 1])[0] for i in on]
        ends = np.array([lines[i].coords[-1][:2] for i in on])
        begins = np.array([lines[i].coords[0][:2] for i in on])
        to_end[on] = geodesy.distance_m(x[on], y[on], ends[:, 0], ends[:, 1])
        from_start[on] = geodesy.distance_m(x[on], y[on], begins[:, 0], begins[:, 1])
    hours = (p.tns[last] - p.tns[window]) / 3.6e12
    moved = np.maximum(done - done_window, 0.0)  # along the route (NaN without one)
    free = np.flatnonzero(~has)
    if len(free):  # no route: as the crow flies
        moved[free] = (
            geodesy.distance_m(p.x[window[free]], p.y[window[free]], x[free], y[free]) / 1000
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(hours > 0, moved / hours, np.nan)
    arrived = to_end <= limits.near_end_m  # NaN: not arrived
    remaining = np.maximum(route_km - done, 0.0)  # NaN without a route
    last_time = pd.DatetimeIndex(pd.to_datetime(p.tns[last], utc=True))
    moving = ~arrived & (speed > 1.0) & ~np.isnan(remaining)
    eta = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    eta[moving] = last_time[moving] + pd.to_timedelta(remaining[moving] / speed[moving], unit="h")
    eta[arrived] = last_time[arrived]
    flags = {
        "off_route": off > limits.off_route_m,  # NaN: no
        "overdue": _before(arrival, now) & ~arrived,
        "position_stale": ~arrived & (now.value - p.tns[last] > limits.stale_after.value),
        "stopped": _still(p, recent, limits) & ~arrived & (from_start > limits.near_end_m),
    }
    said = np.array([k.replace("_", " ") for k in flags], dtype=object)
    raised = np.column_stack(list(flags.values()))
    with np.errstate(invalid="ignore"):
        pct = np.where(route_km > 0, np.round(100 * done / route_km, 1), np.nan)
    return pd.DataFrame(
        {
            "convoy_id": p.ids.astype(object),
            "time": last_time,
            "route_km": np.round(route_km, 1),
            "done_km": np.round(done, 1),
            "done_pct": pct,
            "off_route_m": np.round(off),
            "speed_kmh": np.round(speed, 1),
            "eta": eta.array,
            "arrived": arrived,
            **flags,
            "alerts": [", ".join(said[r]) for r in raised],
            "ping": p.rows[last],
        }
    )


def _plans(routes: gpd.GeoDataFrame, ids: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Each convoy's route (its longest line; None without one) and planned arrival (the
    last row of a convoy id wins)."""
    place: dict[str, int] = {}
    if "convoy_id" in routes:
        for pos, c in enumerate(routes["convoy_id"].tolist()):
            if c is not None and c == c:
                place[str(c)] = pos
    shapes = routes.geometry.to_numpy()
    lines = [_single(shapes[place[c]]) if c in place else None for c in ids.tolist()]
    planned = (
        routes["planned_arrival"].to_numpy(dtype=object)
        if "planned_arrival" in routes
        else np.full(len(routes), None, dtype=object)
    )
    arrival = np.array([planned[place[c]] if c in place else None for c in ids.tolist()])
    return lines, arrival


def _before(times: np.ndarray, now: pd.Timestamp) -> np.ndarray:
    """Which of ``times`` lie before ``now`` (a missing time: no)."""
    return (pd.to_datetime(pd.Series(times, dtype=object), utc=True) < now).to_numpy(dtype=bool)


def _still(p: Pings, recent: np.ndarray, limits: Thresholds) -> np.ndarray:
    """Convoys whose pings since ``stopped_after`` ago (from ``recent``) are two or more,
    span most of that time and all lie within ``stopped_within_m`` of the latest."""
    last = p.last
    still = (p.ends - recent >= 2) & (
        p.tns[last] - p.tns[np.minimum(recent, last)] >= limits.stopped_after.value * 0.75
    )
    if not still.any():
        return still
    sizes = p.ends - p.starts
    since = np.repeat(still, sizes) & (np.arange(len(p.tns)) >= np.repeat(recent, sizes))
    owner = np.repeat(np.arange(len(sizes)), sizes)[since]
    spread = np.zeros(len(sizes))
    metres = geodesy.distance_m(p.x[since], p.y[since], p.x[last[owner]], p.y[last[owner]])
    np.maximum.at(spread, owner, metres)
    return still & (spread <= limits.stopped_within_m)


def _along_m(prepared: list[Route], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """:meth:`Route.along_m` of point i on route i, the projections made together."""
    scale = np.array([r.scale for r in prepared])
    flat = np.array([r.flat for r in prepared], dtype=object)
    d = shapely.line_locate_point(flat, shapely.points(lon * scale, lat))
    return np.array([r.along_flat(float(di)) for r, di in zip(prepared, d, strict=True)])
