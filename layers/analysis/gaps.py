"""Coverage gaps for the electoral commission: who is left unprotected, and what closes it.

Pure functions of frames. A station is covered when it lies within the radius of at
least one base active at the time asked about (see :mod:`layers.geo.coverage`); here:
per-station and per-area figures, coverage through polling hours, what-if runs and
placement suggestions (greedy maximal covering).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from layers.analysis import areas as area_rule
from layers.analysis.placement import Placement, Suggestion
from layers.core import growth
from layers.core.predicates import active, located
from layers.geo import coverage, geodesy, outliers
from layers.incidents import in_window

UNKNOWN_LOCATION = "unknown location"
PARTLY = "partly covered"
NO_AREA = area_rule.NO_AREA
POLLING_HOURS = (dt.time(7, 0), dt.time(18, 0))


STATES = ("covered", PARTLY, "uncovered", UNKNOWN_LOCATION)  # in this order: the codes


def _states(codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=STATES)


def coverage_columns(run: coverage.CoverageRun) -> pd.DataFrame:
    """covered, covering_bases, nearest_base, nearest_base_m, nearest_base_km and a state
    (covered / uncovered / unknown location) per station of a run."""
    cov = run.frame()
    cov["nearest_base_km"] = (cov["nearest_base_m"] / 1000).round(2)
    covered = cov["covered"].to_numpy(dtype=float, na_value=np.nan)
    cov["state"] = _states(np.select([np.isnan(covered), covered > 0], [3, 0], 2))
    return cov


def joined(stations: gpd.GeoDataFrame, columns: pd.DataFrame) -> gpd.GeoDataFrame:
    """The stations with ``columns`` (same index) added, replacing any of the same name."""
    out = stations.copy(deep=False)  # copy-on-write: the stations stay as they were
    for name, values in columns.items():
        out[name] = values
    return out


def station_table(stations: gpd.GeoDataFrame, run: coverage.CoverageRun) -> gpd.GeoDataFrame:
    """Stations with covered, covering_bases, nearest_base, nearest_base_km and a state:
    covered / uncovered / unknown location."""
    return joined(stations, coverage_columns(run))


def _area_sums(stations: pd.DataFrame) -> pd.DataFrame:
    """Per area: counts of each state and sums of voters (all, covered, located)."""
    voters = (
        stations["registered_voters"].astype("Float64").fillna(0).to_numpy(dtype=float)
        if "registered_voters" in stations
        else np.zeros(len(stations))
    )
    codes = pd.Categorical(stations["state"], categories=STATES).codes
    area = stations["area"].fillna(NO_AREA)
    group, names = pd.factorize(area, sort=True)
    counts = {
        "stations": np.ones(len(codes), dtype=bool),
        "covered": codes == 0,
        "partly_covered": codes == 1,
        "uncovered": codes == 2,
        "unknown_location": codes == 3,
        "location_doubtful": (
            stations[outliers.DOUBTFUL].fillna(False).to_numpy(dtype=bool)
            if outliers.DOUBTFUL in stations
            else np.zeros(len(codes), dtype=bool)
        ),
    }
    sums = {
        "registered_voters": voters,
        "voters_covered": np.where(codes == 0, voters, 0.0),
        "voters_located": np.where(codes == 3, 0.0, voters),
    }
    n = len(names)
    table = pd.DataFrame(
        {
            **{
                k: np.bincount(group, weights=v, minlength=n).astype(np.int64)
                for k, v in counts.items()
            },
            **{k: np.bincount(group, weights=v, minlength=n) for k, v in sums.items()},
        },
        index=pd.Index(names, name="area"),
    )
    return table


AREA_COLUMNS = [
    "stations",
    "covered",
    "covered_pct",
    "registered_voters",
    "voters_located",
    "voters_covered",
    "voters_covered_pct",
    "uncovered",
    "partly_covered",
    "unknown_location",
    "location_doubtful",
]


def _with_shares(sums: pd.DataFrame) -> pd.DataFrame:
    table = sums.copy()
    located = table["stations"] - table["unknown_location"]
    table["covered_pct"] = 100 * table["covered"] / located.where(located > 0)
    table["voters_covered_pct"] = (
        100 * table["voters_covered"] / table["voters_located"].where(table["voters_located"] > 0)
    )
    return table[AREA_COLUMNS]


def area_table(stations: pd.DataFrame) -> pd.DataFrame:
    """Per area (column ``area``) of a :func:`station_table`: stations, covered, % covered,
    registered voters, voters covered, % voters covered, uncovered, partly covered (when
    states come from :func:`day_state`), unknown location.

    Percentages are of the stations (voters) whose location is known; a partly covered
    station is not counted as covered.
    """
    return _with_shares(_area_sums(stations)).reset_index()


NO_SUB_AREA = "(no sub-area)"


def level_table(
    stations: pd.DataFrame, sub_areas: pd.Series, within: str | None = None
) -> pd.DataFrame:
    """:func:`area_table` nationally, by area (``within`` None), or of the area ``within``
    by its sub-areas (``sub_areas``: :func:`layers.analysis.areas.sub_areas` of the same
    rows), named without their area."""
    if within is None:
        return area_table(stations)
    rows = stations[(stations["area"] == within).to_numpy(dtype=bool)]
    names = sub_areas.reindex(rows.index).map(
        lambda v: NO_SUB_AREA if not isinstance(v, str) else v.split(area_rule.SUB, 1)[-1]
    )
    return area_table(rows.assign(area=names.to_numpy()))


def _national(sums: pd.DataFrame) -> dict[str, float]:
    row = _with_shares(sums.sum().to_frame("all").T).iloc[0]
    return {k: float(v) for k, v in row.items()}


def totals(stations: pd.DataFrame) -> dict[str, float]:
    """National figures of a :func:`station_table` (with ``area``), as :func:`area_table`
    computes them for one area."""
    return _national(_area_sums(stations))


def polling_window(
    day: dt.date, tz: str = "UTC", hours: tuple[dt.time, dt.time] = POLLING_HOURS
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Opening and closing of the polls on ``day`` in zone ``tz``, as UTC times."""
    start = pd.Timestamp(dt.datetime.combine(day, hours[0])).tz_localize(tz).tz_convert("UTC")
    end = pd.Timestamp(dt.datetime.combine(day, hours[1])).tz_localize(tz).tz_convert("UTC")
    if end <= start:
        raise ValueError(f"polls close ({hours[1]}) before they open ({hours[0]})")
    return start, end


