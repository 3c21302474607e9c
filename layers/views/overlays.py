"""The early-warning overlay on the map: stations at risk ringed over the stations' own points."""

from __future__ import annotations

import folium

from layers.map.elements import PointCloud

RISK_STYLE = {"radius": 11, "color": "#ff7f00", "weight": 4, "fillOpacity": 0.0}
LEGEND = ("Early warning", (("station at risk (serious incident nearby)", RISK_STYLE),))


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
