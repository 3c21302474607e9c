"""Convoy tracking: progress, speed, ETA, and every alert."""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.geo import convoys, geodesy
from layers.scene import SceneLoader, derive_all

NOW = pd.Timestamp("2026-10-11T12:00Z")
# A straight road due east along the equator-ish, 100 km long.
START = (23.0, -4.0)
END = tuple(geodesy.GEOD.fwd(23.0, -4.0, 90, 100_000)[:2])


def east(km: float, north_m: float = 0.0) -> shapely.Point:
    x, y, _ = geodesy.GEOD.fwd(START[0], START[1], 90, km * 1000)
    if north_m:
        x, y, _ = geodesy.GEOD.fwd(x, y, 0, north_m)
    return shapely.Point(x, y)


def routes(arrival: str = "2026-10-11T14:00Z") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "convoy_id": ["C1"],
            "planned_departure": [pd.Timestamp("2026-10-11T10:00Z")],
            "planned_arrival": [pd.Timestamp(arrival)],
        },
        geometry=[shapely.LineString([START, END])],
        crs="EPSG:4326",
    )


def pings(points: list[tuple[str, shapely.Point]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"convoy_id": "C1", "time": [pd.Timestamp(t) for t, _ in points]},
        geometry=[p for _, p in points],
        crs="EPSG:4326",
    )


def one(frame: gpd.GeoDataFrame, now: pd.Timestamp = NOW, **routes_kw) -> pd.Series:
    return convoys.track(frame, routes(**routes_kw), now).iloc[0]


def test_progress_speed_and_eta() -> None:
    row = one(pings([("2026-10-11T11:30Z", east(30)), ("2026-10-11T11:55Z", east(50))]))
    assert row["route_km"] == pytest.approx(100, abs=0.1)
    assert row["done_km"] == pytest.approx(50, abs=0.1) and row["done_pct"] == pytest.approx(
        50, abs=0.2
    )
    assert row["speed_kmh"] == pytest.approx(48, abs=0.5)  # 20 km in 25 min
    # 50 km left at 48 km/h after the 11:55 ping: 12:57:30.
    assert abs((row["eta"] - pd.Timestamp("2026-10-11T12:57:30Z")).total_seconds()) < 60
    assert row["alerts"] == ""


def test_off_route() -> None:
    row = one(pings([("2026-10-11T11:50Z", east(40)), ("2026-10-11T11:58Z", east(45, 2_500))]))
    assert row["off_route"] and row["off_route_m"] == pytest.approx(2_500, rel=0.01)
    near = one(pings([("2026-10-11T11:58Z", east(45, 1_500))]))
    assert not near["off_route"]


def test_overdue_and_stale_and_arrived() -> None:
    late = one(pings([("2026-10-11T11:58Z", east(60))]), arrival="2026-10-11T11:00Z")
    assert late["overdue"] and "overdue" in late["alerts"]
    quiet = one(pings([("2026-10-11T11:00Z", east(60))]))  # an hour without a ping
    assert quiet["position_stale"] and not quiet["overdue"]
    there = one(pings([("2026-10-11T10:00Z", east(99.5))]), arrival="2026-10-11T11:00Z")
    assert not there["overdue"] and not there["position_stale"]  # arrived: nothing to chase


def test_stopped_away_from_origin_and_destination() -> None:
    still = [(f"2026-10-11T11:{m:02d}Z", east(60, 20.0 * (m % 2))) for m in range(35, 60, 5)]
    assert one(pings(still))["stopped"]
    at_start = [(f"2026-10-11T11:{m:02d}Z", east(0.2)) for m in range(35, 60, 5)]
    assert not one(pings(at_start))["stopped"]  # waiting to leave is not an alert
    moving = [(f"2026-10-11T11:{m:02d}Z", east(40 + m / 5)) for m in range(35, 60, 5)]
    assert not one(pings(moving))["stopped"]


def test_the_simulators_misbehaving_convoys_raise_their_alerts(tmp_path: Path) -> None:
    sim = Simulator(tmp_path, start=NOW)
    for _ in range(8):
        sim.step(seconds=300)  # 40 minutes
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)})
    scene = SceneLoader(settings).load(now=sim.now)
    tracked = derive_all(scene)["convoy_positions"].set_index("convoy_id")
    off, silent, normal = (sim.convoys[i].convoy_id for i in range(3))
    assert tracked.loc[off, "off_route"]
    assert tracked.loc[silent, "position_stale"]
    assert not tracked.loc[normal, "off_route"] and not tracked.loc[normal, "position_stale"]
    assert 0 < tracked.loc[normal, "done_pct"] <= 100