def polling_day_share(
    model: coverage.CoverageModel,
    bases: gpd.GeoDataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    run: coverage.CoverageRun | None = None,
) -> pd.Series:
    """Per station, the share (0-1) of polling hours during which at least one base covers
    it, from the bases' shifts (a base without a shift covers all day). <NA> unlocated.

    ``run``: a coverage run over the same active bases, whose pairs are reused.
    """
    live = bases[active(bases)]
    share = pd.Series(pd.NA, index=model.index, dtype="Float64")
    located_share = np.zeros(len(model.lon))
    if len(live):
        if run is not None and len(run.base_ids) == len(live):
            s_idx, b_idx = run.pair_station, run.pair_base
        else:
            s_idx, b_idx = model.pairs(coverage.BaseArrays.of(live))
        open_, close = window
        length = (close - open_).total_seconds()
        start = live["shift_start"].fillna(open_).clip(lower=open_, upper=close)
        end = live["shift_end"].fillna(close).clip(lower=open_, upper=close)
        t0 = ((start - open_).dt.total_seconds().to_numpy())[b_idx]
        t1 = ((end - open_).dt.total_seconds().to_numpy())[b_idx]
        keep = t1 > t0
        s_idx, t0, t1 = s_idx[keep], t0[keep], t1[keep]
        # A base on duty all polling hours settles its stations; only the rest need the
        # union of their bases' shifts.
        whole = np.zeros(len(model.lon), dtype=bool)
        whole[s_idx[(t0 <= 0) & (t1 >= length)]] = True
        rest = ~whole[s_idx]
        located_share = _union_length(s_idx[rest], t0[rest], t1[rest], len(model.lon)) / length
        located_share[whole] = 1.0
    share[model.located] = np.clip(located_share, 0, 1)
    return share


def _union_length(group: np.ndarray, t0: np.ndarray, t1: np.ndarray, n: int) -> np.ndarray:
    """Per group, the total length of the union of its [t0, t1) intervals (vectorised)."""
    if not len(group):
        return np.zeros(n)
    order = np.lexsort((t0, group))
    g, a, b = group[order], t0[order], t1[order]
    # Running end of the intervals so far, restarted at each group (offset by group).
    span = float(max(b.max(), 1.0)) * 2 + 1
    running = np.maximum.accumulate(b + g * span) - g * span
    previous_end = np.concatenate([[-np.inf], running[:-1]])
    new_group = np.concatenate([[True], g[1:] != g[:-1]])
    previous_end[new_group] = -np.inf
    gain = np.clip(b - np.maximum(a, previous_end), 0, None)
    return np.bincount(g, weights=gain, minlength=n)


def day_state(share: pd.Series) -> pd.Series:
    """covered (all polling hours) / partly covered / uncovered / unknown location."""
    values = share.to_numpy(dtype=float, na_value=np.nan)
    codes = np.select([np.isnan(values), values >= 1 - 1e-9, values > 0], [3, 0, 1], 2)
    return pd.Series(_states(codes), index=share.index)


def incidents_near(
    stations: gpd.GeoDataFrame | gpd.GeoSeries,
    incidents: gpd.GeoDataFrame,
    radius_m: float = 10_000.0,
) -> pd.Series:
    """Per station, how many of ``incidents`` lie within ``radius_m`` (0 when unlocated).

    Counted on the mean sphere (within 0.6 % of the geodesic at the edge): a ranking aid,
    not a coverage decision.
    """
    geoms = stations.geometry
    out = pd.Series(0, index=geoms.index, dtype="int64")
    here = located(geoms)
    events = incidents.geometry[located(incidents.geometry)]
    if not here.any() or not len(events):
        return out
    pts, ev = geoms.to_numpy()[here], events.to_numpy()
    tree = cKDTree(geodesy.unit_vectors(shapely.get_x(ev), shapely.get_y(ev)))
    out[here] = geodesy.sphere_counts(shapely.get_x(pts), shapely.get_y(pts), tree, radius_m)
    return out


