"""The early-warning overlay: published whole, then as patches, shared between sessions."""

from __future__ import annotations

import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
from test_risk import NOW, incidents, stations

from layers.analysis.risk import Risk
from layers.core import growth
from layers.views import overlays
from layers.views.overlays import EarlyWarning, RiskOverlay
from layers.views.publish import Publisher


def test_whole_then_patches_then_whole_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    publisher = Publisher(tmp_path, "/data")
    overlay = RiskOverlay("stations v1", EarlyWarning("high", 5_000.0, 24.0))
    first = incidents([("a", 9.0, "high", 1)])
    risk, urls = overlay.update(stations(), "e1", first, NOW, publisher)
    assert set(urls) == {"main", "details"} and all(isinstance(u, str) for u in urls.values())
    assert risk.count() == Risk.find(stations(), first, NOW).count() == 1
    assert overlay.update(stations(), "e1", first, NOW, publisher) == (risk, urls)  # no change
    more = gpd.GeoDataFrame(
        pd.concat([first, incidents([("c", 27.0, "critical", 0.5)])], ignore_index=True),
        crs="EPSG:4326",
    )
    growth.grew(more, first)
    grown, patch = overlay.update(stations(), "e2", more, NOW, publisher)
    assert grown.count() == 2
    assert patch["main"]["patch"][0] == urls["main"]  # the whole the browser has, and a patch
    monkeypatch.setattr(overlays, "REBASE_STATIONS", 0)  # every change now sends the whole
    most = gpd.GeoDataFrame(
        pd.concat([more, incidents([("d", 1.0, "critical", 0.2)])], ignore_index=True),
        crs="EPSG:4326",
    )
    growth.grew(most, more)
    _, whole = overlay.update(stations(), "e3", most, NOW, publisher)
    assert isinstance(whole["main"], str) and whole["main"] != urls["main"]


def test_sessions_updating_one_overlay_at_once_see_one_risk(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path, "/data")
    overlay = RiskOverlay("stations v1", EarlyWarning())
    events = incidents([("a", 9.0, "high", 1), ("b", 29.0, "critical", 2)])
    counts: list[int] = []
    start = threading.Barrier(6)

    def session() -> None:
        start.wait()
        counts.append(overlay.update(stations(), "e1", events, NOW, publisher)[0].count())

    threads = [threading.Thread(target=session) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == [2] * 6
