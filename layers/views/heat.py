"""A heat layer of incidents for reading the map at a distance: each incident the map
keeps (the same filters as the incidents layer) weighs by its severity and fades with its
age, halving every :data:`HALF_LIFE_H` hours. Drawn by Leaflet.heat (npm ``leaflet.heat``,
vendored in dashboard/static) from the incidents dataset the browser already has: it sends
no incident data of its own."""

from __future__ import annotations

import folium
import pandas as pd

from layers.incidents import CATEGORIES, SEVERITY_ORDER
from layers.map.elements import HeatLayer, overlay_group

HALF_LIFE_H = 6.0
# by SEVERITY_ORDER: low, medium, high, critical, unknown
WEIGHTS = {"low": 0.25, "medium": 0.5, "high": 1.0, "critical": 2.0, "unknown": 0.25}
GRADIENT = {
    "0.2": "#2c7bb6",
    "0.45": "#abd9e9",
    "0.65": "#fdae61",
    "0.85": "#f46d43",
    "1": "#d73027",
}
LEGEND = (
    "Incident heat",
    (
        (
            f"by severity, fading by half every {HALF_LIFE_H:g} h",
            {"fillColor": "linear-gradient(90deg, #2c7bb6, #fdae61, #d73027)", "color": "#fff"},
        ),
    ),
)


def render_heat(now: pd.Timestamp, show: bool, name: str = "Incident heat") -> folium.FeatureGroup:
    """The heat of the incidents layer's points as the browser filters them, at ``now``."""
    group = overlay_group(name, show)
    HeatLayer(
        "incidents",
        [WEIGHTS[s] for s in SEVERITY_ORDER],
        len(CATEGORIES),
        HALF_LIFE_H,
        now.timestamp(),
        GRADIENT,
    ).add_to(group)
    return group
