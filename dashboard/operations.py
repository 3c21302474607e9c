"""The operations page: one map of every layer, the headline figures and charts, filtered.

The filters live in the URL, so a filtered view can be shared as a link. The map is
built so that a filter change never re-creates it: the base map (tiles, legend) is the
same on every rerun and the layers travel as feature groups; stations and incidents
are served as static files the browser fetches once and filters itself.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Hashable, Mapping
from functools import partial

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.access import viewer, who_line
from dashboard.common import (
    RUNS,
    current_picture,
    drawn_once,
    log_run,
    plain,
    show_banner,
    show_problems,
    show_takeaway,
    watch_feeds,
)
from dashboard.opsmap import map_parts, map_view, show_map
from dashboard.packs import View as PackView
from dashboard.packs import pack_panel
from layers.access.policy import may, shown_feeds
from layers.analysis import figures, history
from layers.analysis.briefing import area_figures
from layers.analysis.filters import (
    CUSTOM,
    FILTERS,
    WHOLE,
    WINDOWS,
    Choice,
    Filters,
    Picture,
    Window,
    apply,
    choices,
)
from layers.analysis.kpis import kpis, shown_figures
from layers.analysis.picture import dataset_key
from layers.analysis.response import arrivals, nearest_patrols
from layers.analysis.risk import Risk
from layers.core.predicates import SEVERITIES
from layers.registry import REGISTRY
from layers.views import charts
from layers.views.overlays import EarlyWarning

WINDOW_CHOICES = [*WINDOWS, WHOLE, CUSTOM]


IGNORED_SHOWN, IGNORED_CHARS = 12, 80  # of a link's filters that are not in the data


def _utc(value: dt.datetime) -> pd.Timestamp:
    return pd.Timestamp(value).tz_localize("UTC")


def filter_widgets(
    offered: dict[str, list[str]], now: pd.Timestamp, earliest: pd.Timestamp, feeds: list[str]
) -> Filters:
    """Sidebar filters, one widget per filter (:data:`layers.analysis.filters.FILTERS`) of
    the layers ``feeds`` (those the role sees), first filled from the URL; the URL follows
    every change."""
    used = {name for feed in feeds for name in REGISTRY[feed].FILTERS}
    from_url, ignored = Filters.from_query(st.query_params.get_all, offered)
    state = st.session_state
    sidebar = st.sidebar
    sidebar.header("Filters")
    if not state.get("filter_url_checked"):
        # Kept for the session: the link is rewritten without them at once, and a rerun
        # pushed a moment later (a busy server) would otherwise take the notice away.
        state["filter_url_ignored"] = ignored
    state["filter_url_checked"] = True
    ignored = state.get("filter_url_ignored", [])
    if ignored:
        named = [i if len(i) <= IGNORED_CHARS else i[: IGNORED_CHARS - 1] + "…" for i in ignored]
        more = f" and {len(named) - IGNORED_SHOWN:,} more" if len(named) > IGNORED_SHOWN else ""
        sidebar.warning(
            plain("Not in the data, so not applied: " + ", ".join(named[:IGNORED_SHOWN]) + more)
        )
    chosen: dict[str, object] = {}
    for one in FILTERS.values():
        if isinstance(one, Window):
            chosen.update(window_widgets(one, from_url, now, earliest))
            continue
        if one.name not in used:  # a filter of a layer this role does not see
            chosen[one.field] = ()
            continue
        key = f"filter_{one.field}"
        now_chosen = state[key] if key in state else one.chosen(from_url)
        parent = FILTERS[one.within] if one.within else None
        parents = chosen.get(parent.field, ()) if isinstance(parent, Choice) else ()
        options = one.narrowed(offered[one.name], parents)  # type: ignore[arg-type]
        if one.within and not offered[one.name]:
            chosen[one.field] = ()  # the data has no sub-areas: no widget
            continue
        picked = sidebar.multiselect(
            one.label,
            options,
            # Always the value it has: a browser that draws the widget afresh (a busy wall
            # PC drops the run that set it) takes the default, and would send it back.
            default=[v for v in now_chosen if v in options],
            key=key,
            placeholder="All",
        )
        chosen[one.field] = tuple(picked)
    filters = Filters(**chosen)  # type: ignore[arg-type]
    if filters.to_query() != from_url.to_query():
        RUNS.info(
            "filters changed from the link's %s to %s", from_url.to_query(), filters.to_query()
        )
    kept = {"at": st.query_params["at"]} if st.query_params.get("at") else {}  # a replay
    st.query_params.from_dict({**filters.to_query(), **kept})
    if filters != Filters(start=filters.start, end=filters.end):
        sidebar.caption("This view's link (the address bar) opens it with these filters.")
    return filters


def window_widgets(
    f: Window, from_url: Filters, now: pd.Timestamp, earliest: pd.Timestamp
) -> dict[str, object]:
    """The time window: a choice of spans, or a custom range on a slider."""
    sidebar, state = st.sidebar, st.session_state
    now_chosen = state.get("filter_window", from_url.window)
    window = sidebar.radio(
        f.label,
        WINDOW_CHOICES,
        # The value it has as the default too (see the multiselects in filter_widgets): a
        # starved browser once put a wall screen's window back to the first choice.
        index=WINDOW_CHOICES.index(now_chosen) if now_chosen in WINDOW_CHOICES else 0,
        key="filter_window",
        format_func=lambda w: "custom range" if w == CUSTOM else w,
        horizontal=True,
    )
    start = end = None
    if window == CUSTOM:
        lo = min(earliest, now - pd.Timedelta(days=1)).floor("h").tz_convert(None).to_pydatetime()
        hi = now.ceil("h").tz_convert(None).to_pydatetime()
        default = (
            (from_url.start, from_url.end)
            if from_url.start is not None
            else (now - pd.Timedelta(hours=24), now)
        )
        picked_before = state.get(
            "filter_range", tuple(pd.Timestamp(t).tz_convert(None).to_pydatetime() for t in default)
        )
        # Clamped on every run: the slider's ends move with the clock.
        state["filter_range"] = tuple(min(max(t, lo), hi) for t in picked_before)
        picked = sidebar.slider(
            "Custom range (UTC)",
            min_value=lo,
            max_value=hi,
            key="filter_range",
            step=dt.timedelta(minutes=15),
            format="D MMM YYYY HH:mm" if lo.year != hi.year else "D MMM HH:mm",
        )
        start, end = _utc(picked[0]), _utc(picked[1])
    return {"window": window, "start": start, "end": end}


def show_kpis(picture: Picture, feeds: list[str]) -> None:
    shown = shown_figures(picture, feeds)
    for column, (label, value) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(
            label, value, help="Incidents in the time window." if label == "Incidents" else None
        )
    st.caption(figures.definition(kpis(picture).figures, "now"))


def show_old_feed(
    incidents: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp], period: str
) -> None:
    """When the window holds none of the feed's incidents, all older: say so where the
    figures are, with one click to the feed's last days."""
    old = history.old_feed(incidents["time"], window, "Incidents", period)
    if old is None:
        return
    st.info(plain(old.note), icon=":material/history:")

    def show_last_days() -> None:
        state = st.session_state
        state["filter_window"] = CUSTOM
        state["filter_range"] = tuple(
            t.tz_convert(None).to_pydatetime() for t in (old.start, old.end)
        )

    if st.button(
        f"Show the feed's last {history.LOOK_BACK.days} days",
        key="old_feed",
        on_click=show_last_days,
    ):
        st.rerun(scope="app")  # the sidebar's window, outside this fragment, changed


