"""The wall view: the Operations picture for a screen across the room, unattended.

Open it as ``/wall`` or with ``?view=wall`` on any page; the link carries the filters as
on the Operations page, and ``tz`` (the clock's time zone, e.g. ``Africa/Monrovia``),
``theme`` (``dark``, the default, or ``light``) and ``rotate`` (seconds per view: the
wall cycles through the link's view, the areas with the most incidents in the last hour
and the coverage; :func:`layers.views.wall.rotation`). No sidebar, no Streamlit header: a strip
of headline figures and the clock, a chip per feed with its age, the map filling the
screen, and the latest serious incidents. ``wall.js`` keeps the clock and shows
"reconnecting" over everything while the server cannot be reached, and "not updating"
when the picture stops changing, so a frozen screen never looks live.
"""

from __future__ import annotations

import hashlib
import time
from html import escape

import streamlit as st
import streamlit.components.v1 as components

from dashboard.access import viewer
from dashboard.common import STATIC_DIR, STATIC_URL, current_picture, log_run, watch_feeds
from dashboard.opsmap import map_view, show_map
from layers.access.policy import shown_feeds
from layers.analysis.filters import Filters, apply, choices, framed
from layers.analysis.freshness import freshness
from layers.analysis.kpis import shown_figures
from layers.views import wall
from layers.views.overlays import EarlyWarning

MAP_SHARE = 72  # % of the screen's height for the map until wall.js fits it to what is left

# Streamlit's own chrome off, the page to the screen's edges, nothing scrolls, and no
# fading of elements while a run is under way (a wall reruns every refresh).
CHROME = f"""
<style>
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stStatusWidget"], [data-testid="stMainMenu"], .stDeployButton {{
  display: none !important; }}
[data-testid="stMainBlockContainer"] {{
  padding: 0.6vh 0.8vw !important; max-width: none !important; }}
[data-testid="stVerticalBlock"] {{ gap: 0.6vh !important; }}
html, body, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{
  overflow: hidden !important; }}
.stApp {{ background: var(--pw-page, #f4f5f7); }}
.stale-element, [data-stale="true"] {{ opacity: 1 !important; transition: none !important; }}
iframe[title="streamlit_folium.st_folium"] {{ height: {MAP_SHARE}vh !important; }}
{wall.STYLE}
</style>
"""
DARK = "<style>.stApp { --pw-page: #0b0f14; }</style>"
SCRIPT = STATIC_DIR / "pollwatch" / "wall.js"
SCRIPT_VERSION = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:12]


def next_turn(views: list[wall.WallView], seconds: float, at: int) -> None:
    """Rerun the page when the rotation reaches the next view (a look every tenth of a
    view, at least a second apart)."""

    @st.fragment(run_every=max(1.0, seconds / 10))
    def watch() -> None:
        if wall.turn(views, seconds, time.time()) != at:
            st.rerun(scope="app")

    watch()


def page() -> None:
    started = time.perf_counter()
    settings, derived = current_picture()
    scene = derived.scene
    role = viewer().role
    feeds = shown_feeds(role)
    query = st.query_params
    dark = query.get("theme", "dark") != "light"
    tz, tz_note = wall.zone(query.get("tz"))
    filters, ignored = Filters.from_query(query.get_all, choices(derived))
    seconds, rotate_note = wall.every(query.get("rotate"))
    st.html(CHROME + (DARK if dark else ""))
    watch_feeds(settings, scene, quiet=True)
    shown = wall.WallView("", "", filters)
    notes = []
    if seconds:
        views = wall.rotation(derived["incidents"], filters, scene.now)
        at = wall.turn(views, seconds, time.time())
        shown = views[at]
        notes.append(f"View {at + 1} of {len(views)}: {shown.name} ({shown.why}).")
        next_turn(views, seconds, at)
    filters = shown.filters
    drawn = feeds if shown.layers is None else [f for f in feeds if f in shown.layers]
    picture = apply(derived, filters, scene.now)
    label = scene.scenario.label
    exercise = "EXERCISE" if label else None
    if settings.replay_at is not None:  # a replay says so where the exercise label goes
        exercise = f"REPLAY {settings.replay_at:%d %b %H:%M} UTC"
    st.html(
        wall.strip_html(
            shown_figures(picture, feeds),
            scene.now.tz_convert(tz).strftime("%H:%M:%S"),
            str(tz),
            exercise,
            dark,
        )
    )
    if not seconds:
        notes.append(f"{filters.sentence(scene.now)}.")
    if ignored:
        notes.append("Not in the data, so not applied: " + ", ".join(ignored[:6]))
    notes += [n for n in (tz_note, rotate_note) if n]
    st.html(wall.chips_html(wall.chips(freshness(scene, settings)), notes, dark))
    view, _ = map_view(settings, derived, picture, filters, drawn, EarlyWarning(), role)
    shown_key = (role, scene.key(*scene.versions), scene.now, filters)
    bounds = framed(picture, filters, scene.bounds)  # an area chosen: the map shows it
    show_map(view, settings.tiles, bounds, drawn, shown_key, wall=True, dark=dark, now=scene.now)
    # the ticker in every view, the coverage's too: a serious incident is always news
    items = wall.ticker(picture.frames["incidents"], tz) if "incidents" in feeds else []
    empty = f"No {wall.TICKER_SEVERITY} or critical incidents: {filters.sentence(scene.now)}."
    st.html(wall.ticker_html(items, empty, dark))
    # The clock and the watch for a lost server: a script of ours, in a frame of its own.
    # Only its refresh goes in, so the frame (and its timers) stays from run to run.
    src = f"{STATIC_URL}/pollwatch/wall.js?v={SCRIPT_VERSION}"
    stale_after = max(180.0, 3 * settings.refresh_s)
    components.html(
        f'<script src="{escape(src)}" data-stale-after="{stale_after:g}"></script>', height=0
    )
    st.html(f'<span id="pollwatch-picture" data-at="{scene.now.isoformat()}" hidden></span>')
    log_run("wall", scene, started)


page()
