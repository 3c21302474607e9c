"""The briefing pack and the map image: made on the server when asked for, from what the
page shows, for the session's role; each recorded in the audit with the file's hash.

Streamlit glue: the pack's parts come from layers (the map drawn by
:mod:`layers.views.snapshot`, charts by :mod:`layers.views.chart_images`, the PDF by
:mod:`layers.views.pack`, what changed by :mod:`layers.analysis.changes`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import folium
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.access import audit_log, audited_export, viewer
from dashboard.common import STATIC_DIR, STATIC_URL, drawing_for, plain
from dashboard.datafiles import publisher_for, serving
from layers.access.roles import Role
from layers.analysis.changes import Moment, changes
from layers.analysis.freshness import freshness
from layers.core.predicates import located
from layers.core.settings import Settings
from layers.io.files import write_atomic
from layers.scene import Scene
from layers.views import chart_images, pack, snapshot
from layers.views.chart_images import ChartsFailed, chart_pngs
from layers.views.publish import Publisher

T = TypeVar("T")
PACKS = logging.getLogger("pollwatch.packs")
MARKING = os.environ.get("POLLWATCH_MARKING") or pack.MARKING
# What a pack compares with: the last pack of the role, or the incidents known at an
# earlier time (coverage and convoys of a past time are not kept).
CHOSEN = "a time I choose"
SINCE = {
    "the last pack": None,
    "6 h ago": pd.Timedelta(hours=6),
    "24 h ago": pd.Timedelta(days=1),
    CHOSEN: None,
}
SIZES = {"1920 x 1080": snapshot.SLIDE, "3840 x 2160": snapshot.SLIDE_4K}


@dataclass(frozen=True)
class View:
    """What the page shows, for a pack: its title, its filters in words, headline figures,
    the frames as the role sees and the filters keep them, charts, the per-area table, and
    how to draw its map (base map and layers, with the basemap the machine has)."""

    title: str
    words: str
    figures: Sequence[tuple[str, str]]
    frames: Mapping[str, pd.DataFrame]
    charts: Callable[[], Sequence[tuple[str, go.Figure]]]  # made when a pack is
    areas: pd.DataFrame
    tables: Callable[[], Sequence[tuple[str, pd.DataFrame]]]  # more of the view: title, rows
    # tiles -> map; None: the page has no map
    draw: Callable[[str], tuple[folium.Map, list[folium.FeatureGroup]]] | None
    compare: bool = True  # "what changed since": False where the page shows no picture


@st.cache_resource(show_spinner=False)
def _last_moments() -> dict[Role, Moment]:
    """The picture of the last pack made in each role, for "what changed since", as far
    as this server knows; kept beside the audit trail for after a restart."""
    return {}


_moments_lock = threading.Lock()


def _kept(role: Role) -> Path:
    return audit_log().folder / f"last-pack-{role.value}.json"


def _last_pack(role: Role, now: Moment) -> Moment | None:
    """The moment of the role's last pack (this server's, or kept from before a restart),
    and ``now`` kept as the next one's."""
    with _moments_lock:
        before = _last_moments().get(role)
        if before is None:
            try:
                before = Moment.from_json(json.loads(_kept(role).read_text(encoding="utf-8")))
            except FileNotFoundError:
                before = None
            except (OSError, ValueError) as error:  # unreadable: start again, say so
                PACKS.warning("the last %s pack's picture is unreadable: %s", role.value, error)
                before = None
        _last_moments()[role] = now
    # Written meanwhile (180,000 station ids take half a second); in order, one at a time.
    _keeper().submit(_keep, role, now)
    return before


@st.cache_resource(show_spinner=False)
def _keeper() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="pollwatch-last-pack")


def _keep(role: Role, moment: Moment) -> None:
    try:
        _kept(role).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(_kept(role), json.dumps(moment.to_json()), mode=0o600)
    except OSError as error:  # the pack is made all the same; the next one may not know
        PACKS.warning("the %s pack's picture could not be kept: %s", role.value, error)


@st.cache_resource(show_spinner=False)
def _warm_browsers() -> bool:
    """kaleido's browser started once per server, when a page first offers a pack. The
    map's starts with the first map (about a second then): started with every page, it
    slowed each server's first pages."""
    chart_images.warm()
    return True