def warning_widgets() -> EarlyWarning:
    """Early-warning settings."""
    with st.sidebar.expander("Early warning"):
        severity = st.selectbox("Incidents of at least", SEVERITIES, index=2, key="warn_sev")
        km = st.slider("within (km)", 1.0, 25.0, 5.0, 0.5, key="warn_km")
        hours = st.slider("in the last (hours)", 1, 72, 24, key="warn_hours")
    return EarlyWarning(severity, km * 1000, float(hours))


TOASTS = 3  # at most this many toasts per refresh; the list holds every alert


def show_arrivals(events: pd.DataFrame, severity: str, now: pd.Timestamp) -> None:
    """A toast for each serious incident new to this session, and the session's list."""
    state = st.session_state
    new, state["incidents_seen"] = arrivals(events, state.get("incidents_seen"), severity)
    log = state.setdefault("incident_alerts", [])
    for n, row in enumerate(new.itertuples()):
        if n < TOASTS:
            st.toast(
                plain(f"New {row.severity} incident: {row.type} ({row.id})"),
                icon=":material/warning:",
            )
        log.insert(
            0,
            {
                "seen": now.floor("s"),
                "id": row.id,
                "type": row.type,
                "severity": row.severity,
                "time": row.time,
                "area": getattr(row, "area", None),
            },
        )
    if len(new) > TOASTS:
        st.toast(
            f"... and {len(new) - TOASTS} more new serious incidents", icon=":material/warning:"
        )
    if log:
        with st.expander(f"New-incident alerts this session: {len(log)}", expanded=len(new) > 0):
            st.dataframe(pd.DataFrame(log), hide_index=True, width="stretch")