def test_routes_take_their_convoys_state_and_alerts(tmp_path: Path) -> None:
    from layers import convoy_routes
    from layers.map.elements import FeatureLayer

    Simulator(tmp_path).step(60)
    scene = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)})).load()
    derived = derive_all(scene)
    convoys_now = derived["convoy_positions"].set_index("convoy_id")
    routes_now = convoy_routes.with_convoys(derived["convoy_routes"], derived["convoy_positions"])
    assert len(routes_now) == len(derived["convoy_routes"])
    for row in routes_now.itertuples():
        if row.convoy_id in convoys_now.index:
            assert row.state == convoys_now.loc[row.convoy_id, "state"]
            assert row.alerts == (convoys_now.loc[row.convoy_id, "alerts"] or "")
        else:
            assert row.state == "no position"
    # The simulator's off-route convoy: its route is drawn in the alert style.
    group = convoy_routes.render(routes_now)
    html = folium.Map().add_child(group).get_root().render()
    (layer,) = [c for c in group._children.values() if isinstance(c, FeatureLayer)]
    alerted = int(routes_now["alerts"].ne("").sum())
    assert alerted >= 1
    alert_style = convoy_routes.STATES.index("alert")
    assert layer.options["overlay"]["s"].count(alert_style) == alerted  # once per alerted route
    assert layer.options["overlay"]["columns"]["state"] == routes_now["state"].tolist()
    assert "pollwatch.featureLayer(" in html
    # A convoy-state filter hides the other routes; the lines themselves stay the same.
    visible = (routes_now["state"] == "en route").to_numpy()
    (hidden,) = [
        c
        for c in convoy_routes.render(routes_now, shown=routes_now[visible])._children.values()
        if isinstance(c, FeatureLayer)
    ]
    assert [s for s, v in zip(hidden.options["overlay"]["s"], visible, strict=True) if not v] == [
        -1
    ] * int((~visible).sum())


# ---------------------------------------------------------------- reference implementation


def reference_track(
    pings: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
    now: pd.Timestamp,
    limits: convoys.Thresholds = convoys.Thresholds(),
) -> pd.DataFrame:
    """The tracking as first written, convoy by convoy: the reference the array version
    (:func:`layers.geo.convoys.track`) must agree with."""
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
        line = convoys._single(route.geometry) if route is not None else None
        row: dict[str, object] = {"convoy_id": convoy, "time": last_time}
        lon, lat = float(xs[k]), float(ys[k])
        prepared = convoys.prepared_route(line) if line is not None else None
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


@pytest.mark.parametrize("minutes", [0, 25, 45, 240])
def test_tracking_by_arrays_agrees_with_tracking_convoy_by_convoy(
    tmp_path: Path, minutes: int
) -> None:
    """On the simulator's convoys (one off route, one silent, pings every 5 min), at
    several times after the last ping (ages, staleness, stopping)."""
    sim = Simulator(tmp_path, start=NOW)
    for _ in range(10):
        sim.step(seconds=300)
    scene = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path)})).load(now=sim.now)
    now = sim.now + pd.Timedelta(minutes=minutes)
    pings_, routes_ = scene["convoy_positions"], scene["convoy_routes"]
    got = convoys.track(pings_, routes_, now)
    want = reference_track(pings_, routes_, now)
    assert len(got) == len(want) > 10
    for column in want.columns:
        if column == "eta":  # hours to go as a float: the same to the microsecond
            assert (got[column].isna() == want[column].isna()).all()
            gap = (got[column] - want[column]).dropna().abs()
            assert (gap < pd.Timedelta(microseconds=1)).all()
            continue
        pd.testing.assert_series_equal(
            got[column], want[column], check_dtype=False, check_exact=False, rtol=1e-9, obj=column
        )
    flagged = {c: int(got[c].sum()) for c in ("off_route", "position_stale", "stopped", "overdue")}
    assert flagged["off_route"] >= 1 and flagged["position_stale"] >= 1


def test_tracking_by_arrays_agrees_on_every_alert_and_on_convoys_without_a_route() -> None:
    cases = {
        "C1": [(f"2026-10-11T11:{m:02d}Z", east(60, 20.0 * (m % 2))) for m in range(35, 60, 5)],
        "C2": [("2026-10-11T11:50Z", east(40)), ("2026-10-11T11:58Z", east(45, 2_500))],
        "C3": [("2026-10-11T11:00Z", east(60))],
        "C4": [("2026-10-11T10:00Z", east(99.5))],
        "C5": [(f"2026-10-11T11:{m:02d}Z", east(0.2)) for m in range(35, 60, 5)],
        "NONE": [("2026-10-11T11:30Z", east(30)), ("2026-10-11T11:55Z", east(50))],
    }
    frames = []
    for convoy, points in cases.items():
        frame = pings(points)
        frame["convoy_id"] = convoy
        frames.append(frame)
    every = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    plans = pd.concat(
        [routes("2026-10-11T11:00Z").assign(convoy_id=c) for c in cases if c != "NONE"]
    )
    got = convoys.track(every, gpd.GeoDataFrame(plans, crs="EPSG:4326"), NOW)
    want = reference_track(every, gpd.GeoDataFrame(plans, crs="EPSG:4326"), NOW)
    for column in want.columns:
        if column == "eta":
            gap = (got[column] - want[column]).dropna().abs()
            assert (got[column].isna() == want[column].isna()).all()
            assert (gap < pd.Timedelta(microseconds=1)).all()
        else:
            pd.testing.assert_series_equal(got[column], want[column], check_dtype=False, obj=column)
    assert got.set_index("convoy_id").loc["C1", "stopped"]
    assert got[["off_route", "overdue", "position_stale", "stopped"]].any().all()