@dataclass(frozen=True)
class Analysis:
    """The commission's answer for one set of bases: stations, areas, nation, suggestions."""

    stations: gpd.GeoDataFrame  # station_table + area, day_share, state, incidents_10km
    areas: pd.DataFrame  # area_table
    nation: dict[str, float]
    bases: gpd.GeoDataFrame  # the bases analysed (what-if applied)
    suggestions: list[Suggestion]

    def counting(self, incidents: gpd.GeoDataFrame, more: bool = False) -> Analysis:
        """This answer with ``incidents_10km``: how many of ``incidents`` lie within 10 km
        of each station not covered all polling hours (where the ranking needs them; NA
        for the others). Apart from the rest, which new incidents do not change.
        ``more``: ``incidents`` are new ones, added to the counts this answer has."""
        states = self.stations["state"]
        listed = states.isin(["uncovered", PARTLY]).to_numpy()
        near = (
            self.stations["incidents_10km"].copy()
            if more
            else pd.Series(pd.NA, index=self.stations.index, dtype="Int64")
        )
        counts = incidents_near(self.stations.geometry[listed], incidents).to_numpy()
        near[listed] = near[listed].fillna(0).to_numpy() + counts if more else counts
        return replace(self, stations=self.stations.assign(incidents_10km=near))


def analyse(
    model: coverage.CoverageModel,
    stations: gpd.GeoDataFrame,
    bases: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    *,
    incidents: gpd.GeoDataFrame | None = None,
    suggest_k: int = 0,
    suggest_radius_m: float = 10_000.0,
    station_areas: pd.Series | None = None,
    placement: Placement | None = None,
) -> Analysis:
    """Coverage of ``stations`` by ``bases`` through the polling ``window``.

    A station's state: covered (all polling hours), partly covered, uncovered, or
    unknown location. The nearest base is among the bases active at any time of the
    window. ``incidents`` should already be the ones to count (e.g. the last 7 days);
    None leaves them out (see :meth:`Analysis.counting`).
    ``station_areas``: :func:`layers.analysis.areas.assign` of these stations, when kept.
    ``placement``: :meth:`Placement.around` the model at ``suggest_radius_m``, when kept.
    """
    on_duty = bases[active(bases)]
    run = model.run(on_duty)
    columns = coverage_columns(run)
    share = polling_day_share(model, bases, window, run)
    columns["day_share"] = share.round(3)
    columns["state"] = day_state(share)
    columns["area"] = (
        area_rule.assign(stations, areas, "polling_stations")[0]
        if station_areas is None
        else station_areas
    )
    table = joined(stations, columns)
    suggestions: list[Suggestion] = []
    if suggest_k > 0:
        if placement is None or placement.radius_m != suggest_radius_m:
            placement = Placement.around(model, suggest_radius_m)
        voters = (
            stations["registered_voters"].astype("Float64").fillna(0).to_numpy(dtype=float)
            if "registered_voters" in stations
            else np.ones(len(stations))
        )
        gap = (columns["state"] == "uncovered").to_numpy()
        suggestions = placement.suggest(
            voters[model.located], suggest_k, eligible=gap[model.located]
        )
    sums = _area_sums(table)
    answer = Analysis(table, _with_shares(sums).reset_index(), _national(sums), bases, suggestions)
    return answer if incidents is None else answer.counting(incidents)


class IncidentCounter:
    """Keeps one analysis's incident counts (:meth:`Analysis.counting`) between reruns:
    counted anew when asked with other incidents, grown with only the added rows when the
    incidents frame grew since (a new incident does not recount 50,000). Locked: one
    counter may serve several sessions."""

    def __init__(self, analysis: Analysis, hours: float):
        self.analysis, self.hours = analysis, hours
        self._lock = threading.Lock()
        self._incidents: gpd.GeoDataFrame | None = None
        self._answer: Analysis | None = None

    def count(self, incidents: gpd.GeoDataFrame, now: pd.Timestamp) -> Analysis:
        """The analysis with ``incidents_10km`` for the last ``hours`` before ``now`` (the
        counter is per minute: ``now`` only picks the window)."""
        with self._lock:
            if self._incidents is incidents and self._answer is not None:
                return self._answer
            added = (
                growth.added_rows(incidents, self._incidents)
                if self._incidents is not None and self._answer is not None
                else None
            )
            if added is None or self._answer is None:
                answer = self.analysis.counting(in_window(incidents, now, self.hours))
            else:
                answer = self._answer.counting(in_window(added, now, self.hours), more=True)
            self._incidents, self._answer = incidents, answer
            return answer
