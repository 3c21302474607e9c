"""The early-warning overlay on the map: stations at risk ringed over the stations' own points."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import folium
import pandas as pd

from layers.analysis.risk import Risk
from layers.map.elements import PointCloud
from layers.views.publish import Publisher

RISK_STYLE = {"radius": 11, "color": "#ff7f00", "weight": 4, "fillOpacity": 0.0}
LEGEND = ("Stations at risk", (("serious incident nearby (early warning)", RISK_STYLE),))


def render_at_risk(
    points: str | dict[str, object],
    overlay: str | dict[str, object],
    details: list[str | dict[str, object]] | None = None,
    where: dict[str, object] | None = None,
    name: str = "Stations at risk",
) -> folium.FeatureGroup:
    """An orange ring around each station at risk (clustered when there are many):
    ``points`` is the stations' map dataset (or its URL), ``overlay`` and the last of
    ``details`` come from :attr:`Risk.overlay`."""
    group = folium.FeatureGroup(name=name)
    PointCloud(
        "at_risk",
        points,
        [RISK_STYLE],
        tooltip="name",
        popup=(
            ("Station at risk", "name"),
            ("Id", "id"),
            ("Serious incidents nearby", "incidents"),
            ("Nearest", "nearest"),
            ("Nearest, km", "nearest_km"),
        ),
        where=where,
        details=details,
        overlay=overlay,
        unit="stations at risk",
        after="stations",
    ).add_to(group)
    return group


REBASE_STATIONS = 20_000  # changed stations beyond which the overlay is sent whole again


@dataclass(frozen=True)
class EarlyWarning:
    """Early-warning settings: incidents of at least ``severity`` within ``metres`` of a
    station in the last ``hours``."""

    severity: str = "high"
    metres: float = 5_000.0
    hours: float = 24.0


class RiskOverlay:
    """Stations at risk for one stations version and :class:`EarlyWarning`, kept between reruns,
    and the map overlay that tells the browser about them.

    Found once, then grown with each new incidents version (only new incidents are
    searched) and moved on each minute (only incidents that entered or left the window).
    The overlay is published whole now and then; in between, the stations that changed
    since travel as {"patch": [whole, change]}, which the browser lays over the whole
    (``patched`` in pollwatch.js). Safe to share between sessions: updates are locked.
    """

    def __init__(self, stations_key: Hashable, warning: EarlyWarning):
        """The frames given to :meth:`update` are restricted for one audience (a role);
        so must be the publisher given: its datasets are kept apart from other audiences'."""
        self.stations_key, self.warning = stations_key, warning
        self._lock = threading.Lock()
        self._risk: Risk | None = None
        self._base: Risk | None = None
        self._base_key: Hashable = None
        self._change: tuple[dict[str, object], dict[str, object]] | None = None

    def update(
        self,
        stations: pd.DataFrame,
        events_key: Hashable,
        events: pd.DataFrame,
        now: pd.Timestamp,
        publisher: Publisher,
    ) -> tuple[Risk, dict[str, Any]]:
        """The risk now, and the URLs of its overlay parts ("main", "details")."""
        w = self.warning
        with self._lock:
            previous = self._risk
            if previous is None:
                risk = Risk.find(stations, events, now, w.severity, w.metres, w.hours)
            else:
                risk = previous.grown(events)
                if risk.now.floor("min") != now.floor("min"):
                    risk = risk.moved(now)
            self._risk = risk
            base = self._base
            if risk is previous:  # nothing new since the last rerun
                change = self._change
            else:
                change = risk.changes(base) if base is not None and base is not risk else None
            if base is None or (
                base is not risk and (change is None or len(change[0]["at"]) > REBASE_STATIONS)  # type: ignore[arg-type]
            ):
                base, change = risk, None
                self._base = base
                self._base_key = (self.stations_key, w, events_key, now)
            self._change = change
            base_key = self._base_key
        whole = publisher.publish(
            "at_risk",
            base_key,
            lambda: dict(zip(("main", "details"), base.overlay, strict=True)),
        )
        if change is None:
            return risk, whole
        patch = change
        changed = publisher.publish(
            "at_risk-new",
            (base_key, events_key, now.floor("min")),
            lambda: dict(zip(("main", "details"), patch, strict=True)),
        )
        return risk, {part: {"patch": [whole[part], changed[part]]} for part in whole}
