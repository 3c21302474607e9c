"""The after-action review of one day, computed from the history store: every figure is
taken from the feeds as the dashboard had them at the time it concerns, through the same
reader, checks and derivations as the replay (``?at=`` of that time shows the same).

- the incidents of the day by hour, area and severity (the day's last version);
- each serious incident's nearest patrol base on duty then, from the patrols as they
  were at the incident's time;
- each convoy's planned and actual departure and arrival (its pings), and the alerts the
  convoy tracking raised, looked at every :data:`CHECK_EVERY` as the feeds were then;
- coverage at each hour of polling, from the stations and patrols of that hour;
- stations that opened without all their materials or their trained staff, from the
  deliveries and training feeds at opening;
- each feed's outages and stale periods, as the screens showed them.

A question the history cannot answer (the dashboard did not run, a feed was not kept)
is said in ``notes``, never filled in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.analysis import logistics
from layers.analysis.areas import NO_AREA
from layers.analysis.figures import of_stations
from layers.analysis.gaps import polling_window
from layers.analysis.picture import derive_picture, with_area
from layers.analysis.response import nearest_patrols
from layers.core.predicates import SEVERITIES, at_least, located
from layers.geo import convoys, geodesy
from layers.registry import REGISTRY
from layers.scene import Scene

SERIOUS = "high"  # and above
LEVELS = (*SEVERITIES, "unknown")
SERIOUS_COLUMNS = (
    "time",
    "id",
    "type",
    "severity",
    "area",
    "patrol",
    "unit",
    "distance_km",
    "reaches",
)
CONVOY_COLUMNS = (
    "convoy_id",
    "route_id",
    "origin",
    "destination",
    "planned_departure",
    "departed",
    "planned_arrival",
    "arrived",
    "delay_min",
    "outcome",
    "alerts",
)
OPENED_COLUMNS = (
    "station",
    "name",
    "area",
    "opens",
    "materials",
    "waiting_for",
    "needed",
    "trained",
    "untrained",
)
LIMITS = convoys.Thresholds()  # the tracking's own
CHECK_EVERY = pd.Timedelta(minutes=15)  # convoy alerts looked at, as the feeds were then
BAD_STATES = ("failed", "missing", "stale")  # of layers.analysis.freshness

# The scene at a time as the history has it, only the feeds named (None: all); None when
# nothing was kept by then (layers.replay.scene_at).
SceneAt = Callable[[pd.Timestamp, Iterable[str] | None], Scene | None]


@dataclass(frozen=True)
class Review:
    """One day's review; every frame may be empty, ``notes`` say why."""

    day: dt.date
    timezone: str
    start: pd.Timestamp  # the day's bounds, UTC (``end``: the day's end, or now)
    end: pd.Timestamp
    polls: tuple[pd.Timestamp, pd.Timestamp]
    label: str  # the exercise's label when the data are synthetic
    figures: list[tuple[str, str]]
    timeline: pd.DataFrame  # hour (local), severity, incidents
    by_area: pd.DataFrame  # area, one column per severity, incidents
    serious: pd.DataFrame
    convoys: pd.DataFrame
    coverage: pd.DataFrame
    opened_short: pd.DataFrame
    outages: pd.DataFrame
    feeds: pd.DataFrame  # per feed: versions kept that day, first and last, bytes read
    notes: list[str] = field(default_factory=list)


