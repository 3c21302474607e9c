"""The wall view as a screen across the room shows it: Debian's Chromium at 1920x1080 and
3840x2160, no internet; and what it shows while its server restarts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from browser import free_port, map_frame, offline_page, running_app, screenshot
from layers.registry import REGISTRY

pytestmark = pytest.mark.browser

READY = """() => typeof pollwatch !== 'undefined' && pollwatch.layers.stations
    && pollwatch.layers.stations.ready"""
LAYOUT = """() => {
    const box = s => { const e = document.querySelector(s);
        if (!e) return null; const b = e.getBoundingClientRect();
        return {x: b.x, y: b.y, w: b.width, h: b.height}; };
    const size = s => { const e = document.querySelector(s);
        return e ? parseFloat(getComputedStyle(e).fontSize) : 0; };
    const shown = s => [...document.querySelectorAll(s)].some(e => {
        const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0; });
    return {
        map: box('iframe[title="streamlit_folium.st_folium"]'),
        ticker: box('.pw-ticker'),
        value: size('.pw-value'), label: size('.pw-label'), chip: size('.pw-chip'),
        clock: size('.pw-clock'),
        chips: [...document.querySelectorAll('.pw-chip')].map(e => e.textContent),
        chipRows: new Set([...document.querySelectorAll('.pw-chip')]
            .map(e => Math.round(e.getBoundingClientRect().top))).size,
        sidebar: shown('[data-testid="stSidebar"]'),
        header: shown('header[data-testid="stHeader"]'),
        toolbar: shown('[data-testid="stToolbar"]') || shown('.stDeployButton'),
        scroll: document.documentElement.scrollHeight,
        text: document.body.innerText,
    };
}"""
LEGEND_SECTIONS = """() => [...document.querySelectorAll('.pollwatch-legend > div > div')]
    .filter(d => d.style.display !== 'none').map(d => d.firstChild.textContent)"""
SWITCH_OFF = """(name) => { const item = pollwatch.control._layers.find(l => l.name === name);
    item.layer.remove(); }"""
LEGEND_FITS = """() => { const l = document.querySelector('.pollwatch-legend');
    return l.scrollHeight <= l.clientHeight + 1 && l.getBoundingClientRect().top >= 0; }"""
HEAT_PAINTED = """() => { const c = document.querySelector('canvas.leaflet-heatmap-layer');
    if (!c) return 0; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; }
    return n / (d.length / 4); }"""
CLOCK = "() => document.getElementById('pollwatch-clock').textContent"
OFFLINE = "() => { const b = document.getElementById('pollwatch-offline'); return b ? b.textContent : null; }"


def open_wall(page, url: str):  # type: ignore[no-untyped-def]
    page.goto(url)
    frame = map_frame(page, timeout_ms=90_000)
    frame.wait_for_function(READY, timeout=90_000)
    page.wait_for_timeout(2500)  # wall.js fits the map to what the strip leaves
    return frame


def test_the_wall_fills_a_1080p_and_a_4k_screen(sample_folder: Path) -> None:
    with running_app({"POLLWATCH_FEEDS": str(sample_folder)}) as url:
        for width, height, least_number in ((1920, 1080, 48), (3840, 2160, 96)):
            with offline_page(width, height) as (page, blocked):
                frame = open_wall(page, f"{url}/?view=wall&tz=Africa/Monrovia")
                seen = page.evaluate(LAYOUT)
                name = f"wall_{height}p.png" if height < 2000 else "wall_4k.png"
                screenshot(page, name)
                assert not seen["sidebar"] and not seen["header"] and not seen["toolbar"]
                assert seen["scroll"] <= height  # nothing below the screen's edge
                share = seen["map"]["w"] * seen["map"]["h"] / (width * height)
                assert share >= 0.70, share
                ticker = seen["ticker"]
                assert ticker["y"] + ticker["h"] <= height  # the ticker on the screen
                assert seen["value"] >= least_number and seen["clock"] >= least_number
                assert seen["chip"] >= 20 * height / 1080 * 0.95
                assert "EXERCISE" in seen["text"]
                assert len(seen["chips"]) == len(REGISTRY), seen["chips"]  # one per feed
                assert seen["chipRows"] == 1, seen["chips"]  # on one line
                assert frame.evaluate(LEGEND_FITS)  # whole, with no scrolling
                frame.wait_for_function(f"() => ({HEAT_PAINTED})() > 0.001", timeout=15_000)
                assert not blocked
        # the clock ticks; the legend lists only the layers shown
        with offline_page(1920, 1080) as (page, _):
            frame = open_wall(page, f"{url}/wall?tz=Africa/Monrovia&theme=light")
            before = page.evaluate(CLOCK)
            page.wait_for_timeout(2100)
            assert page.evaluate(CLOCK) != before
            sections = frame.evaluate(LEGEND_SECTIONS)
            assert "Incidents" in sections and "Polling stations" in sections
            frame.evaluate(SWITCH_OFF, "Incidents")
            page.wait_for_timeout(300)
            after = frame.evaluate(LEGEND_SECTIONS)
            assert "Incidents" not in after and "Polling stations" in after
            screenshot(page, "wall_1080p_light.png")
            # rotating every 5 s: the next view comes by itself (its map may be replaced
            # as the page opens: the note is what is watched)
            page.goto(f"{url}/wall?window=7d&rotate=5")
            note = page.locator(".pw-note").filter(has_text="View ").first
            note.wait_for(timeout=90_000)
            first = note.inner_text()
            assert first.startswith("View ") and " of " in first
            page.wait_for_function(
                f"""() => [...document.querySelectorAll('.pw-note')].some(
                    n => n.textContent.startsWith('View ') && n.textContent !== {first!r})""",
                timeout=30_000,
            )


def test_the_wall_says_reconnecting_while_its_server_is_down(sample_folder: Path) -> None:
    port = free_port()
    env = {"POLLWATCH_FEEDS": str(sample_folder), "POLLWATCH_TILES": "none"}
    with offline_page(1920, 1080) as (page, _):
        with running_app(env, port=port) as url:
            open_wall(page, f"{url}/?view=wall")
            assert page.evaluate(OFFLINE) is None
        # the server is gone: within seconds, over everything, not a picture that looks live
        page.wait_for_function(f"() => ({OFFLINE})() !== null", timeout=15_000)
        said = page.evaluate(OFFLINE)
        assert said.startswith("RECONNECTING") and "not live" in said
        screenshot(page, "wall_reconnecting.png")
        started = time.monotonic()
        with running_app(env, port=port):
            # back by itself: no reload, no click
            page.wait_for_function(f"() => ({OFFLINE})() === null", timeout=60_000)
            frame = map_frame(page, timeout_ms=60_000)
            frame.wait_for_function(READY, timeout=60_000)
            assert page.locator(".pw-value").count() >= 4
            back = time.monotonic() - started
            print(f"wall back {back:.1f} s after the server was started again")


# What the map holds on to across updates: streamlit-folium's list of feature groups, the
# map's click listeners (Leaflet's collapsed layer control, the wall's, adds one), and
# every listener of the map.
ALL_READY = """() => Object.values(pollwatch.layers).every((layer) => layer.ready)"""
HELD = """() => ({groups: window.feature_group.length,
    clicks: (map._events.click || []).length,
    listeners: Object.values(map._events).reduce((n, l) => n + l.length, 0)})"""


def test_a_wall_lets_go_of_every_picture_it_replaced(tmp_path: Path) -> None:
    """A wall runs for days: across live updates (feeds changing every second) its map
    holds what the current picture needs and nothing of the pictures before it."""
    from test_browser import WATCH_GROUPS

    from browser import live_app

    with live_app(tmp_path / "live", 1, 1) as (url, page):
        frame = open_wall(page, url + "/wall?window=7d")
        frame.evaluate(WATCH_GROUPS)
        frame.wait_for_function(ALL_READY, timeout=30_000)
        first = frame.evaluate(HELD)
        frame.wait_for_function("() => window.swaps >= 5", timeout=90_000)
        # Every layer drawn: one that follows another (the stations at risk) listens to
        # the map only once that one has drawn.
        frame.wait_for_function(ALL_READY, timeout=30_000)
        after = frame.evaluate(HELD)
    assert after == first, (first, after)