def pack_panel(settings: Settings, scene: Scene, view: View) -> None:
    """A panel of the page: make the briefing pack (PDF, A4 or Letter) or the map image
    (PNG), with progress while it is made, then download it. The last file made stays
    offered in the session until the next one. (As a fragment, a map size chosen just
    before the click was lost under load in CI: it is not one.)"""
    state = st.session_state
    if serving():  # a server started from app.py, not AppTest's runs
        _warm_browsers()
    with st.expander("Briefing pack and map image" if view.draw is not None else "Briefing pack"):
        paper = st.radio("Paper", list(pack.PAGES), horizontal=True, key="pack_paper")
        earlier: pd.Timestamp | None = None
        if view.compare:
            since = st.radio("What changed since", list(SINCE), horizontal=True, key="pack_since")
            if since == CHOSEN:
                earlier = _chosen_time(scene.now)
            elif SINCE[since] is not None:
                earlier = scene.now - SINCE[since]
        if st.button("Make the briefing pack (PDF)", key="pack_make"):
            state["pack_file"] = _made(settings, scene, view, paper, earlier)
        if view.draw is None:
            _offer(state.get("pack_file"))
            return
        size = st.radio("Map image", list(SIZES), horizontal=True, key="pack_map_size")
        if st.button("Make the map image (PNG)", key="pack_map"):
            with st.status("Drawing the map...") as status:
                try:
                    png = _map_png(settings, view, SIZES[size], publisher_for(viewer().role))
                except snapshot.SnapshotFailed as failed:
                    status.update(label="The map could not be drawn", state="error")
                    st.error(plain(str(failed)))
                    return
                status.update(label="Map image ready", state="complete")
            name = f"map-{scene.now:%Y%m%d-%H%M}-{size.replace(' x ', 'x')}.png"
            state["pack_file"] = (name, audited_export(name, lambda: png)(), "image/png")
        _offer(state.get("pack_file"))


def _offer(made: tuple[str, bytes, str] | None) -> None:
    """The download of the last file made in this session."""
    if made:
        name, data, mime = made
        st.download_button(
            f"Download {name}", data, name, mime, on_click="ignore", key="pack_download"
        )


def _chosen_time(now: pd.Timestamp) -> pd.Timestamp:
    """An earlier time (UTC) picked by day and time of day, at most ``now``."""
    left, right = st.columns(2)
    day = left.date_input(
        "Day (UTC)", (now - pd.Timedelta(days=1)).date(), max_value=now.date(), key="pack_day"
    )
    at = right.time_input(
        "Time (UTC)",
        (now - pd.Timedelta(days=1)).time().replace(second=0, microsecond=0),
        key="pack_time",
        step=dt.timedelta(minutes=15),
    )
    chosen = pd.Timestamp(dt.datetime.combine(day, at), tz="UTC")
    if chosen >= now:
        st.caption("That is not earlier than the picture: the pack compares with 24 h ago.")
        return now - pd.Timedelta(days=1)
    return chosen


