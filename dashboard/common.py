"""What every page shares: the feed folder's scene, cached derivations, the problems panel.

Streamlit glue only: loading and caching, and showing what the layers reported.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import folium
import pandas as pd
import streamlit as st

from dashboard.access import audited_export, viewer
from dashboard.datafiles import (
    STATIC_DIR,
    STATIC_URL,
    give_way,
    publisher_for,
    serving,
)
from dashboard.live import Pusher
from layers.access.policy import Restricted, may
from layers.access.roles import Role
from layers.analysis.filters import Filters
from layers.analysis.freshness import freshness, picture_key, reading
from layers.analysis.picture import Derived, DerivedCache
from layers.core.ondisk import OnDisk
from layers.core.problems import Problem
from layers.core.settings import Settings
from layers.io.history import HistoryError, replay_time
from layers.map import offline
from layers.map.basemap import assets_version, base_map
from layers.map.elements import LegendSection
from layers.replay import first_kept, settings_at
from layers.scene import Scene, SceneLoader
from layers.views import exports
from layers.views.publish import Publisher
from layers.views.publish import published_layers as layers_published

ASSETS_VERSION = assets_version(STATIC_DIR)  # the map's assets by their content
BANNER_NOTE = 220  # characters of a failed feed's reason shown in the banner
RUNS = logging.getLogger("pollwatch.runs")


def configure_logging() -> None:
    """Our loggers (``layers.*``, ``pollwatch.*``) to the server's output at the level in
    ``POLLWATCH_LOG`` (default ``warning``; ``info`` adds a line per page run)."""
    level = (os.environ.get("POLLWATCH_LOG") or "warning").upper()
    for name in ("layers", "pollwatch"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
            logger.addHandler(handler)
            logger.propagate = False
        logger.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")


def log_run(page: str, scene: Scene, started: float) -> None:
    """One line per page run (level info): the session, the picture it was sent, how long
    the run took. Load benchmarks read it to time the server's part of an update."""
    ctx = st.runtime.scriptrunner.get_script_run_ctx()
    session = ctx.session_id[:8] if ctx is not None else "-"
    RUNS.info(
        "session %s: %s sent the picture of %s in %.3f s",
        session,
        page,
        f"{scene.now:%H:%M:%S}",
        time.perf_counter() - started,
    )


_drawing = threading.local()  # the publisher of a map drawn off the page's thread


@contextmanager
def drawing_for(publisher: Publisher) -> Iterator[None]:
    """Maps made in this block (in this thread: a briefing pack's picture, made beside
    the page) take their basemap files from ``publisher``, the role's."""
    _drawing.publisher = publisher
    try:
        yield
    finally:
        del _drawing.publisher


def page_map(
    bounds: tuple[float, float, float, float] | None,
    tiles: str,
    legend: Sequence[LegendSection],
    wall: bool = False,
    dark: bool = False,
    prefetch: Sequence[str] = (),
) -> folium.Map:
    """The base map of a page: assets served by the app, pollwatch.js by its version, the
    basemap that needs no internet under the tiles (its files built once per region, and
    published for the viewer's role, or the one :func:`drawing_for` names); ``wall``,
    ``dark`` and ``prefetch`` as :func:`layers.map.basemap.base_map` takes them."""
    box = offline.region(bounds)
    publisher = getattr(_drawing, "publisher", None) or publisher_for(viewer().role)
    urls = publisher.publish("basemap", box, partial(offline.made, box, kept_store()))
    return base_map(bounds, tiles, STATIC_URL, legend, ASSETS_VERSION, urls, wall, dark, prefetch)


@st.cache_resource(show_spinner=False)
def loader_for(settings: Settings) -> SceneLoader:
    """One loader per feed folder: it keeps each feed's last good version between reruns."""
    return SceneLoader(settings)


def kept_store() -> OnDisk | None:
    """The on-disk store of what is kept between restarts (``POLLWATCH_CACHE``), if any."""
    return loader_for(Settings.from_env()).kept


WARM_WAIT_S = 600.0  # the longest a large file's first read is waited for at start