RISK_ROWS = 250  # rows of the at-risk table sent with each rerun (1,000 were 120 KB)
QUICK_CHOICES = 300  # newest serious incidents offered for quick response


def show_warnings(
    risk: Risk,
    among: pd.DataFrame,
    warning: EarlyWarning,
    bases: pd.DataFrame,
    bases_key: Hashable,
    now: pd.Timestamp,
) -> None:
    severity, metres, hours = warning.severity, warning.metres, warning.hours
    stations = risk.count(among)
    label = (
        f"Stations at risk: {stations:,} ({severity} or worse within {metres / 1000:g} km, "
        f"last {hours:g} h)"
    )
    with st.expander(label, expanded=stations > 0):
        shown = risk.summary(among, RISK_ROWS)
        picked = st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            # A new order (new data) starts a new table: a kept row number would now
            # point at another station.
            key=f"risk_table_{hash(tuple(shown['station_id'].tolist()))}",
        )
        if stations > RISK_ROWS:
            st.caption(
                f"The {RISK_ROWS:,} with the most incidents nearby of {stations:,}; "
                "filter by area to list others."
            )
        rows = picked.selection.rows if picked is not None else []
        if rows and rows[0] < len(shown):
            station = shown.iloc[rows[0]]
            near = risk.pairs(risk.station(station["station_id"]))
            st.caption(plain(f"Incidents near {station['station']} ({station['station_id']}):"))
            st.dataframe(
                near[["incident_id", "type", "severity", "time", "distance_km"]],
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("Select a station to list every incident near it, nearest first.")
    recent = risk.recent(QUICK_CHOICES)
    if not len(recent) or not len(bases):  # no patrols (or a role that may not see them)
        return
    with st.expander("Quick response: nearest patrols to an incident"):
        labels = {
            i: f"{history.time_text(t, now)} {k} ({s}) {i}"
            for i, t, k, s in zip(
                recent["id"], recent["time"], recent["type"], recent["severity"], strict=True
            )
        }
        picked = st.selectbox(
            "Incident", list(labels), format_func=labels.__getitem__, key="quick_incident"
        )
        if len(risk.serious) > len(recent):
            st.caption(
                f"The {len(recent):,} newest of {len(risk.serious):,} {severity} or worse "
                f"incidents in the last {hours:g} h (early-warning settings)."
            )
        where = recent.loc[recent["id"] == picked].geometry.iloc[0]
        key = (picked, bases_key, now.floor("min"))
        st.dataframe(_nearest_patrols(key, where, bases, now), hide_index=True, width="stretch")


@st.cache_resource(show_spinner=False, max_entries=16)
def _nearest_patrols(
    key: Hashable, _where: object, _bases: pd.DataFrame, _now: pd.Timestamp
) -> pd.DataFrame:
    """Nearest patrols to one incident, once per incident, patrols version and minute."""
    return nearest_patrols(_where, _bases, _now)


CONVOY_COLUMNS = {
    "convoy_id": "convoy",
    "state": "state",
    "alerts": "alerts",
    "destination": "to",
    "time": "last ping",
    "done_km": "done, km",
    "route_km": "route, km",
    "done_pct": "done, %",
    "speed_kmh": "speed, km/h",
    "eta": "ETA",
}


def show_convoys(picture: Picture, key: Hashable) -> None:
    """The convoys the filters keep; ``key``: the role, picture and filters."""
    drawn_once(("convoys", key), lambda: _convoys(picture))


def _convoys(picture: Picture) -> None:
    convoys = picture.frames["convoy_positions"]
    if not len(convoys):
        return
    table = pd.DataFrame(convoys[[c for c in CONVOY_COLUMNS if c in convoys]])
    alerted = int(table["alerts"].fillna("").ne("").sum()) if "alerts" in table else 0
    with st.expander(f"Convoys: {len(table)}, {alerted} with an alert", expanded=alerted > 0):
        st.dataframe(table.rename(columns=CONVOY_COLUMNS), hide_index=True, width="stretch")


def show_charts(picture: Picture, key: Hashable, filters: Filters, now: pd.Timestamp) -> None:
    """The three charts; ``key``: the role and the versions of incidents and stations.
    Made once for the sessions of that role showing the same versions and filters in the
    same minute (the window's edge moves by the minute). A click on a bar sets its filter
    (an area, an incident type): the page, its link and the map follow."""
    made = _chart_figures((key, filters, now.floor("min")), picture)
    state = st.session_state
    for column, (name, figure) in zip(st.columns(len(made)), made, strict=True):
        chart_key = f"chart_{name}_{hash(filters)}"  # new filters: no selection left over
        column.plotly_chart(
            figure,
            width="stretch",
            key=chart_key,
            on_select=partial(_chart_clicked, chart_key),
            selection_mode="points",
        )
    if state.pop("chart_filter_set", False):
        st.rerun(scope="app")  # the sidebar's filters, outside this fragment, changed


def _chart_clicked(chart_key: str) -> None:
    """A bar was clicked: its filter (:func:`layers.views.charts.picked`) becomes the
    sidebar's choice."""
    state = st.session_state
    event = state.get(chart_key)
    points = event["selection"]["points"] if event else []
    for name, value in charts.picked(points).items():
        chosen = FILTERS.get(name)
        if not isinstance(chosen, Choice):
            continue
        state[f"filter_{chosen.field}"] = [value]
        # The link now: a rerun asked from a fragment does not update the address bar
        # until the next full run (30 s later, here).
        st.query_params[name] = value
        for inner in FILTERS.values():  # an area's sub-areas go with the area chosen before
            if isinstance(inner, Choice) and inner.within == name:
                state.pop(f"filter_{inner.field}", None)
                st.query_params.pop(inner.name, None)
        state["chart_filter_set"] = True


@st.cache_resource(show_spinner=False, max_entries=16)
def _chart_figures(key: Hashable, _picture: Picture) -> list[tuple[str, go.Figure]]:
    """The charts of a view, made once per ``key`` for every session showing it."""
    frames = _picture.frames
    assert _picture.time_range is not None
    return [
        ("time", charts.incidents_over_time(frames["incidents"], _picture.time_range)),
        ("area", charts.incidents_by_area(frames["incidents"])),
        ("coverage", charts.coverage_chart(frames["polling_stations"])),
    ]


@st.cache_resource(show_spinner=False, max_entries=8)
def _area_figures(key: Hashable, _picture: Picture) -> pd.DataFrame:
    """Per-area figures of the view (stations, voters and coverage; incidents in the time
    window), once per role, picture and filters."""
    start = _picture.time_range[0] if _picture.time_range else pd.Timestamp.min.tz_localize("UTC")
    frames = _picture.frames
    return area_figures(frames["polling_stations"], frames["incidents"], start)


PACK_BASES = {"unit": "unit", "unit_type": "type", "status": "status", "radius_km": "radius, km"}


def pack_tables(
    frames: Mapping[str, pd.DataFrame], feeds: list[str]
) -> list[tuple[str, pd.DataFrame]]:
    """The convoys and the patrol bases of the view, for a briefing pack of a role that
    sees them."""
    tables = []
    if "convoy_positions" in feeds and len(frames["convoy_positions"]):
        convoys = frames["convoy_positions"]
        shown = {**CONVOY_COLUMNS, "cargo": "cargo"}
        table = pd.DataFrame(convoys[[c for c in shown if c in convoys]]).rename(columns=shown)
        tables.append(("Convoys", table))
    if "patrols" in feeds and len(frames["patrols"]):
        bases = frames["patrols"]
        table = pd.DataFrame(bases[[c for c in PACK_BASES if c in bases]]).rename(
            columns=PACK_BASES
        )
        tables.append(("Patrol bases", table))
    return tables


def page() -> None:
    started = time.perf_counter()
    settings, derived = current_picture()  # as the session's role may see it
    scene = derived.scene
    role = viewer().role
    feeds = shown_feeds(role)
    offered = choices(derived)
    events = derived["incidents"]["time"].dropna()
    earliest = events.min() if len(events) else scene.now - pd.Timedelta(days=7)
    filters = filter_widgets(offered, scene.now, earliest, feeds)
    st.title("Operations")
    who_line(viewer())
    if scene.scenario.label:
        st.warning(plain(scene.scenario.label), icon=":material/science:")
    watch_feeds(settings, scene)  # reruns the page when a feed (or the minute) changes
    warning = warning_widgets()

    @st.fragment
    def live() -> None:
        # A widget in here (quick response) reruns only this part; the map stays. Every
        # part of the page shows the one version of the data this run loaded: a new
        # version reruns the whole page (watch_feeds).
        picture = apply(derived, filters, scene.now)
        show_banner(scene, settings)
        start, end = picture.time_range or (scene.now, scene.now)
        window = FILTERS["window"]
        assert isinstance(window, Window)
        shown = (
            window.period(filters, scene.now)
            if filters.window == WHOLE
            else history.span_text(start, end, scene.now)
        )
        st.caption(plain(f"Picture at {scene.now:%d %b %Y %H:%M:%S} UTC; incidents of {shown}."))
        show_kpis(picture, feeds)
        show_old_feed(derived["incidents"], (start, end), window.period(filters, scene.now))
        events = derived["incidents"]
        view, risk = map_view(settings, derived, picture, filters, feeds, warning, role)
        shown_key = (role, scene.key(*scene.versions), scene.now, filters)
        show_map(view, settings.tiles, scene.bounds, feeds, shown_key, now=scene.now)
        if may(role, "alerts"):
            show_arrivals(events, warning.severity, scene.now)
        show_warnings(
            risk,
            picture.frames["polling_stations"],  # filtered: the risk list too
            warning,
            derived["patrols"],
            dataset_key(scene, "patrols"),
            scene.now,
        )
        show_convoys(picture, shown_key)
        areas = _area_figures(shown_key, picture)
        show_takeaway(picture.frames, feeds, derived["areas"], areas)
        show_problems(scene)
        show_charts(picture, (role, scene.key("incidents", "polling_stations")), filters, scene.now)
        frames = picture.frames
        time_range = picture.time_range
        assert time_range is not None
        pack_panel(
            settings,
            scene,
            PackView(
                title="Operations briefing",
                words=filters.sentence(scene.now),
                figures=shown_figures(picture, feeds),
                frames={name: frames[name] for name in feeds if name in frames},
                # Made when a pack is (on every run they were a third of the page's time).
                charts=lambda: [
                    (
                        "Incidents over time",
                        charts.incidents_over_time(frames["incidents"], time_range),
                    ),
                    ("Incidents by area", charts.incidents_by_area(frames["incidents"])),
                    ("Coverage", charts.coverage_chart(frames["polling_stations"])),
                ],
                areas=areas,
                tables=lambda: pack_tables(frames, feeds),
                draw=lambda tiles: map_parts(view, tiles, scene.bounds, feeds),
            ),
        )

    live()
    log_run("operations", scene, started)


page()
