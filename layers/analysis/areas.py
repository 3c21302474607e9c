"""Which area a station or an incident belongs to: one rule for every page.

The rule (docs/feeds.md, "Areas"):

1. The row's own area field (``admin1``), when it has one. A registered station's
   area is what the commission's list says; coordinates are more often wrong than
   the list is. Names are compared without case, spaces or punctuation, and spelled
   as the area polygons spell them ("LOFA" is "Lofa"); without a polygon of that
   name, as most rows spell it.
2. Otherwise the area polygon the location lies in.
3. Otherwise "(no area)".

When a row's own area and the polygon it lies in are different areas, the row is
reported once (a warning naming both), and counted under its own area.
"""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd

from layers.core.predicates import located
from layers.core.problems import Level, Problem

NO_AREA = "(no area)"
OWN = "admin1"


def fold(name: object) -> str:
    """An area name as compared: 'GRAND  Cape-Mount ' -> 'grandcapemount'."""
    return re.sub(r"[\W_]+", "", str(name).casefold())


def _spellings(own: pd.Series, polygons: pd.Series) -> dict[str, str]:
    """Folded name -> how it is shown: the polygons' spelling, else the commonest one."""
    spelled: dict[str, str] = {}
    for name, _ in own.value_counts(sort=True).items():  # commonest first
        spelled.setdefault(fold(name), str(name))
    spelled.update({fold(name): str(name) for name in polygons.dropna()})
    return spelled


def containing(frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """The name of the area polygon each located row lies in (NA elsewhere)."""
    found = pd.Series(pd.NA, index=frame.index, dtype=object)
    if not len(frame) or not len(areas) or not areas.geometry.notna().any():
        return found
    here = located(frame.geometry)
    named = areas[areas.geometry.notna()][["name", "geometry"]]
    joined = gpd.sjoin(frame.loc[here, ["geometry"]], named, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    found.loc[joined.index] = joined["name"].to_numpy()
    return found


def assign(
    frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, feed: str, file: str | None = None
) -> tuple[pd.Series, list[Problem]]:
    """Each row's area by the rule above, and a warning per row whose own area and the
    polygon it lies in disagree (rows numbered by ``source_row``)."""
    own = (
        frame[OWN].astype(object).where(frame[OWN].notna())
        if OWN in frame
        else pd.Series(pd.NA, index=frame.index, dtype=object)
    )
    own = own.where(own.map(lambda v: bool(fold(v)) if isinstance(v, str) else False))
    inside = containing(frame, areas)
    spelled = _spellings(own.dropna(), areas["name"] if "name" in areas else pd.Series())
    own_key = own.map(fold, na_action="ignore")
    inside_key = inside.map(fold, na_action="ignore")
    area = own_key.map(spelled).where(own.notna(), inside)
    problems = []
    differ = own.notna() & inside.notna() & (own_key != inside_key)
    rows = frame["source_row"] if "source_row" in frame else pd.Series(frame.index + 1)
    for i in differ[differ].index:
        problems.append(
            Problem(
                feed,
                file,
                int(rows.loc[i]),
                OWN,
                f"the row's area is {own.loc[i]!r} but its location lies in the area "
                f"{inside.loc[i]!r}; it is counted under {spelled[own_key.loc[i]]!r}.",
                "Check the row's coordinates; if they are right, correct its admin1.",
                Level.WARNING,
                "area_mismatch",
            )
        )
    return area.fillna(NO_AREA).astype(object), problems