def warm() -> None:
    """As the server starts (:func:`dashboard.datafiles.lifespan`): read the feeds,
    derive every layer, publish for each role the datasets and basemap of its default
    view, then measure the Coverage page's default analysis, all in the caches the pages
    use. A page that comes meanwhile waits on the same locks and takes what is done."""
    from layers.access.policy import shown_feeds  # noqa: PLC0415 - only here
    from layers.analysis.filters import apply  # noqa: PLC0415
    from layers.analysis.freshness import reading  # noqa: PLC0415

    started = time.perf_counter()
    step = logging.getLogger("pollwatch.start")

    def done(what: str) -> None:
        step.info("as the server started: %s after %.2f s", what, time.perf_counter() - started)

    settings = Settings.from_env()
    loader = loader_for(settings)
    scene = loader.load()
    done("feeds read")
    # A large file is read in a thread of its own; the first picture waits for it (a
    # picture made meanwhile would lack it, and the first screen would make it again).
    deadline = time.monotonic() + WARM_WAIT_S
    while reading(scene) and time.monotonic() < deadline:
        time.sleep(0.05)
        scene = loader.load()
    whole = derived_picture(settings, scene)
    done("layers derived")
    box = offline.region(scene.bounds)
    for role in Role:  # operations first: the wall screens
        give_way()
        derived = restricted(settings).picture(whole, role)
        shown = apply(derived, Filters(), scene.now).frames
        chunks = _chunks_for(settings, role)
        publisher = publisher_for(role)
        layers_published(
            publisher, chunks, derived.scene, derived, shown, Filters(), shown_feeds(role)
        )
        publisher.publish("basemap", box, partial(offline.made, box, loader.kept))
        done(f"{role.value}'s datasets published")
    # The Coverage page's analysis as it opens (its placement suggestions included).
    from dashboard.coverage_analysis import DEFAULT, measured  # noqa: PLC0415

    give_way()
    measured(settings, whole, DEFAULT)


def current_scene() -> tuple[Settings, Scene]:
    """Settings and the folder's scene now (files re-read only when they changed); with
    ``?at=`` in the link, the scene as it was then (:func:`replay`)."""
    settings = Settings.from_env()
    if st.query_params.get("at"):
        past, _ = replay(settings, st.query_params.get("at", ""))
        if past is not None:
            return past, loader_for(past).load(now=past.replay_at)
    return settings, loader_for(settings).load()


def replay(settings: Settings, text: str) -> tuple[Settings | None, str]:
    """Settings that read the feed folder as it was at the time ``text`` names (the
    versions the history kept: :mod:`layers.replay`), or None and why not."""
    try:
        when = replay_time(text, settings.timezone)
    except ValueError as err:
        return None, str(err)
    return settings_at(settings, when)


def held_feeds(settings: Settings) -> dict[str, Problem]:
    """The feeds whose newest version is held back, with the reason."""
    return loader_for(settings).store.held()


def accept_feed(settings: Settings, feed: str) -> bool:
    """Show ``feed``'s held-back version on every screen from now on."""
    return loader_for(settings).store.accept(feed)


def current_picture() -> tuple[Settings, Derived]:
    """Settings and every layer derived from the scene now, as the session's role may see
    it (:mod:`layers.access.policy`); ``.scene`` of the answer shows the feeds whose
    derive failed as failed."""
    settings, scene = current_scene()
    whole = derived_picture(settings, scene)
    st.session_state["_whole_picture"] = whole  # on the server, for whole_picture()
    return settings, restricted(settings).picture(whole, viewer().role)


def whole_picture(settings: Settings) -> Derived:
    """Every layer with every column, whatever the session's role, of the same version as
    this run's :func:`current_picture`: only for computations whose results the page
    restricts before showing them (the coverage a commission sees is measured from bases
    it may not see; a partner gets sums per area)."""
    whole = st.session_state.get("_whole_picture")
    if isinstance(whole, Derived):
        return whole
    return derived_picture(settings, loader_for(settings).load())


@st.cache_resource(show_spinner=False)
def restricted(settings: Settings) -> Restricted:
    """Each role's picture, once per data version and role, for every session."""
    return Restricted()


@st.cache_resource(show_spinner=False)
def _derived_cache(settings: Settings) -> DerivedCache:
    return DerivedCache(loader_for(settings).kept, repr(settings))


