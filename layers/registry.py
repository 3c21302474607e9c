"""The layers in drawing order, bottom to top. A new layer: its module, its test, one line here."""

from __future__ import annotations

from layers import (
    areas,
    convoy_positions,
    convoy_routes,
    deliveries,
    incidents,
    patrols,
    polling_stations,
    storage_sites,
    training,
)
from layers.contract import Layer

REGISTRY: dict[str, Layer] = {
    m.SPEC.name: m
    for m in (
        areas,
        training,
        patrols,
        storage_sites,
        convoy_routes,
        polling_stations,
        deliveries,
        incidents,
        convoy_positions,
    )
}

__all__ = ["REGISTRY", "Layer"]
