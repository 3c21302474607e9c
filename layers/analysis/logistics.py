"""Delivery of electoral materials to every station: the station board and the share of
stations with everything delivered, per area.

Pure functions of derived frames. A station's materials are judged by
:func:`layers.deliveries.by_station` (every item kind in the feed must reach it); a
station the deliveries feed says nothing of is "no record". A station is flagged when it
still waits for something within ``warn_hours`` of its opening (or after it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.analysis.areas import NO_AREA
from layers.deliveries import by_station

NO_RECORD = "no record"
ORDER = ("missing", "waiting", NO_RECORD, "in transit", "all delivered")  # worst first
WARN_HOURS = 12.0
BOARD = (
    "station",
    "name",
    "area",
    "registered_voters",
    "materials",
    "waiting_for",
    "convoy",
    "convoy_eta",
    "hours_to_opening",
    "flagged",
)


def board(
    stations: pd.DataFrame,
    events: pd.DataFrame,
    convoys: pd.DataFrame,
    opening: pd.Timestamp,
    now: pd.Timestamp,
    warn_hours: float = WARN_HOURS,
) -> pd.DataFrame:
    """One row per station (columns :data:`BOARD`, those the inputs have), worst and
    soonest first: its materials' state, what it waits for, the convoy carrying the last
    of it and that convoy's ETA (``convoys``: derived convoy positions, when the viewer
    may see them), hours from ``now`` to ``opening`` (the station's own ``opens`` when it
    has one) and whether it is flagged."""
    per = by_station(events).set_index("station_id")
    ids = stations["id"].astype(str)
    got = per.reindex(ids.to_numpy())
    out = pd.DataFrame(
        {
            "station": ids.to_numpy(),
            "name": stations["name"].to_numpy() if "name" in stations else None,
            "area": stations["area"].fillna(NO_AREA).to_numpy() if "area" in stations else NO_AREA,
            "registered_voters": stations["registered_voters"].to_numpy()
            if "registered_voters" in stations
            else pd.NA,
            "materials": got["delivery"].fillna(NO_RECORD).to_numpy(),
            "waiting_for": got["waiting_for"].fillna("").to_numpy(),
        }
    )
    kinds = sorted(events["item_kind"].dropna().astype(str).unique()) if len(events) else []
    out.loc[out["materials"] == NO_RECORD, "waiting_for"] = ", ".join(kinds)
    if "convoy_id" in events:
        out["convoy"] = got["convoy_id"].to_numpy()
        eta = (
            convoys.drop_duplicates("convoy_id").set_index("convoy_id")["eta"]
            if "eta" in convoys and len(convoys)
            else pd.Series([], dtype="datetime64[ns, UTC]")
        )
        out["convoy_eta"] = pd.to_datetime(out["convoy"].map(eta), utc=True)
    opens = pd.Series(opening, index=range(len(out)))
    if "opens" in stations:
        own = pd.to_datetime(stations["opens"], utc=True).reset_index(drop=True)
        opens = own.where(own.notna(), opens)
    hours = (opens - now).dt.total_seconds() / 3600
    out["hours_to_opening"] = hours.round(1).to_numpy()
    out["flagged"] = (out["materials"] != "all delivered").to_numpy() & (
        hours.to_numpy() <= warn_hours
    )
    rank = out["materials"].map({s: i for i, s in enumerate(ORDER)})
    out = out.assign(_rank=rank).sort_values(
        ["hours_to_opening", "_rank", "area", "station"], kind="stable"
    )
    return out.drop(columns="_rank").reset_index(drop=True)[[c for c in BOARD if c in out]]


def by_area(table: pd.DataFrame) -> pd.DataFrame:
    """Per area of a :func:`board`: stations, how many in each state, flagged, and the
    share with everything delivered (0-1); a row "All areas" last."""
    counts = pd.crosstab(table["area"], table["materials"]).reindex(columns=ORDER, fill_value=0)
    counts.columns = [c.replace(" ", "_") for c in counts.columns]
    counts.insert(0, "stations", counts.sum(axis=1))
    counts["flagged"] = table.groupby("area")["flagged"].sum().reindex(counts.index).astype(int)
    total = counts.sum().to_frame("All areas").T
    out = pd.concat([counts, total])
    stations = out["stations"].to_numpy(dtype=float)
    done = out["all_delivered"].to_numpy(dtype=float)
    out["share_delivered"] = np.where(stations > 0, done / np.maximum(stations, 1), np.nan)
    out.index.name = "area"
    return out.reset_index()
