"""The figures a partner is briefed with: per area, never per unit, convoy or incident.

Computed on the server from the whole picture; only these sums leave it for a partner's
session (layers.access.policy).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers.analysis.kpis import coverage_by_area
from layers.core.predicates import SEVERITIES

NO_AREA = "(no area)"


def area_figures(
    stations: gpd.GeoDataFrame, incidents: pd.DataFrame, since: pd.Timestamp
) -> pd.DataFrame:
    """One row per area: stations, registered voters, stations and voters covered now
    (:func:`layers.analysis.kpis.coverage_by_area`), and incidents since ``since`` by
    severity.

    ``stations``: derived with their coverage state (operations' frame: only these sums
    are kept). ``incidents``: any frame with ``time``, ``severity`` and ``area``."""
    table = coverage_by_area(stations)  # per-area sums only
    recent = incidents[incidents["time"] >= since] if len(incidents) else incidents
    if len(recent):
        counts = (
            pd.DataFrame(
                {
                    "area": recent["area"].fillna(NO_AREA).astype(str),
                    "severity": recent["severity"].astype(str),
                }
            )
            .value_counts()
            .unstack(fill_value=0)
        )
    else:
        counts = pd.DataFrame(index=pd.Index([], name="area"))
    counts = counts.reindex(columns=[s for s in SEVERITIES if s in counts.columns])
    counts.columns = [f"incidents, {s}" for s in counts.columns]
    counts["incidents"] = counts.sum(axis=1)
    table = table.merge(counts.reset_index(), on="area", how="outer")
    # An area with incidents and no station has 0 stations (its shares stay empty).
    number = [c for c in table.columns if c != "area" and not c.endswith("_pct")]
    table[number] = table[number].fillna(0).astype(int)
    return table.sort_values("area").reset_index(drop=True)
