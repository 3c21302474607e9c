"""The operations page as a person sees it: Debian's Chromium, no internet, real clicks."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from browser import live_app, map_frame, offline_page, running_app, screenshot

pytestmark = pytest.mark.browser

LAYER_STATS = """() => Object.fromEntries(
    Object.entries(pollwatch.layers).map(([name, layer]) => [name, layer.stats()]))"""
READY = """() => typeof pollwatch !== 'undefined' && pollwatch.layers.stations
    && pollwatch.layers.stations.ready && (pollwatch.hidden.Incidents
    || (pollwatch.layers.incidents && pollwatch.layers.incidents.ready))"""
PAYLOAD = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> {{ 7*7 }}'


TOWNS_NAMED = "() => document.querySelectorAll('.pollwatch-town').length > 0"
TOWN_NAMES = "() => [...document.querySelectorAll('.pollwatch-town')].map(e => e.textContent)"
LABELS_OVERLAP = """() => {
    const boxes = [...document.querySelectorAll('.pollwatch-town span')]
        .map(e => e.getBoundingClientRect());
    return boxes.some((a, i) => boxes.some((b, j) => j > i && a.left < b.right
        && b.left < a.right && a.top < b.bottom && b.top < a.bottom));
}"""
# The share of the offline basemap's canvas painted as land (its fill colour).
BASE_PAINTED = """() => {
    const c = document.querySelector('.leaflet-pollwatchBase-pane canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let land = 0;
    for (let i = 0; i < d.length; i += 4) {
        if (d[i] === 0xf2 && d[i + 1] === 0xef && d[i + 2] === 0xe6) { land++; }
    }
    return land / (d.length / 4);
}"""


def kpi(page, label: str) -> int:  # type: ignore[no-untyped-def]
    """The number a KPI tile shows (before any '(..%)')."""
    tile = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    value = tile.locator('[data-testid="stMetricValue"]').inner_text()
    return int(value.split(" ")[0].replace(",", ""))


def wait_stations(frame, expected: int) -> dict:  # type: ignore[no-untyped-def]
    frame.wait_for_function(READY, timeout=60_000)
    frame.wait_for_function(
        f"() => pollwatch.layers.stations.ready && pollwatch.layers.stations.stats().kept === "
        f"{expected}",
        timeout=30_000,
    )
    return frame.evaluate(LAYER_STATS)


def test_map_draws_every_layer_offline(sample_folder: Path) -> None:
    stations = pd.read_csv(sample_folder / "polling_stations.csv")
    with (
        running_app({"POLLWATCH_FEEDS": str(sample_folder)}) as url,
        offline_page(cache=True) as (page, blocked),
    ):
        page.goto(url)
        frame = map_frame(page)
        stats = wait_stations(frame, len(stations))
        # Every station is on the map, as points or inside the clusters drawn in view.
        assert stats["stations"]["represented"] == len(stations)
        assert stats["stations"]["clustered"] and stats["stations"]["clusters"] > 0
        assert stats["incidents"]["kept"] == kpi(page, "Incidents") > 0
        assert stats["patrols"]["points"] == 60
        overlays = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        assert [o.strip() for o in overlays] == [
            "Areas",
            "Staff trained (by area)",  # the logistics layers: off until switched on
            "Patrol coverage",
            "Storage sites",
            "Convoy routes",
            "Polling stations",
            "Deliveries (by station)",
            "Incidents",
            "Convoys (latest position)",
            "Stations at risk",
            "Incident heat",  # off on a desk: the wall's
        ]
        heat_box = (
            frame.locator(".leaflet-control-layers-overlays label")
            .filter(has_text="Incident heat")
            .locator("input")
        )
        heat_drawn = "() => !!document.querySelector('canvas.leaflet-heatmap-layer')"
        frame.wait_for_function(f"() => !({heat_drawn})()", timeout=10_000)
        assert not heat_box.is_checked()
        heat_box.check()  # on when the user wants it
        frame.wait_for_function(heat_drawn, timeout=10_000)
        heat_box.uncheck()
        assert frame.locator(".pollwatch-legend summary").inner_text() == "Legend"
        # Stations at risk: rings over the stations' own points, as many as the list says.
        frame.wait_for_function("() => pollwatch.layers.at_risk && pollwatch.layers.at_risk.ready")
        label = page.get_by_text("Stations at risk:").first.inner_text()
        at_risk = int(label.split(":")[1].split("(")[0].strip().replace(",", ""))
        assert 0 < at_risk == frame.evaluate("() => pollwatch.layers.at_risk.stats().kept")
        page.get_by_text("SYNTHETIC EXERCISE DATA").wait_for()
        # Nothing was wanted from outside: Leaflet, the data and the basemap came from the app.
        assert blocked == [], blocked[:5]
        # The datasets drawn first were fetched as the frame opened, before Leaflet, and
        # once: the layers took what prefetch.js got.
        fetched = frame.evaluate(
            "() => performance.getEntriesByType('resource').map(r => [r.name, r.startTime])"
        )
        data = [(n, t) for n, t in fetched if "/pollwatch/data/" in n and "basemap" not in n]
        leaflet = next(t for n, t in fetched if n.split("?")[0].endswith("/leaflet.js"))
        main = [n for n, _ in data if "polling_stations-main" in n]
        assert len(main) == 1, main
        assert all(t <= leaflet for n, t in data if "-main-" in n), (data, leaflet)
        # A layer off at first is fetched when switched on, not with the first drawing.
        off_at_first = [n for n, _ in data if "deliveries-" in n or "storage_sites-" in n]
        assert not off_at_first, off_at_first
        for overlay, layer, outlines in (
            ("Deliveries (by station)", "deliveries", None),
            ("Storage sites", "storage_sites", "storage_outlines"),
        ):
            frame.locator(".leaflet-control-layers-overlays label").filter(
                has_text=overlay
            ).locator("input").check()
            frame.wait_for_function(
                f"() => pollwatch.layers.{layer} && pollwatch.layers.{layer}.ready && "
                + (f"pollwatch.drawnFeatures.{outlines} > 0" if outlines else "true")
            )
            stats = frame.evaluate(f"() => pollwatch.layers.{layer}.stats()")
            assert stats["represented"] > 0 and not stats.get("error"), (layer, stats)
        # The offline basemap: land drawn under the layers, towns named by size.
        frame.wait_for_function(TOWNS_NAMED, timeout=30_000)
        towns = frame.evaluate(TOWN_NAMES)
        assert "Monrovia" in towns and len(towns) < 100, towns  # national zoom: the larger
        assert frame.evaluate(BASE_PAINTED) > 0.3  # a third of the map is land, not blank
        shot = screenshot(page, "operations_offline.png")
        assert shot.stat().st_size > 20_000
        # At district zoom more towns are named, none over another.
        frame.evaluate("() => { map.setView([6.35, -10.6], 10); }")
        frame.wait_for_function(f"() => ({TOWN_NAMES})().length > {len(towns)}", timeout=10_000)
        assert not frame.evaluate(LABELS_OVERLAP)
        screenshot(page, "operations_offline_district.png")
        frame.evaluate(f"() => {{ map.setView([{(4.3 + 8.6) / 2}, {(-11.5 - 7.3) / 2}], 7); }}")
        # Stations at risk: picking one lists every incident near it, nearest first.
        page.get_by_text(
            "Select a station to list every incident near it"
        ).scroll_into_view_if_needed()
        grid = (
            page.locator('[data-testid="stExpander"]')
            .filter(has_text="Stations at risk")
            .locator('[data-testid="stDataFrame"]')
            .first
        )
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 18, box["y"] + 36 + 17)
        page.get_by_text("Incidents near ").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        screenshot(page, "stations_at_risk.png")
        listed = (
            page.locator('[data-testid="stExpander"]')
            .filter(has_text="Stations at risk")
            .locator('[data-testid="stDataFrame"]')
        )
        assert listed.count() == 2
        # Opened again (a wall reloading): the map's scripts come from the browser's own
        # cache, none asked of the server again (transferSize 0; a 304 would count).
        page.reload()
        frame = map_frame(page)
        frame.wait_for_function(READY, timeout=60_000)
        scripts = frame.evaluate(
            """() => performance.getEntriesByType('resource')
                .filter(r => r.name.includes('/pollwatch/static/'))
                .filter(r => !r.name.includes('/prefetch.js'))  // its query names the data
                .map(r => [r.name, r.transferSize])"""
        )
        assert len(scripts) == 5, scripts  # Leaflet and its CSS, Supercluster, heat, ours
        assert all(size == 0 for _, size in scripts), scripts
        bundle = frame.evaluate(  # streamlit-folium's own script, named by its content
            r"""() => performance.getEntriesByType('resource')
                .filter(r => /\/static\/js\/main\.[0-9a-f]{8}\.js$/.test(r.name))
                .map(r => [r.name, r.transferSize])"""
        )
        assert len(bundle) == 1 and bundle[0][1] == 0, bundle
        assert blocked == [], blocked[:5]


def test_filter_change_keeps_the_map_and_the_view(sample_folder: Path) -> None:
    stations = pd.read_csv(sample_folder / "polling_stations.csv")
    with (
        running_app({"POLLWATCH_FEEDS": str(sample_folder), "POLLWATCH_TILES": "none"}) as url,
        offline_page() as (page, blocked),
    ):
        page.goto(url)
        frame = map_frame(page)
        wait_stations(frame, len(stations))
        assert not blocked  # 'No basemap' asks nobody for tiles
        # Mark this map and move it as a user would; a re-created map would lose both.
        frame.evaluate("() => { window.sameMap = 'yes'; map.setView([7.0, -9.6], 9); }")
        iframe = page.locator('iframe[title="streamlit_folium.st_folium"]')
        iframe.evaluate("el => el.dataset.sameElement = 'yes'")
        incidents_box = (
            frame.locator(".leaflet-control-layers-overlays label")
            .filter(has_text="Incidents")
            .locator("input")
        )
        incidents_box.uncheck()  # the user hides a layer: it must stay hidden
        # (a rerun the server pushes meanwhile re-creates the layer control, and the
        # layer the user hid goes again a moment later)
        frame.wait_for_function("() => pollwatch.layers.incidents === undefined", timeout=10_000)

        page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
        page.keyboard.type("Nimba")  # the list shows a few options at a time; typing narrows it
        page.locator('[role="option"]').filter(has_text=re.compile(r"^\s*Nimba\s*$")).click()
        page.keyboard.press("Escape")
        expected = int((stations["admin1"] == "Nimba").sum())
        page.wait_for_function(
            f"""() => [...document.querySelectorAll('[data-testid="stMetric"]')].some(
                m => m.innerText.includes('Polling stations') && m.innerText.includes('{expected}'))""",
            timeout=30_000,
        )
        stats = wait_stations(frame, expected)
        assert kpi(page, "Polling stations") == expected
        assert stats["stations"]["kept"] == expected
        assert "area=Nimba" in page.url  # the view is a link
        assert iframe.evaluate("el => el.dataset.sameElement") == "yes"
        assert frame.evaluate("() => window.sameMap") == "yes"
        view = frame.evaluate("() => [map.getCenter().lat, map.getCenter().lng, map.getZoom()]")
        assert view == pytest.approx([7.0, -9.6, 9], abs=1e-6)
        frame.wait_for_timeout(300)
        assert not incidents_box.is_checked()
        frame.wait_for_function("() => pollwatch.layers.incidents === undefined", timeout=10_000)
        screenshot(page, "operations_filtered.png")
        # A click on a bar of the incidents-over-time chart sets its incident type
        incidents_before = kpi(page, "Incidents")
        bar = page.locator('[data-testid="stPlotlyChart"]').first.locator(".bars .point path")
        bar.last.scroll_into_view_if_needed()
        bar.last.click(force=True)
        page.wait_for_url(re.compile(r"[?&]type="), timeout=30_000)
        picked = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["type"]
        assert len(picked) == 1
        page.wait_for_function(
            """([label, value]) => [...document.querySelectorAll(
                '[data-testid="stSidebar"] [data-testid="stMultiSelect"]')].some(
                m => m.innerText.includes(label) && m.innerText.includes(value))""",
            arg=["Incident type", picked[0]],
            timeout=30_000,
        )
        assert "area=Nimba" in page.url  # the other filters stay
        assert kpi(page, "Incidents") <= incidents_before
        assert frame.evaluate("() => window.sameMap") == "yes"


# ------------------------------------------------------------------------------ XSS


def hostile_folder(source: Path, target: Path, rows: int = 30) -> dict[str, int]:
    """The sample cut to a few rows per feed, with PAYLOAD in every text field."""
    from test_hostile_text import hostile_feeds

    return hostile_feeds(source, target, rows, [PAYLOAD], ("text",), extras=False)


OPEN_EVERYTHING = """() => {
    const opened = {popups: 0, tooltips: 0, texts: []};
    const seen = new Set();
    function visit(layer) {
        if (seen.has(layer)) return;
        seen.add(layer);
        if (layer.getLayers) layer.getLayers().forEach(visit);
        if (layer.getPopup && layer.getPopup()) {
            layer.openPopup(layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter());
            const el = document.querySelector('.leaflet-popup-content');
            opened.popups++;
            opened.texts.push(el.textContent);
            if (el.querySelector('img, script')) opened.html = (opened.html || 0) + 1;
            layer.closePopup();
        }
        if (layer.getTooltip && layer.getTooltip()) {
            layer.openTooltip(layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter());
            const tips = document.querySelectorAll('.leaflet-tooltip');
            const el = tips[tips.length - 1];
            opened.tooltips++;
            opened.texts.push(el.textContent);
            if (el.querySelector('img, script')) opened.html = (opened.html || 0) + 1;
            layer.closeTooltip();
        }
    }
    map.eachLayer(visit);
    opened.pwned = window.pwned;
    opened.elements = document.querySelectorAll('img[src="x"]').length + [...document.scripts]
        .filter(s => s.text.includes('window.pwned=2') && !s.text.includes('\\u003c')).length;
    return opened;
}"""


def test_feed_text_shows_as_text_in_every_popup_and_tooltip(
    tmp_path: Path, sample_folder: Path
) -> None:
    written = hostile_folder(sample_folder, tmp_path)
    with (
        running_app({"POLLWATCH_FEEDS": str(tmp_path), "POLLWATCH_TILES": "none"}) as url,
        offline_page() as (page, _),
    ):
        page.goto(url + "/?window=7d")
        frame = map_frame(page)
        frame.wait_for_function(READY, timeout=60_000)
        frame.wait_for_function(
            "() => pollwatch.layers.stations.data.details"
            " && pollwatch.layers.incidents.data.details"
            " && pollwatch.drawnFeatures.convoy_routes !== undefined"
            " && pollwatch.drawnFeatures.convoys !== undefined"
        )
        stats = frame.evaluate(LAYER_STATS)
        assert stats["stations"]["points"] == written["polling_stations"]
        assert stats["incidents"]["points"] > 0
        routes = frame.evaluate("() => pollwatch.drawnFeatures.convoy_routes")
        assert routes == written["convoy_routes"]  # fetched from their file, every one drawn
        convoys = frame.evaluate("() => pollwatch.drawnFeatures.convoys")
        assert convoys == written["convoys"] > 0  # the latest position of each, from its file
        opened = frame.evaluate(OPEN_EVERYTHING)
        drawn = sum(s["points"] for s in stats.values())
        # Every marker has a tooltip; areas and routes add theirs.
        assert opened["tooltips"] >= drawn + written["areas"] + routes
        assert opened["popups"] >= stats["stations"]["points"] + stats["incidents"]["points"]
        assert opened.get("html", 0) == 0 and opened["elements"] == 0
        assert opened["pwned"] is None
        shown = [t for t in opened["texts"] if "<img src=x" in t]
        assert len(shown) >= opened["tooltips"] // 2  # the payload is there, as text
        assert all("{{ 7*7 }}" in t for t in shown)  # and never run as a template
        # The page around the map too: sidebar choices, charts and tables carry the text.
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.pwned") is None
        assert page.locator('img[src="x"]').count() == 0
        sidebar = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
        sidebar.click()
        option = page.locator('[role="option"]').filter(has_text="<img src=x").first
        assert option.inner_text().strip().startswith("<img src=x")
        page.keyboard.press("Escape")
        assert page.evaluate("() => window.pwned") is None
        frame.evaluate("""() => { const m = pollwatch.layers.stations.getLayers()[0];
                                   map.setView(m.getLatLng(), 10); m.openPopup(); }""")
        assert "<img src=x" in frame.locator(".leaflet-popup-content").inner_text()
        screenshot(page, "xss_text_only.png")


def test_coverage_page_draws_and_a_table_row_centres_the_map(sample_folder: Path) -> None:
    stations = pd.read_csv(sample_folder / "polling_stations.csv")
    with (
        running_app({"POLLWATCH_FEEDS": str(sample_folder), "POLLWATCH_TILES": "none"}) as url,
        offline_page(height=1400) as (page, blocked),
    ):
        page.goto(url + "/coverage")
        frame = map_frame(page)
        frame.wait_for_function(
            """() => typeof pollwatch !== 'undefined'
            && pollwatch.layers.coverage_stations && pollwatch.layers.coverage_stations.ready
            && pollwatch.layers.suggestions && pollwatch.layers.suggestions.ready""",
            timeout=60_000,
        )
        stats = frame.evaluate(LAYER_STATS)
        assert stats["coverage_stations"]["represented"] == len(stations)
        assert stats["suggestions"]["points"] == 5
        legend = frame.locator(".pollwatch-legend").inner_text()
        assert "partly covered" in legend and "suggested base" in legend
        iframe = page.locator('iframe[title="streamlit_folium.st_folium"]')
        iframe.evaluate("el => el.dataset.sameElement = 'yes'")
        zoom_before = frame.evaluate("() => map.getZoom()")
        # Select the first row of the ranked table (the grid is drawn on a canvas).
        grid = page.locator('[data-testid="stDataFrame"]').first
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 18, box["y"] + 36 + 17)
        frame.wait_for_function("() => map.getZoom() === 13", timeout=30_000)
        assert zoom_before != 13
        first = page.locator('[data-testid="stDataFrame"]').first
        assert first.is_visible()
        assert iframe.evaluate("el => el.dataset.sameElement") == "yes"
        assert not blocked
        screenshot(page, "coverage.png")
        # A proposed base by clicking the map: the figures move, the map stays.
        before = kpi(page, "Stations uncovered")
        page.get_by_text("Clicking the map adds a proposed base").click()
        frame = map_frame(page)
        frame.wait_for_function("() => typeof map !== 'undefined'")
        # The map is centred on the first uncovered station (the row picked above).
        container = frame.locator(".leaflet-container")
        size = container.bounding_box()
        assert size is not None
        page.wait_for_timeout(1000)  # the toggle reruns the page
        container.click(position={"x": size["width"] / 2 + 40, "y": size["height"] / 2})
        page.get_by_text("Remove 1 clicked proposed base(s)").wait_for(timeout=30_000)
        page.wait_for_function(
            f"""() => {{ const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
                .find(e => e.innerText.includes('Stations uncovered'));
                return m && !m.innerText.includes('{before:,}'); }}""",
            timeout=30_000,
        )
        assert kpi(page, "Stations uncovered") < before
        assert iframe.evaluate("el => el.dataset.sameElement") == "yes"
        frame.wait_for_function("() => pollwatch.layers.patrols.stats().rows === 61")
        assert frame.evaluate("() => map.getZoom()") == 13  # the view stays on the new base
        # The what-if sent only the stations' new states: the map draws them as the KPI says
        # (uncovered: red triangles and, partly covered, amber squares).
        uncovered_now = kpi(page, "Stations uncovered")
        frame.wait_for_function(
            f"""() => {{ const l = pollwatch.layers.coverage_stations;
                return l && l.ready
                    && l.data.s.filter(v => v === 1 || v === 2).length === {uncovered_now}; }}""",
            timeout=30_000,
        )
        # A station's popup holds its fixed fields and this run's figures.
        frame.wait_for_function(
            "() => pollwatch.layers.coverage_stations.data.details !== null"
            " && pollwatch.layers.coverage_stations.data.details !== undefined",
            timeout=30_000,
        )
        popup = frame.evaluate(
            """() => { const l = pollwatch.layers.coverage_stations;
                const i = l.data.s.indexOf(2);
                const m = l.point(i); m.addTo(map); m.openPopup();
                return document.querySelector('.leaflet-popup-content').innerText; }"""
        )
        assert "uncovered" in popup and "Registered voters" in popup and "Nearest patrol" in popup
        frame.evaluate("() => { map.closePopup(); }")
        screenshot(page, "coverage_proposed_base.png")


def test_live_feeds_reach_the_map_without_recreating_it(tmp_path: Path) -> None:
    import time

    live = tmp_path / "live"
    with live_app(live, 2, 3) as (url, page):
        page.goto(url)
        frame = map_frame(page)
        frame.wait_for_function(READY, timeout=60_000)
        frame.evaluate("() => { window.sameMap = 'yes'; map.setView([6.9, -9.9], 8); }")
        iframe = page.locator('iframe[title="streamlit_folium.st_folium"]')
        iframe.evaluate("el => el.dataset.sameElement = 'yes'")
        rows = frame.evaluate("() => pollwatch.layers.incidents.stats().rows")
        t0 = time.monotonic()
        frame.wait_for_function(
            f"() => pollwatch.layers.incidents && pollwatch.layers.incidents.ready"
            f" && pollwatch.layers.incidents.stats().rows > {rows}",
            timeout=30_000,
        )
        waited = time.monotonic() - t0
        assert waited <= 3 + 5, waited  # one refresh interval plus 5 s
        assert iframe.evaluate("el => el.dataset.sameElement") == "yes"
        assert frame.evaluate("() => window.sameMap") == "yes"
        view = frame.evaluate("() => [map.getCenter().lat, map.getCenter().lng, map.getZoom()]")
        assert view == pytest.approx([6.9, -9.9, 8], abs=1e-6)
        # New rows come as a chunk the browser joins to those it has: the joined rows
        # are the feed's, each once.
        frame.wait_for_function("() => pollwatch.layers.incidents.data.details", timeout=10_000)
        drawn = frame.evaluate(
            """() => { const d = pollwatch.layers.incidents.data, v = pollwatch.value;
                return [...Array(d.n).keys()].map(i => [v(d, 'id', i), v(d, 'type', i)]); }"""
        )
        feed = pd.read_csv(live / "incidents.csv", dtype=str).set_index("id")["type"]
        assert len({i for i, _ in drawn}) == len(drawn) > rows
        assert all(feed[i] == kind for i, kind in drawn[-10:])
        # The stations at risk on the map follow the list (a change laid over them).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            label = page.get_by_text("Stations at risk:").first.inner_text()
            listed = int(label.split(":")[1].split("(")[0].strip().replace(",", ""))
            marked = frame.evaluate("() => pollwatch.layers.at_risk.stats().kept")
            if listed == marked:
                break
            time.sleep(0.5)
        assert listed == marked > 0
        # The watcher reports each look at the feeds.
        checked = page.get_by_text("Live: feeds checked every 3 s").inner_text()
        page.wait_for_function(
            f"""() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
                .some(e => e.innerText.startsWith('Live:') && e.innerText !== {checked!r})""",
            timeout=10_000,
        )
        screenshot(page, "live_refresh.png")


# Every 50 ms: the feature groups streamlit-folium has added (kept weakly, so the watch
# holds none of them) and the number of reruns that swapped them.
WATCH_GROUPS = """() => {
    window.everGroups = new WeakSet();
    window.swaps = 0;
    let last = window.__GLOBAL_DATA__.last_feature_group;
    setInterval(() => {
        (window.feature_group || []).forEach(g => window.everGroups.add(g));
        if (window.__GLOBAL_DATA__.last_feature_group !== last) {
            last = window.__GLOBAL_DATA__.last_feature_group;
            window.swaps++;
        }
    }, 50);
}"""
# Groups streamlit-folium added that are on the map but that it would not remove on the
# next rerun (a duplicate drawing), and groups it holds that are neither on the map nor
# in the layer control (kept for nothing: memory that grows with every update).
GROUPS = """() => {
    const held = window.feature_group || [];
    const listed = new Set(window.layer_control._layers.map(item => item.layer));
    const stray = [];
    map.eachLayer(l => { if (window.everGroups.has(l) && !held.includes(l)) stray.push(l); });
    return {held: held.length, stray: stray.length,
            idle: held.filter(g => !map.hasLayer(g) && !listed.has(g)).length};
}"""


def test_live_updates_let_the_old_pictures_go(tmp_path: Path) -> None:
    """streamlit-folium keeps every feature group it ever added (4 MB a change on a
    wall). After updates, it holds only the groups shown or listed in the layer control,
    and an overlay switched off and on again across updates is drawn once."""
    # feeds that change every second, faster than a page runs: the map still draws
    with live_app(tmp_path / "live", 1, 1) as (url, page):
        page.goto(url)
        frame = map_frame(page)
        frame.wait_for_function(READY, timeout=60_000)
        frame.evaluate(WATCH_GROUPS)
        first = frame.evaluate(GROUPS)
        incidents_box = (
            frame.locator(".leaflet-control-layers-overlays label")
            .filter(has_text="Incidents")
            .locator("input")
        )
        incidents_box.uncheck()
        frame.wait_for_function("() => window.swaps >= 3", timeout=60_000)
        hidden = frame.evaluate(GROUPS)
        incidents_box.check()
        frame.wait_for_function("() => window.swaps >= 6", timeout=60_000)
        frame.wait_for_function(READY, timeout=30_000)
        shown = frame.evaluate(GROUPS)
        names = frame.evaluate(
            """() => window.layer_control._layers.filter(i => map.hasLayer(i.layer))
                .map(i => i.name)"""
        )
    for state in (first, hidden, shown):
        assert state["stray"] == 0 and state["idle"] == 0, (first, hidden, shown)
        assert state["held"] == first["held"], (first, hidden, shown)
    assert names.count("Incidents") == 1