def derived_picture(settings: Settings, scene: Scene) -> Derived:
    """Every layer derived (with areas); each re-derived only when its inputs changed.

    Kept as a resource (no copy on each rerun); nothing downstream mutates it.
    """
    return _derived_cache(settings).derive(scene)


def publisher() -> Publisher:
    """The publisher of map datasets for the role this session shows (its own folder and
    URLs, served by the data route of ``dashboard/datafiles.py``)."""
    return publisher_for(viewer().role)


def published(name: str, key: Hashable, build: Callable[[], dict[str, Any]]) -> dict[str, str]:
    """URLs of the parts ``build()`` returns (:meth:`layers.views.publish.Publisher.publish`),
    made for the session's role: what one role was given is never handed to another."""
    return publisher().publish(name, key, build)


def published_layers(
    settings: Settings,
    scene: Scene,
    derived: Derived,
    shown: Mapping[str, Any],
    filters: Filters,
    names: Sequence[str],
) -> dict[str, Any]:
    """URLs of the published parts of the layers ``names``
    (:func:`layers.views.publish.published_layers`)."""
    role = viewer().role
    chunks = _chunks_for(settings, role)
    return layers_published(publisher_for(role), chunks, scene, derived, shown, filters, names)


def _chunks_for(settings: Settings, role: Role) -> DerivedCache:
    """Where ``role``'s map chunks are kept: the whole picture's cache for operations,
    a cache of its own for a restricted role (never another role's)."""
    return _derived_cache(settings) if role is Role.OPERATIONS else _audience_cache(settings, role)


@st.cache_resource(show_spinner=False)
def _audience_cache(settings: Settings, role: Role) -> DerivedCache:
    """The map chunks of one restricted role's datasets (never another role's)."""
    return DerivedCache()


@st.cache_resource(show_spinner=False)
def pusher(settings: Settings) -> Pusher:
    """One look at the feeds for every session of the folder (:mod:`dashboard.live`)."""
    loader, cache, roles = loader_for(settings), _derived_cache(settings), restricted(settings)

    def look() -> Callable[[Hashable], Hashable]:
        derived = cache.derive(loader.load())
        return lambda role: picture_key(roles.picture(derived, role).scene, settings)  # type: ignore[arg-type]

    return Pusher(settings.refresh_s, look)


def watch_feeds(settings: Settings, scene: Scene, quiet: bool = False) -> None:
    """Look at the feed files every ``POLLWATCH_REFRESH_S`` seconds and rerun the page when
    what it shows would change (a feed's file, its freshness, the minute).

    The look is a partial rerun of this small fragment (a stat of each file; a file is
    read again only when it changed), so a refresh in which nothing changed costs next to
    nothing. The rerun keeps the map element, its pan and zoom, the filters and the page.
    While a large file is read, each look says how far it got; the page reruns only when a
    reading starts or ends (a rerun at each look would never end under that load).

    The fragment's timer runs in the browser, which may fire it late (a busy wall PC, a
    window in the background), so the server also looks once for every session and
    reruns the sessions that show an older picture (:mod:`dashboard.live`).

    ``quiet``: no line of its own (the wall view shows each feed's state as a chip).
    """
    every = settings.refresh_s or None
    if settings.replay_at is not None:  # a replay does not move
        return
    shown = picture_key(scene, settings)
    if every and serving():  # a server started from app.py (not AppTest's runs)
        pusher(settings).showing(shown, viewer().role)

    # The fragment's first call runs inside the page's run, which has just taken its
    # picture: that call only reports. Were it to look again and rerun on a change, feeds
    # that change faster than a page runs would cut every run before the map (a wall that
    # never draws). The fragment's later runs look, and rerun the page on a change.
    inline = [True]

    @st.fragment(run_every=every)
    def check() -> None:
        now_scene = scene
        if not inline[0]:
            now_settings, now_derived = current_picture()  # as the page sees it: failures too
            now_scene = now_derived.scene
            if picture_key(now_scene, now_settings) != shown:
                st.rerun()
        inline[0] = False
        if quiet:
            return
        for progress in reading(now_scene):  # each look, without a rerun of the page
            st.info(
                plain(progress[:1].upper() + progress[1:] + " so far; the last good data stays."),
                icon=":material/hourglass_top:",
            )
        if every:
            st.caption(
                f"Live: feeds checked every {every:g} s, last at "
                f"{pd.Timestamp.now(tz='UTC'):%H:%M:%S} UTC; "
                f"picture of {scene.now:%H:%M:%S} UTC."
            )

    check()


MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")
WORD_JOINER = "\u2060"  # invisible; breaks a link Streamlit would find in text
LINKABLE = re.compile(r"(?i)(www)(?=\\\.)|(\\:)(?=//)")  # www. and scheme://


def plain(text: str) -> str:
    """``text`` for a Streamlit element that renders Markdown, shown as written: feed
    values and URL parameters never become links, images or formatting.

    Escaping is not enough for links: Streamlit turns ``http://...``, ``www.`` and e-mail
    addresses in text into links even when escaped, so an invisible word joiner goes
    after the colon of ``scheme://``, after ``www`` and before each ``@``."""
    text = MARKDOWN.sub(r"\\\1", text).replace("@", WORD_JOINER + "@")
    return LINKABLE.sub(lambda m: m.group(0) + WORD_JOINER, text)


def show_banner(scene: Scene, settings: Settings) -> None:
    """One compact line on every page when a feed is stale, failed or missing; a replay
    says so first, in red, with its time."""
    if settings.replay_at is not None:
        st.error(
            f"REPLAY: the picture as it was at {settings.replay_at:%d %b %Y %H:%M:%S} UTC, "
            "not live. Remove at= from the link for the live picture.",
            icon=":material/history:",
        )
        replay_controls(settings.replay_at)
    elif st.query_params.get("at"):
        _, why = replay(settings, st.query_params.get("at", ""))
        st.warning(
            plain(f"No replay ({why}): this is the live picture."), icon=":material/history:"
        )
        try:
            first = first_kept(settings)
        except HistoryError:  # said in the line above
            first = None
        if first is not None and st.button(
            f"Replay from the history's start ({first:%d %b %Y %H:%M} UTC)", key="replay_first"
        ):
            _replay_to(first)
    table = freshness(scene, settings)
    details = may(viewer().role, "feed_details")  # a failure's reason may quote a row
    parts = []
    bad = table[table["state"].isin(["stale", "failed", "missing"])]
    shared = bad[bad["state"] == "failed"].groupby("why")["feed"].agg(list)
    for why, feeds in shared[shared.map(len) > 2].items():  # one reason for many: once
        if details:
            said = why if len(why) <= BANNER_NOTE * 2 else why[: BANNER_NOTE * 2 - 1] + "…"
            parts.append(f"{', '.join(feeds)}: {said.rstrip('.')}")
        else:
            parts.append(f"{', '.join(feeds)}: failed")
        bad = bad[~bad["feed"].isin(feeds)]
    for row in bad.itertuples():
        age = f" ({row.age_min:g} min old)" if pd.notna(row.age_min) else ""
        if row.state == "failed" and isinstance(row.note, str) and row.note and details:
            note = row.note.rstrip(".")
            note = note if len(note) <= BANNER_NOTE else note[: BANNER_NOTE - 1] + "…"
            parts.append(f"{row.feed}: {note}")
        else:
            parts.append(f"{row.feed}: {row.state}{age}")
    if parts:
        st.warning(
            plain("Feeds: " + "; ".join(parts) + ". See the Feeds page."),
            icon=":material/schedule:",
        )


REPLAY_SPEEDS = (1, 10, 60)  # replayed seconds per second


