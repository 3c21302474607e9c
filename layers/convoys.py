"""Convoy tracking: progress along the planned route, recent speed, ETA, and alerts.

Pure functions of the pings, the routes and the time. Distances are geodesic: along a
route, the route's geodesic length up to the convoy's nearest point on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

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


def along_m(line: shapely.LineString, lon: float, lat: float) -> float:
    """Geodesic distance along ``line`` from its start to the point nearest (lon, lat)."""
    scale = np.cos(np.radians(lat))
    flat = shapely.transform(line, lambda xy: xy * np.array([scale, 1.0]))
    fraction = flat.project(shapely.Point(lon * scale, lat), normalized=True)
    if fraction <= 0:
        return 0.0
    part = substring(line, 0, fraction, normalized=True)
    return float(geodesy.GEOD.geometry_length(part))


def track(
    pings: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
    now: pd.Timestamp,
    limits: Thresholds = Thresholds(),
) -> pd.DataFrame:
    """Per convoy with a located ping: done_km, route_km, done_pct, off_route_m,
    speed_kmh (over the recent pings), eta, and the alert flags off_route, overdue,
    position_stale, stopped, with ``alerts`` naming them."""
    located = pings[pings.geometry.notna() & pings["time"].notna()].sort_values("time")
    plan = {r.convoy_id: r for r in routes.itertuples() if r.convoy_id is not None}
    rows = []
    for convoy, group in located.groupby("convoy_id", sort=True):
        last = group.iloc[-1]
        route = plan.get(convoy)
        line = _single(route.geometry) if route is not None else None
        row: dict[str, object] = {"convoy_id": convoy, "time": last["time"]}
        lon, lat = last.geometry.x, last.geometry.y
        if line is not None:
            route_km = geodesy.GEOD.geometry_length(line) / 1000
            done = along_m(line, lon, lat) / 1000
            off = float(geodesy.distance_to_shape_m(line, np.array([lon]), np.array([lat]))[0])
            start, end = line.coords[0], line.coords[-1]
            to_end = float(geodesy.distance_m(lon, lat, end[0], end[1]))
            from_start = float(geodesy.distance_m(lon, lat, start[0], start[1]))
        else:
            route_km = done = off = to_end = from_start = np.nan
        recent = group[group["time"] >= last["time"] - limits.speed_window]
        first = recent.iloc[0]
        hours = (last["time"] - first["time"]).total_seconds() / 3600
        if line is not None and hours > 0:
            moved = done - along_m(line, first.geometry.x, first.geometry.y) / 1000
            speed = max(moved, 0.0) / hours
        elif hours > 0:
            speed = (
                float(geodesy.distance_m(first.geometry.x, first.geometry.y, lon, lat))
                / 1000
                / hours
            )
        else:
            speed = np.nan
        arrived = to_end <= limits.near_end_m
        remaining = max(route_km - done, 0.0) if line is not None else np.nan
        eta = (
            last["time"] + pd.Timedelta(hours=remaining / speed)
            if not arrived and speed == speed and speed > 1.0 and remaining == remaining
            else (last["time"] if arrived else pd.NaT)
        )
        window = group[group["time"] >= now - limits.stopped_after]
        still = len(window) >= 2 and (
            window["time"].iloc[-1] - window["time"].iloc[0] >= limits.stopped_after * 0.75
        )
        if still:
            xs, ys = window.geometry.x.to_numpy(), window.geometry.y.to_numpy()
            spread = geodesy.distance_m(xs, ys, np.full(len(xs), lon), np.full(len(ys), lat))
            still = bool(spread.max() <= limits.stopped_within_m)
        planned_arrival = getattr(route, "planned_arrival", pd.NaT) if route is not None else pd.NaT
        flags = {
            "off_route": bool(off == off and off > limits.off_route_m),
            "overdue": bool(pd.notna(planned_arrival) and now > planned_arrival and not arrived),
            "position_stale": bool(not arrived and now - last["time"] > limits.stale_after),
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
