"""The commission's "what if": other radii, bases switched off, proposed bases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely


@dataclass(frozen=True)
class WhatIf:
    """One what-if run: a radius for every base (or per unit type), bases switched off by
    id, proposed bases as (lat, lon, radius_m), and how many new sites to suggest, with
    their radius."""

    radius_m: float | None = None
    radius_by_type: tuple[tuple[str, float], ...] = ()
    off: tuple[str, ...] = ()
    added: tuple[tuple[float, float, float], ...] = ()
    suggest: int = 0
    suggest_radius_m: float = 10_000.0

    def bases(self, bases: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """``bases`` as this run would have them (:func:`what_if`)."""
        return what_if(bases, self.radius_m, dict(self.radius_by_type), self.off, self.added)


def what_if(
    bases: gpd.GeoDataFrame,
    radius_m: float | None = None,
    radius_by_type: Mapping[str, float] | None = None,
    off: Sequence[str] = (),
    added: Sequence[tuple[float, float, float]] = (),
) -> gpd.GeoDataFrame:
    """The bases as they would be: another radius for all (or per ``unit_type``), some
    switched off (by id), and hypothetical bases added as (lat, lon, radius_m)."""
    out = bases.copy()
    if radius_m is not None:
        out["radius_m"] = float(radius_m)
    if radius_by_type and "unit_type" in out:
        for kind, radius in radius_by_type.items():
            out.loc[out["unit_type"] == kind, "radius_m"] = float(radius)
    if off:
        out.loc[out["id"].isin(list(off)), "status"] = "standby"
    if added:
        extra = gpd.GeoDataFrame(
            {
                "id": [f"new-{i + 1}" for i in range(len(added))],
                "unit": [f"Proposed base {i + 1}" for i in range(len(added))],
                "unit_type": "proposed",
                "radius_m": [float(r) for _, _, r in added],
                "status": "active",
                "shift_start": pd.Series(
                    pd.NaT, index=range(len(added)), dtype="datetime64[ns, UTC]"
                ),
                "shift_end": pd.Series(
                    pd.NaT, index=range(len(added)), dtype="datetime64[ns, UTC]"
                ),
            },
            geometry=[shapely.Point(lon, lat) for lat, lon, _ in added],
            crs="EPSG:4326",
        )
        out = gpd.GeoDataFrame(pd.concat([out, extra], ignore_index=True), crs=bases.crs)
    return out


def parse_points(text: str) -> tuple[list[tuple[float, float]], list[str]]:
    """'lat, lon' per line (or 'lat; lon') to points, and a message per line that is not."""
    points, bad = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            lat, lon = (float(v) for v in line.replace(";", ",").split(","))
        except ValueError:
            bad.append(f"line {number}: {line.strip()[:40]!r} is not 'lat, lon'")
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            bad.append(f"line {number}: {lat}, {lon} is off the globe")
            continue
        points.append((lat, lon))
    return points, bad
