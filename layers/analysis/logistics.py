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

from layers.analysis.areas import NO_AREA, fold
from layers.deliveries import by_station

NO_RECORD = "no record"
ALL_AREAS = "All areas"
STAFF_PER_STATION = 5  # staff a station needs when the stations feed does not say
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
        out["convoy_eta"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
        if "eta" in convoys and len(convoys):  # none: no convoy the viewer may see
            eta = convoys.drop_duplicates("convoy_id").set_index("convoy_id")["eta"]
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
    share with everything delivered (0-1); a row :data:`ALL_AREAS` last."""
    counts = pd.crosstab(table["area"], table["materials"]).reindex(columns=ORDER, fill_value=0)
    counts.columns = [c.replace(" ", "_") for c in counts.columns]
    counts.insert(0, "stations", counts.sum(axis=1))
    counts["flagged"] = table.groupby("area")["flagged"].sum().reindex(counts.index).astype(int)
    total = counts.sum().to_frame(ALL_AREAS).T
    out = pd.concat([counts, total])
    stations = out["stations"].to_numpy(dtype=float)
    done = out["all_delivered"].to_numpy(dtype=float)
    out["share_delivered"] = np.where(stations > 0, done / np.maximum(stations, 1), np.nan)
    out.index.name = "area"
    return out.reset_index()


SEPARATORS = r"[;,\s]+"  # of a session's station list: "S1; S2", "S1,S2", "S1 S2"


def trained_per_station(
    stations: pd.DataFrame, sessions: pd.DataFrame, default_needed: int = STAFF_PER_STATION
) -> pd.DataFrame:
    """Per station: staff ``needed`` (its ``staff_needed``, else ``default_needed``),
    ``trained`` for it and ``untrained`` (needed less trained, at least 0).

    A session's participants (presiding officers, clerks, others) are shared by the
    stations it lists, or without a list by its area's stations, in proportion to what
    each needs. Ids the stations feed does not list are left out.

    Column by column over every session at once: 17,000 sessions at national scale took
    17 s one by one."""
    ids = stations["id"].astype(str).to_numpy() if "id" in stations else np.array([], str)
    area = (
        stations["area"].fillna(NO_AREA).astype(str).to_numpy()
        if "area" in stations
        else np.full(len(ids), NO_AREA)
    )
    needed = np.full(len(ids), float(default_needed))
    if "staff_needed" in stations:
        own = pd.to_numeric(stations["staff_needed"], errors="coerce").to_numpy(dtype=float)
        needed = np.where(np.isnan(own), needed, own)
    trained = np.zeros(len(ids))
    roles = [c for c in ("presiding_officers", "poll_clerks", "other_staff") if c in sessions]
    people = (
        sessions[roles].apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1).to_numpy()
        if roles
        else np.zeros(len(sessions))
    )
    # Sessions that list stations: one row per (session, listed station found), once each.
    listed = (
        sessions["stations"].reset_index(drop=True)
        if "stations" in sessions
        else pd.Series([None] * len(sessions))
    )
    parts = listed.where(listed.map(lambda v: isinstance(v, str)), "")
    pairs = parts.str.split(SEPARATORS, regex=True).explode()
    pairs = pairs[pairs.notna() & (pairs != "")]
    first = pd.Series(np.arange(len(ids)), index=ids)
    first = first[~first.index.duplicated()]  # an id listed twice: its first row
    at = first.reindex(pairs.to_numpy()).to_numpy()
    known = ~np.isnan(at)
    unique = pd.DataFrame({"s": pairs.index.to_numpy()[known], "t": at[known].astype(np.int64)})
    unique = unique.drop_duplicates().to_numpy(dtype=np.int64)
    session, station = unique[:, 0], unique[:, 1]
    has_stations = np.zeros(len(sessions), dtype=bool)
    if len(session):
        has_stations[session] = True
        share = needed[station]
        total = np.bincount(session, weights=share, minlength=len(sessions))
        count = np.bincount(session, minlength=len(sessions))
        whole = total[session]
        weight = np.where(whole > 0, share / np.where(whole > 0, whole, 1.0), 1 / count[session])
        trained += np.bincount(station, weights=people[session] * weight, minlength=len(ids))
    # The others, by their area's stations.
    own_area = (
        sessions["admin1"].reset_index(drop=True)
        if "admin1" in sessions
        else pd.Series([None] * len(sessions))
    )
    folded = {fold(a): a for a in np.unique(area)}
    by_area = pd.Series(people[~has_stations], index=own_area[~has_stations].to_numpy())
    by_area = by_area[[isinstance(a, str) and fold(a) in folded for a in by_area.index]]
    if len(by_area):
        per_area = by_area.groupby([folded[fold(a)] for a in by_area.index]).sum()
        area_needed = pd.Series(needed).groupby(area).sum()
        got = per_area.reindex(area).fillna(0).to_numpy()
        pool = area_needed.reindex(area).to_numpy()
        trained += np.where(pool > 0, got * needed / np.where(pool > 0, pool, 1), 0.0)
    return pd.DataFrame(
        {
            "station": ids,
            "area": area,
            "needed": needed,
            "trained": trained.round(1),
            "untrained": np.maximum(needed - trained, 0).round(1),
        }
    )


def training_by_area(per_station: pd.DataFrame) -> pd.DataFrame:
    """Per area of :func:`trained_per_station`: staff needed, trained (each station counted
    up to what it needs), stations with untrained staff, and the share trained (0-1); a
    row :data:`ALL_AREAS` last."""
    capped = per_station.assign(
        trained=np.minimum(per_station["trained"], per_station["needed"]),
        short=per_station["untrained"] > 0,
    )
    sums = capped.groupby("area").agg(
        stations=("station", "size"),
        needed=("needed", "sum"),
        trained=("trained", "sum"),
        stations_short=("short", "sum"),
    )
    out = pd.concat([sums, sums.sum().to_frame(ALL_AREAS).T])
    needed = out["needed"].to_numpy(dtype=float)
    out["share_trained"] = np.where(
        needed > 0, out["trained"].to_numpy(dtype=float) / np.maximum(needed, 1), np.nan
    )
    out["stations"] = out["stations"].astype(int)
    out["stations_short"] = out["stations_short"].astype(int)
    out.index.name = "area"
    return out.reset_index()