def day_bounds(day: dt.date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Midnight to midnight of ``day`` in ``timezone``, as UTC times."""
    start = pd.Timestamp(dt.datetime.combine(day, dt.time())).tz_localize(timezone)
    return start.tz_convert("UTC"), (start + pd.Timedelta(days=1)).tz_convert("UTC")


def review(
    day: dt.date,
    timezone: str,
    polling_hours: tuple[dt.time, dt.time],
    scene_at: SceneAt,
    versions: pd.DataFrame,
    states: pd.DataFrame,
    now: pd.Timestamp,
) -> Review:
    """The review of ``day`` (local to ``timezone``); ``versions`` and ``states``: the
    history's versions and feed states of that day (:class:`layers.io.history.History`)."""
    start, day_end = day_bounds(day, timezone)
    end = min(day_end, now)
    polls = polling_window(day, timezone, polling_hours)
    notes: list[str] = []
    last = scene_at(end, None) if end > start else None
    if last is None:
        notes.append(
            f"The history holds nothing from before {end:%d %b %Y %H:%M} UTC: "
            "no figure of this day can be computed."
        )
        empty = pd.DataFrame()
        return Review(
            day=day,
            timezone=timezone,
            start=start,
            end=end,
            polls=polls,
            label="",
            figures=[],
            timeline=empty,
            by_area=empty,
            serious=empty,
            convoys=empty,
            coverage=empty,
            opened_short=empty,
            outages=outages(states, start, end),
            feeds=feed_versions(versions),
            notes=notes,
        )
    first_kept = versions["taken"].min() if len(versions) else None
    if first_kept is None or first_kept > start + pd.Timedelta(minutes=5):
        since = "none" if first_kept is None else f"the first at {first_kept:%H:%M} UTC"
        notes.append(
            f"The history kept no version during the first part of the day ({since}): "
            "what was shown before then is the version kept last before the day."
        )
    last_kept = versions["taken"].max() if len(versions) else None
    if last_kept is not None and end - last_kept > pd.Timedelta(minutes=30):
        notes.append(
            f"The last version kept this day was taken at {last_kept:%H:%M} UTC: after it, "
            "either no feed changed or the dashboard was not running; the figures after it "
            "are of that version."
        )
    derived = derive_picture(last)
    incidents = derived["incidents"]
    day_incidents = incidents[(incidents["time"] >= start) & (incidents["time"] < end)].reset_index(
        drop=True
    )
    serious = serious_incidents(day_incidents, scene_at)
    routes, pings = last["convoy_routes"], last["convoy_positions"]
    convoy_table = convoy_times(routes, pings, start, end, scene_at)
    coverage = coverage_hours(polls, end, scene_at, timezone)
    opened = opened_short(polls[0], end, scene_at)
    if polls[0] > end:
        notes.append("The polls had not opened yet: no coverage or opening figures.")
    gone = outages(states, start, end)
    review_ = Review(
        day=day,
        timezone=timezone,
        start=start,
        end=end,
        polls=polls,
        label=last.scenario.label or "",
        figures=[],
        timeline=timeline(day_incidents, timezone),
        by_area=incidents_by_area(day_incidents),
        serious=serious,
        convoys=convoy_table,
        coverage=coverage,
        opened_short=opened,
        outages=gone,
        feeds=feed_versions(versions),
        notes=notes,
    )
    return replace(review_, figures=headline(review_, len(day_incidents)))


def headline(r: Review, incidents: int) -> list[tuple[str, str]]:
    """The review's headline figures, label and value as text."""
    reached = int(r.serious["reaches"].sum()) if len(r.serious) else 0
    near = r.serious["distance_km"].dropna() if len(r.serious) else pd.Series(dtype=float)
    late = (r.convoys["delay_min"] > 0).sum() if len(r.convoys) else 0
    arrived = r.convoys["arrived"].notna().sum() if len(r.convoys) else 0
    low = r.coverage.loc[r.coverage["covered_pct"].idxmin()] if len(r.coverage) else None
    short = r.opened_short
    minutes = r.outages["minutes"].sum() if len(r.outages) else 0.0
    return [
        ("Incidents", f"{incidents:,}"),
        ("Serious (high, critical)", f"{len(r.serious):,}"),
        ("Serious within a patrol's radius", f"{reached:,} of {len(r.serious):,}"),
        ("Nearest patrol, median", f"{near.median():.1f} km" if len(near) else "-"),
        (f"Convoys arrived ({late:,} late or overdue)", f"{arrived:,} of {len(r.convoys):,}"),
        (
            f"Lowest coverage (at {low['local']})" if low is not None else "Lowest coverage",
            f"{low['covered_pct']:.1f} %" if low is not None else "-",
        ),
        (
            "Opened without all materials",
            f"{(short['materials'] != 'all delivered').sum():,}" if len(short) else "0",
        ),
        (
            "Opened with untrained staff",
            f"{(short['untrained'] > 0).sum():,}" if len(short) else "0",
        ),
        ("Feed outage and stale minutes", f"{minutes:,.0f}"),
    ]


def timeline(incidents: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Incidents per local hour and severity (hours without any left out)."""
    if not len(incidents):
        return pd.DataFrame(columns=["hour", "severity", "incidents"])
    hour = incidents["time"].dt.tz_convert(timezone).dt.floor("h").dt.strftime("%H:00")
    severity = incidents["severity"].astype(object).fillna("unknown")
    out = (
        pd.DataFrame({"hour": hour, "severity": severity})
        .value_counts()
        .rename("incidents")
        .reset_index()
    )
    rank = {s: i for i, s in enumerate(LEVELS)}
    out["_rank"] = out["severity"].map(rank)
    return out.sort_values(["hour", "_rank"]).drop(columns="_rank").reset_index(drop=True)


def incidents_by_area(incidents: pd.DataFrame) -> pd.DataFrame:
    """Per area, the day's incidents by severity and in all, most first."""
    if not len(incidents):
        return pd.DataFrame(columns=["area", *SEVERITIES, "incidents"])
    area = incidents["area"].fillna(NO_AREA) if "area" in incidents else NO_AREA
    table = pd.crosstab(area, incidents["severity"].astype(object).fillna("unknown"))
    shown = [s for s in LEVELS if s in SEVERITIES or s in table]
    table = table.reindex(columns=shown, fill_value=0)
    table["incidents"] = table.sum(axis=1)
    table.index.name = "area"
    return table.sort_values("incidents", ascending=False).reset_index()


def serious_incidents(incidents: pd.DataFrame, scene_at: SceneAt) -> pd.DataFrame:
    """Each serious incident of the day with the patrol base on duty nearest to it at its
    time (the patrols as the history had them then) and whether it was within reach."""
    columns = [*SERIOUS_COLUMNS]
    picked = incidents[at_least(incidents["severity"], SERIOUS)].sort_values("time")
    if not len(picked):
        return pd.DataFrame(columns=columns)
    rows = []
    bases_then: dict[object, gpd.GeoDataFrame] = {}
    for incident in picked.itertuples():
        scene = scene_at(incident.time, ("patrols",))
        key = None if scene is None else scene.key("patrols")
        if scene is not None and key not in bases_then:
            bases_then[key] = scene["patrols"]
        bases = bases_then.get(key)
        near = (
            nearest_patrols(incident.geometry, bases, incident.time, count=1)
            if bases is not None
            else pd.DataFrame()
        )
        first = near.iloc[0] if len(near) else None
        rows.append(
            {
                "time": incident.time,
                "id": incident.id,
                "type": incident.type,
                "severity": incident.severity,
                "area": getattr(incident, "area", None),
                "patrol": None if first is None else first["id"],
                "unit": None if first is None else first["unit"],
                "distance_km": np.nan if first is None else float(first["distance_km"]),
                "reaches": False if first is None else bool(first["reaches"]),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def convoy_times(
    routes: gpd.GeoDataFrame,
    pings: gpd.GeoDataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    scene_at: SceneAt,
    limits: convoys.Thresholds = LIMITS,
) -> pd.DataFrame:
    """Per convoy planned on the day (or with pings in it): planned and actual departure
    (its first ping beyond ``near_end_m`` of the route's start) and arrival (its first
    ping within it of the end), the delay in minutes (to the end of the day when it did
    not arrive) and the alerts the tracking raised, each with when it was first raised."""
    columns = [*CONVOY_COLUMNS]
    planned = routes.drop_duplicates("convoy_id").set_index("convoy_id")
    if not len(planned):
        return pd.DataFrame(columns=columns)
    dep, arr = planned["planned_departure"], planned["planned_arrival"]
    in_day = (
        ((dep >= start) & (dep < end))
        | ((arr >= start) & (arr < end))
        | ((dep < start) & (arr >= end))
    )
    seen = pings[(pings["time"] >= start) & (pings["time"] <= end) & located(pings.geometry)]
    ids = sorted(set(planned.index[in_day.fillna(False)]) | set(seen["convoy_id"].dropna()))
    ids = [i for i in ids if i in planned.index]
    raised = alerts_through(start, end, ids, scene_at, limits)
    rows = []
    for convoy_id in ids:
        plan = planned.loc[convoy_id]
        line = convoys._single(plan.geometry)  # noqa: SLF001 - the route as tracking reads it
        mine = seen[seen["convoy_id"] == convoy_id].sort_values("time")
        departed = arrived = pd.NaT
        if line is not None and len(mine):
            x, y = mine.geometry.x.to_numpy(), mine.geometry.y.to_numpy()
            (x0, y0), (x1, y1) = line.coords[0][:2], line.coords[-1][:2]
            away = geodesy.distance_m(x, y, np.full_like(x, x0), np.full_like(y, y0))
            there = geodesy.distance_m(x, y, np.full_like(x, x1), np.full_like(y, y1))
            away, there = away > limits.near_end_m, there <= limits.near_end_m
            times = mine["time"]
            departed = times.iloc[away.argmax()] if away.any() else pd.NaT
            arrived = times.iloc[there.argmax()] if there.any() else pd.NaT
        target = plan["planned_arrival"]
        delay, outcome = _outcome(departed, arrived, target, end)
        rows.append(
            {
                "convoy_id": convoy_id,
                "route_id": plan.get("route_id"),
                "origin": plan.get("origin"),
                "destination": plan.get("destination"),
                "planned_departure": plan["planned_departure"],
                "departed": departed,
                "planned_arrival": target,
                "arrived": arrived,
                "delay_min": delay,
                "outcome": outcome,
                "alerts": raised.get(convoy_id, ""),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _outcome(
    departed: pd.Timestamp, arrived: pd.Timestamp, planned: pd.Timestamp, end: pd.Timestamp
) -> tuple[float, str]:
    """A convoy's delay in minutes against its planned arrival (to ``end`` when it had not
    arrived and was due) and the outcome in words."""
    if pd.notna(arrived):
        if pd.isna(planned):
            return np.nan, "arrived"
        delay = round((arrived - planned).total_seconds() / 60)
        return delay, f"arrived {delay} min late" if delay > 0 else "arrived on time"
    if pd.notna(planned) and end > planned:
        delay = round((end - planned).total_seconds() / 60)
        moved = "on the road" if pd.notna(departed) else "not seen to leave"
        return delay, f"not arrived, {delay} min overdue ({moved})"
    return np.nan, "on the road" if pd.notna(departed) else "not departed"


def checkpoints(start: pd.Timestamp, end: pd.Timestamp, every: pd.Timedelta) -> list[pd.Timestamp]:
    """``start`` rounded up to ``every``, then every ``every`` until ``end``, and ``end``."""
    times = list(pd.date_range(start.ceil(every), end, freq=every))
    return [*times, end] if not times or times[-1] < end else times


def alerts_through(
    start: pd.Timestamp,
    end: pd.Timestamp,
    ids: list[str],
    scene_at: SceneAt,
    limits: convoys.Thresholds,
) -> dict[str, str]:
    """Per convoy, each alert raised at a checkpoint of the day and the first time it
    was ("overdue from 14:15, stopped from 09:30"), from the convoy feeds as they were."""
    first: dict[str, dict[str, pd.Timestamp]] = {i: {} for i in ids}
    flags = ("off_route", "overdue", "position_stale", "stopped")
    done: set[object] = set()
    for when in checkpoints(start, end, CHECK_EVERY):
        scene = scene_at(when, ("convoy_routes", "convoy_positions"))
        if scene is None:
            continue
        key = (scene.key("convoy_routes", "convoy_positions"), when.floor(CHECK_EVERY))
        if key in done:
            continue
        done.add(key)
        tracked = convoys.track(scene["convoy_positions"], scene["convoy_routes"], when, limits)
        for row in tracked[tracked["convoy_id"].isin(ids)].itertuples():
            for flag in flags:
                if getattr(row, flag) is True or getattr(row, flag) == np.True_:
                    first[row.convoy_id].setdefault(flag, when)
    said = {}
    for convoy_id, seen in first.items():
        ordered = sorted(seen.items(), key=lambda kv: kv[1])
        said[convoy_id] = ", ".join(f"{f.replace('_', ' ')} from {t:%H:%M}" for f, t in ordered)
    return said


def coverage_hours(
    polls: tuple[pd.Timestamp, pd.Timestamp], end: pd.Timestamp, scene_at: SceneAt, timezone: str
) -> pd.DataFrame:
    """At each hour of polling (opening to closing, up to ``end``): stations covered in %
    of the located, stations and registered voters not covered, from the stations and
    patrols the history had at that hour (bases on shift then)."""
    columns = ["time", "local", "covered_pct", "uncovered", "voters_uncovered"]
    rows = []
    hours = pd.date_range(polls[0], polls[1], freq="h")
    for when in hours[hours <= end]:
        scene = scene_at(when, ("polling_stations", "patrols", "areas"))
        if scene is None:
            continue
        stations = REGISTRY["polling_stations"].derive(scene["polling_stations"], scene)
        figures = of_stations(stations, "coverage_state")
        rows.append(
            {
                "time": when,
                "local": f"{when.tz_convert(timezone):%H:%M}",
                "covered_pct": figures.covered_pct,
                "uncovered": figures.uncovered,
                "voters_uncovered": figures.voters_uncovered,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def opened_short(opening: pd.Timestamp, end: pd.Timestamp, scene_at: SceneAt) -> pd.DataFrame:
    """Stations that opened without all their materials or with untrained staff: the
    deliveries (events up to the opening) and training (sessions held by then) as the
    history had them when the station opened (its own ``opens``, else the polls')."""
    columns = [*OPENED_COLUMNS]
    feeds = ("polling_stations", "deliveries", "training", "areas")
    first = scene_at(opening, feeds) if opening <= end else None
    if first is None:
        return pd.DataFrame(columns=columns)
    listed = first["polling_stations"]
    opens = listed["opens"] if "opens" in listed else pd.Series(pd.NaT, index=listed.index)
    opens = opens.where(opens.notna(), opening)
    parts = []
    for when, ids in listed["id"].astype(str).groupby(opens.to_numpy()):
        when = pd.Timestamp(when)
        scene = first if when == opening else (scene_at(when, feeds) if when <= end else None)
        if scene is None:
            continue
        parts.append(_opening(scene, when).loc[lambda t, ids=ids: t["station"].isin(set(ids))])
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    short = (table["materials"] != "all delivered") | (table["untrained"] > 0)
    return table.loc[short, columns].sort_values(["area", "station"]).reset_index(drop=True)


def _opening(scene: Scene, when: pd.Timestamp) -> pd.DataFrame:
    """Every station's materials and trained staff in ``scene`` at ``when``."""
    stations, _ = with_area(scene["polling_stations"], scene["areas"], "polling_stations")
    events = scene["deliveries"]
    events = events[~(events["time"] > when)]
    sessions = scene["training"]
    sessions = sessions[~(sessions["date"] > when)] if "date" in sessions else sessions
    staff = logistics.trained_per_station(stations, sessions)
    if len(events):
        board = logistics.board(stations, events, pd.DataFrame(), when, when)
        got = board.set_index("station").reindex(staff["station"])
        materials, waiting = got["materials"].to_numpy(), got["waiting_for"].to_numpy()
    else:  # no deliveries feed then: nothing is known of the materials
        materials, waiting = logistics.NO_RECORD, ""
    return staff.assign(
        name=stations["name"].to_numpy() if "name" in stations else None,
        opens=when,
        materials=materials,
        waiting_for=waiting,
    )


def outages(states: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The periods of the day a feed was failed, missing or stale on the screens: feed,
    state, from, to (UTC), minutes, note."""
    columns = ["feed", "state", "since", "until", "minutes", "note"]
    if not len(states):
        return pd.DataFrame(columns=columns)
    bad = states[states["state"].isin(BAD_STATES)].copy()
    bad["since"] = bad["since"].clip(lower=start)
    bad["until"] = bad["until"].clip(upper=end)
    bad = bad[bad["until"] > bad["since"]]
    bad["minutes"] = ((bad["until"] - bad["since"]).dt.total_seconds() / 60).round(1)
    bad["feed"] = [REGISTRY[f].SPEC.title if f in REGISTRY else f for f in bad["feed"]]
    return bad[columns].reset_index(drop=True)


def feed_versions(versions: pd.DataFrame) -> pd.DataFrame:
    """Per feed, the versions the history took that day and their total size."""
    if not len(versions):
        return pd.DataFrame(columns=["feed", "versions", "first", "last", "bytes"])
    out = versions.groupby("feed").agg(
        versions=("digest", "size"),
        first=("taken", "min"),
        last=("taken", "max"),
        bytes=("size", "sum"),
    )
    return out.reset_index()
