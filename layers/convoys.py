"""Convoy tracking: progress along the planned route, recent speed, ETA, and alerts.

Pure functions of the pings, the routes and the time. Distances are geodesic: along a
route, the route's geodesic length up to the convoy's nearest point on it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers import geodesy


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
        d = self.flat.project(shapely.Point(lon * self.scale, lat))
        seg = int(
            np.clip(np.searchsorted(self.flat_cum, d, side="right") - 1, 0, len(self.flat_cum) - 2)
        )
        span = self.flat_cum[seg + 1] - self.flat_cum[seg]
        t = (d - self.flat_cum[seg]) / span if span > 0 else 0.0
        return float(self.cum_m[seg] + t * (self.cum_m[seg + 1] - self.cum_m[seg]))


@functools.lru_cache(maxsize=4096)
def prepared_route(line: shapely.LineString) -> Route:
    """:class:`Route` of a line, remembered: routes stay while pings come every few seconds."""
    return Route(line)


def along_m(line: shapely.LineString, lon: float, lat: float) -> float:
    """Geodesic distance along ``line`` from its start to the point nearest (lon, lat)."""
    return Route(line).along_m(lon, lat)


def track(
    pings: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
    now: pd.Timestamp,
    limits: Thresholds = Thresholds(),
) -> pd.DataFrame:
    """Per convoy with a located ping: done_km, route_km, done_pct, off_route_m,
    speed_kmh (over the recent pings), eta, and the alert flags off_route, overdue,
    position_stale, stopped, with ``alerts`` naming them."""
    located = pings[pings.geometry.notna() & pings["time"].notna()]
    plan = {r.convoy_id: r for r in routes.itertuples() if r.convoy_id is not None}
    ids = located["convoy_id"].astype(str).to_numpy()
    stamps = pd.DatetimeIndex(located["time"]).tz_convert("UTC").tz_localize(None)
    tns = stamps.to_numpy().astype("datetime64[ns]").astype(np.int64)
    order = np.lexsort((tns, ids))
    ids, tns = ids[order], tns[order]
    xs = located.geometry.x.to_numpy()[order]
    ys = located.geometry.y.to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.array([], int)
    ends = np.r_[starts[1:], len(ids)] if len(ids) else starts
    now_ns = now.value
    rows = []
    for a, b in zip(starts, ends, strict=True):
        convoy, k = ids[a], b - 1
        last_time = pd.Timestamp(tns[k], tz="UTC")
        route = plan.get(convoy)
        line = _single(route.geometry) if route is not None else None
        row: dict[str, object] = {"convoy_id": convoy, "time": last_time}
        lon, lat = float(xs[k]), float(ys[k])
        prepared = prepared_route(line) if line is not None else None
        if line is not None and prepared is not None:
            route_km = prepared.length_m / 1000
            done = prepared.along_m(lon, lat) / 1000
            off = float(geodesy.distance_to_shape_m(line, np.array([lon]), np.array([lat]))[0])
            start, end = line.coords[0], line.coords[-1]
            to_end = float(geodesy.distance_m(lon, lat, end[0], end[1]))
            from_start = float(geodesy.distance_m(lon, lat, start[0], start[1]))
        else:
            route_km = done = off = to_end = from_start = np.nan
        f = a + int(np.searchsorted(tns[a:b], tns[k] - limits.speed_window.value))
        hours = (tns[k] - tns[f]) / 3.6e12
        if prepared is not None and hours > 0:
            moved = done - prepared.along_m(float(xs[f]), float(ys[f])) / 1000
            speed = max(moved, 0.0) / hours
        elif hours > 0:
            crow = float(geodesy.distance_m(xs[f], ys[f], lon, lat))
            speed = crow / 1000 / hours
        else:
            speed = np.nan
        arrived = to_end <= limits.near_end_m
        remaining = max(route_km - done, 0.0) if line is not None else np.nan
        eta = (
            last_time + pd.Timedelta(hours=remaining / speed)
            if not arrived and speed == speed and speed > 1.0 and remaining == remaining
            else (last_time if arrived else pd.NaT)
        )
        w = a + int(np.searchsorted(tns[a:b], now_ns - limits.stopped_after.value))
        still = b - w >= 2 and tns[k] - tns[w] >= limits.stopped_after.value * 0.75
        if still:
            spread = geodesy.distance_m(xs[w:b], ys[w:b], np.full(b - w, lon), np.full(b - w, lat))
            still = bool(spread.max() <= limits.stopped_within_m)
        planned_arrival = getattr(route, "planned_arrival", pd.NaT) if route is not None else pd.NaT
        flags = {
            "off_route": bool(off == off and off > limits.off_route_m),
            "overdue": bool(pd.notna(planned_arrival) and now > planned_arrival and not arrived),
            "position_stale": bool(not arrived and now - last_time > limits.stale_after),
            "stopped": bool(still and not arrived and from_start > limits.near_end_m),
        }
        row.update(
            route_km=round(route_km, 1),
            done_km=round(done, 1),
            done_pct=round(100 * done / route_km, 1)
            if route_km and route_km == route_km
            else np.nan,
            off_route_m=round(off) if off == off else np.nan,
            speed_kmh=round(speed, 1) if speed == speed else np.nan,
            eta=eta,
            **flags,
            alerts=", ".join(k.replace("_", " ") for k, v in flags.items() if v),
        )
        rows.append(row)
    return pd.DataFrame(rows)
