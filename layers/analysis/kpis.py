"""The Operations page's headline figures and its coverage by area."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from layers.analysis import figures
from layers.analysis.filters import Picture
from layers.analysis.gaps import UNKNOWN_LOCATION, area_table
from layers.core import growth
from layers.geo import outliers


@dataclass(frozen=True)
class Kpis:
    """The Operations page's headline: stations and voters by coverage now
    (:class:`layers.analysis.figures.Headline`), incidents in the window, convoys on the road."""

    figures: figures.Headline
    incidents: int
    convoys_en_route: int


def kpis(picture: Picture) -> Kpis:
    """Headline figures of what is shown, coverage taken now (bases on duty now)."""
    stations = picture.frames["polling_stations"]
    counted = growth.kept(stations, "kpis", lambda: figures.of_stations(stations, "coverage_state"))
    convoys = picture.frames["convoy_positions"]
    return Kpis(
        counted,
        len(picture.frames["incidents"]),
        int((convoys["state"] == "en route").sum()) if len(convoys) else 0,
    )


def shown_figures(picture: Picture, feeds: list[str]) -> list[tuple[str, str]]:
    """The headline figures of a view as label and value, for the layers ``feeds`` the
    viewer sees: the Operations page's, its wall view's and its briefing pack's."""
    k = kpis(picture)
    f = k.figures
    pct = f" ({f.covered_pct:.0f}%)" if f.covered_pct is not None else ""
    shown = [
        ("Polling stations", f"{f.stations:,}"),
        ("Covered now", f"{f.covered:,}{pct}"),
        ("Voters covered now", figures.pct_text(f.voters_covered_pct)),
        ("Incidents", f"{k.incidents:,}"),
    ]
    if "convoy_positions" in feeds:
        shown.append(("Convoys en route", f"{k.convoys_en_route:,}"))
    return shown


def coverage_by_area(stations: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per area of the derived stations: :func:`layers.analysis.gaps.area_table` (coverage
    now), with ``located``, the stations whose location is known."""
    columns = [c for c in ("area", "registered_voters", outliers.DOUBTFUL) if c in stations]
    state = stations["coverage_state"].replace({"unknown": UNKNOWN_LOCATION})
    table = area_table(pd.DataFrame(stations[columns]).assign(state=state))
    table["located"] = table["stations"] - table["unknown_location"]
    return table
