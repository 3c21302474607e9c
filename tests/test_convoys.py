"""Convoy tracking: progress, speed, ETA, and every alert."""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers import convoys, geodesy
from layers.config import Settings
from layers.scene import SceneLoader, derive_all
from layers.simulator import Simulator

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
    from layers.mapping import FeatureLayer

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
    assert layer.overlay["s"].count(alert_style) == alerted  # once per alerted route
    assert layer.overlay["columns"]["state"] == routes_now["state"].tolist()
    assert "pollwatch.features(" in html
    # A convoy-state filter hides the other routes; the lines themselves stay the same.
    visible = (routes_now["state"] == "en route").to_numpy()
    (hidden,) = [
        c
        for c in convoy_routes.render(routes_now, shown=routes_now[visible])._children.values()
        if isinstance(c, FeatureLayer)
    ]
    assert [s for s, v in zip(hidden.overlay["s"], visible, strict=True) if not v] == [-1] * int(
        (~visible).sum()
    )