def _made(
    settings: Settings, scene: Scene, view: View, paper: str, earlier: pd.Timestamp | None
) -> tuple[str, bytes, str]:
    """The pack, made with a progress line per part."""
    who = viewer()
    started = time.perf_counter()
    with st.status("Making the briefing pack...", expanded=True) as status:
        status.write("Drawing the map and the charts")
        published = publisher_for(who.role)
        with ThreadPoolExecutor(2) as pool:  # Chromium twice, side by side
            map_made = (
                pool.submit(_timed, _map_png, settings, view, snapshot.PRINT, published, "jpeg")
                if view.draw is not None
                else None
            )
            # The figures are made beside the map too (at national scale they take a while).
            charts = pool.submit(_timed, _chart_images, view)
            quality_extra = []
            images: list[tuple[str, bytes]] = []
            try:
                images, charts_s = charts.result()
                PACKS.info("charts made and drawn in %.2f s", charts_s)
            except ChartsFailed as failed:
                status.write(plain(f"No charts in the pack: they could not be drawn: {failed}"))
                quality_extra.append(f"The charts could not be drawn: {failed}")
            drawn: bytes | None = None
            try:
                if map_made is not None:
                    drawn, map_s = map_made.result()
                    PACKS.info("map drawn in %.2f s", map_s)
            except snapshot.SnapshotFailed as failed:
                status.write(
                    plain(f"The map could not be drawn; the pack goes without it: {failed}")
                )
                quality_extra.append(f"The map could not be drawn: {failed}")
        drawn_s = time.perf_counter() - started
        changed: list[str] = []
        since = ""  # not compared
        if view.compare:
            status.write("Comparing with the last pack")
            now = Moment.of(view.frames, scene.now)
            before = _last_pack(who.role, now)
            since = "the last pack"
            if earlier is not None:
                before = Moment.incidents_at(view.frames, earlier)
                since = (
                    f"{earlier:%d %b %Y %H:%M} UTC (incidents only: the cover and convoys "
                    "of that time are not kept)"
                )
            elif before is not None:
                since = f"the last pack in this role ({before.time:%d %b %H:%M} UTC)"
            changed = changes(before, now) if before is not None else []
        status.write("Laying out the pages")
        made = pack.pdf(
            pack.Pack(
                title=view.title,
                marking=MARKING,
                made_by=f"{who.name} ({who.role.label})",
                picture_time=f"{scene.now:%d %b %Y %H:%M} UTC",
                view=view.words,
                figures=view.figures,
                feeds=_sources(scene, settings),
                areas=view.areas,
                tables=view.tables(),
                map_image=drawn,
                charts=images,
                changes=changed,
                changes_since=since,
                quality=[*quality_extra, *_quality(scene, settings, view.frames)],
                exercise=scene.scenario.label or "",
            ),
            paper,
        )
        status.update(label="Briefing pack ready", state="complete")
    PACKS.info(
        "pack of %d bytes made in %.2f s: map and charts %.2f s, the rest %.2f s",
        len(made),
        time.perf_counter() - started,
        drawn_s,
        time.perf_counter() - started - drawn_s,
    )
    name = f"briefing-{who.role.value}-{scene.now:%Y%m%d-%H%M}.pdf"
    return name, audited_export(name, lambda: made)(), "application/pdf"


def _chart_images(view: View) -> list[tuple[str, bytes]]:
    """The view's charts, made and drawn: title, PNG."""
    figures = view.charts()
    pngs = chart_pngs([fig for _, fig in figures])
    return [(title, png) for (title, _), png in zip(figures, pngs, strict=True)]


def _timed(make: Callable[..., T], *args: object) -> tuple[T, float]:
    """``make(*args)`` and the seconds it took."""
    started = time.perf_counter()
    return make(*args), time.perf_counter() - started


def _map_png(
    settings: Settings, view: View, size: snapshot.Size, published: Publisher, kind: str = "png"
) -> bytes:
    """The page's map drawn by Chromium (PNG, or JPEG for the pack), on the offline
    basemap unless the tiles are local (the picture is made with no internet); its data
    as ``published`` for the role."""
    tiles = "offline" if settings.tiles in ("osm", "none", "offline") else settings.tiles
    assert view.draw is not None
    with drawing_for(published):  # off the page's thread: the role's publisher, named
        fig, groups = view.draw(tiles)
    sources = "Pollwatch; feeds: " + ", ".join(view.frames)
    page = snapshot.standalone(fig, groups, sources)
    return snapshot.map_image(
        page, {published.url: published.folder, STATIC_URL: STATIC_DIR}, size, kind=kind
    )


def _sources(scene: Scene, settings: Settings) -> pd.DataFrame:
    """Each feed: its file, state, when it was written, its rows and problems."""
    table = freshness(scene, settings)
    return table[["feed", "file", "state", "updated", "rows", "problems"]]


def _quality(scene: Scene, settings: Settings, frames: Mapping[str, pd.DataFrame]) -> list[str]:
    """Data-quality notes: problems per feed, stale or failed feeds, stations without a
    location."""
    notes = []
    table = freshness(scene, settings)
    for row in table.itertuples():
        if row.problems:
            notes.append(f"{row.feed} ({row.file}): {int(row.problems):,} problems reported.")
        if row.state in ("stale", "failed", "missing"):
            notes.append(f"{row.feed}: {row.state}.")
    stations = frames.get("polling_stations")
    if stations is not None and len(stations):
        unplaced = int((~located(stations.geometry)).sum())
        if unplaced:
            notes.append(f"{unplaced:,} polling stations have no location and are not on the map.")
    return notes