def replay_controls(at: pd.Timestamp) -> None:
    """In the sidebar: step a replay by ten minutes, or play it at 1x to 60x (the link's
    ``at=`` moves with it, so the address bar always opens what is shown)."""
    side = st.sidebar
    side.subheader("Replay")
    back, ahead = side.columns(2)
    step = pd.Timedelta(minutes=10)
    if back.button("-10 min", key="replay_back", width="stretch"):
        _replay_to(at - step)
    if ahead.button("+10 min", key="replay_ahead", width="stretch"):
        _replay_to(at + step)
    speed = side.radio(
        "Play", REPLAY_SPEEDS, horizontal=True, format_func=lambda x: f"{x}x", key="replay_speed"
    )
    playing = side.toggle("Playing", key="replay_playing")
    if playing:
        started = time.monotonic()

        @st.fragment(run_every=1.0)
        def tick() -> None:
            moved = pd.Timedelta(seconds=speed * max(1.0, time.monotonic() - started))
            if time.monotonic() - started >= 1.0:
                _replay_to(at + moved)

        with side:
            tick()


def _replay_to(when: pd.Timestamp) -> None:
    if when > pd.Timestamp.now(tz="UTC"):
        st.query_params.pop("at", None)  # caught up with now: live
    else:
        st.query_params["at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    st.rerun(scope="app")


def drawn_once(key: Hashable | None, draw: Callable[[], None]) -> None:
    """Draw the elements ``draw()`` makes (no widgets) once per ``key``: every other session
    with the same key gets them replayed as they were serialised (Streamlit keeps what a
    cached function drew), so a wall of screens on one picture costs one build. ``key``
    names everything they show, starting with what draws them; ``None``: draw as usual."""
    if key is None:
        draw()
    else:
        _drawn(key, draw)


@st.cache_resource(show_spinner=False, max_entries=64)
def _drawn(key: Hashable, _draw: Callable[[], None]) -> None:
    _draw()


def show_problems(scene: Scene) -> None:
    """Missing or unreadable feeds as errors; a count per feed and every problem on demand."""
    details = may(viewer().role, "feed_details")  # the problems quote rows
    versions = scene.key(*scene.versions)
    key = None if versions is None else ("problems", details, versions, scene.now)
    drawn_once(key, lambda: _show_problems(scene, details))


def _show_problems(scene: Scene, details: bool) -> None:
    status = scene.feed_status()
    broken = status[status["state"].isin(["missing", "unreadable", "showing an older copy"])]
    for row in broken.to_dict("records"):
        fix = row["what to do"] or "See the feed problems below."
        st.error(plain(f"{row['feed']}: {row['state']}. {fix}"))
    for problem in scene.scenario.problems:
        st.error(plain(str(problem)))
    total = int(status["problems"].sum()) + len(scene.scenario.problems)
    with st.expander(f"Feed problems: {total}", expanded=False):
        st.dataframe(status, hide_index=True, width="stretch")
        problems = scene.problems
        if problems and not details:
            st.caption("The operations centre has the details of each problem.")
        elif problems:
            st.dataframe(
                pd.DataFrame([p.as_dict() for p in problems]),
                hide_index=True,
                width="stretch",
            )


def show_takeaway(
    frames: Mapping[str, Any], feeds: Sequence[str], areas: Any, figures: pd.DataFrame
) -> None:
    """Downloads of what the view shows, as the role sees it and the filters keep it: each
    layer's rows and the per-area ``figures`` (with the ``areas`` polygons), as CSV, HXL
    CSV or GeoJSON. Made when asked for, and audited with the file's hash."""
    offered = {
        stem: name for name, stem in exports.taken().items() if name in feeds and name in frames
    }
    with st.expander("Take this view away"):
        what = st.selectbox(
            "Data",
            [*offered, "area_figures"],
            format_func=lambda stem: stem.replace("_", " "),
            key="takeaway_what",
        )
        # Only the chosen set is made (on every run, all of them were 9 % of the page's time).
        if what == "area_figures":
            frame, tags = exports.areas_with_figures(areas, figures), exports.AREA_TAGS
        else:
            name = offered[what]
            frame, tags = exports.takeaway({name: frames[name]}, [name])[what]
        st.caption(f"{len(frame):,} rows, as filtered on this page.")
        for column, (label, (ext, mime)) in zip(
            st.columns(len(exports.FORMATS)), exports.FORMATS.items(), strict=True
        ):
            file = f"{what}.{ext}"
            column.download_button(
                label,
                audited_export(file, partial(exports.encoded, frame, label, tags)),
                file,
                mime,
                on_click="ignore",
                key=f"takeaway_{ext}",
            )
