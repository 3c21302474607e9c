"""The small questions many parts ask, each answered in one place: is a row located, is a
base active, is a time in a window, is a severity at least another.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

SEVERITIES = ("low", "medium", "high", "critical")  # in rising order


def located(geometry: gpd.GeoSeries) -> np.ndarray:
    """Rows with a usable location: a geometry, and not an empty one."""
    return (geometry.notna() & ~geometry.is_empty).to_numpy(dtype=bool)


def active(bases: gpd.GeoDataFrame) -> np.ndarray:
    """Bases that are active and located (a standby or unknown status never counts)."""
    return (bases["status"] == "active").to_numpy(dtype=bool) & located(bases.geometry)


def in_window(times: pd.Series, now: pd.Timestamp, hours: float) -> np.ndarray:
    """Times in the ``hours`` before ``now``: start < time <= now (none from the future)."""
    return ((times > now - pd.Timedelta(hours=hours)) & (times <= now)).to_numpy(dtype=bool)


def at_least(severity: pd.Series, minimum: str) -> np.ndarray:
    """Severities at least ``minimum`` (unknown ones never are)."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return (severity.map(rank).fillna(-1) >= rank[minimum]).to_numpy(dtype=bool)
