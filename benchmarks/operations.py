"""Figures of the operations page at national scale (180,000 stations, 3,000 bases).

    python benchmarks/operations.py [--folder DIR] [--repeat N] [--no-browser]

Prints: feed load, coverage, map build, bytes sent for the map; then per role
(``--roles``, default all three, signed in): server time of a page's first run and of a
rerun after a filter change, and in headless Chromium (network blocked) the time until
the map is drawn (on a server started for that role with nothing kept on disk, then
warm) and from a filter click to the map redrawn. Then, for the operations page: the
same after a server restart (parsed feeds kept on disk), in a new browser and in the
browser that had the page open (a wall PC keeps its cache), and warm; the wall view
(``/wall``, 1920x1080) right after a restart in a browser that never opened it; and the stock
approach a user would pick instead (benchmarks/stock.py: streamlit-folium with folium's
FastMarkerCluster of the same stations), warm, in the same run, with the ratio.

"Drawn" is read off the browser's own clock: from the page's navigation start to the
first station cluster inserted in the map's frame (the same rule for both maps); the
test driver notices later, more so on a busy machine.
Medians of ``--repeat`` runs where repeatable. Not a test: it measures, it does not judge.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from layers.analysis.filters import Filters, apply, browser_where
from layers.analysis.picture import derive_picture

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from timing import line, loaded, national_arguments, national_folder, settled, timed  # noqa: E402

from layers import incidents, polling_stations
from layers.contract import MapView  # noqa: E402
from layers.core.settings import Settings  # noqa: E402
from layers.geo import coverage
from layers.map.basemap import base_map  # noqa: E402
from layers.registry import REGISTRY
from layers.scene import SceneLoader  # noqa: E402


def server_side(folder: Path, repeat: int) -> None:
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder), "POLLWATCH_CACHE": "off"})
    load_s, scene = timed(lambda: loaded(SceneLoader(settings)), repeat)
    line("feed load (all feeds, parse + validate)", f"{load_s:.2f} s")
    kept = Settings.from_env(
        {"POLLWATCH_FEEDS": str(as_sent(folder)), "POLLWATCH_CACHE": str(kept_folder())}
    )
    loaded(SceneLoader(kept))  # parsed, and kept on disk
    time.sleep(5)  # written in threads of their own
    kept_s, _ = timed(lambda: loaded(SceneLoader(kept)), repeat)
    line("feed load after a restart, parsed files kept on disk", f"{kept_s:.2f} s")
    stations, bases = scene["polling_stations"], scene["patrols"]
    line(
        "  rows",
        f"{len(stations):,} stations, {len(bases):,} bases, {len(scene['incidents']):,} incidents",
    )
    cov_s, _ = timed(lambda: coverage.coverage(stations, bases, at=scene.now), repeat)
    line("coverage (exact geodesic, every station x every active base)", f"{cov_s:.2f} s")
    derive_s, derived = timed(lambda: derive_picture(scene), 1)
    line("derive every layer (incl. coverage, areas), once per version", f"{derive_s:.2f} s")

    def datasets() -> list[bytes]:
        return [
            json.dumps(
                polling_stations.dataset(derived["polling_stations"], ("area",)),
                separators=(",", ":"),
            ).encode(),
            json.dumps(
                incidents.dataset(derived["incidents"], ("area",)), separators=(",", ":")
            ).encode(),
        ]

    pub_s, blobs = timed(datasets, repeat)
    line("map datasets built (stations + incidents JSON), once per version", f"{pub_s:.2f} s")
    line(
        "  bytes of the static datasets (fetched once, then cached)",
        f"stations {len(blobs[0]):,} B ({len(blobs[0]) / len(stations):.0f} B/station), "
        f"incidents {len(blobs[1]):,} B",
    )

    def rerun_map() -> int:
        filters = Filters(areas=("Province 03",))
        picture = apply(derived, filters, scene.now)
        # As the page does: every layer drawn through the registry from its published
        # files (fetched once per version by the browser), with the browser's filters.
        sources = {
            name: {part: f"/{name}-{part}.json" for part in layer.PUBLISH.parts}
            for name, layer in REGISTRY.items()
        }
        view = MapView(derived, picture.frames, sources, browser_where(filters, scene.now))
        m = base_map(scene.bounds, "osm")
        for layer in REGISTRY.values():
            layer.draw(view).add_to(m)
        return len(m.get_root().render())

    build_s, size = timed(rerun_map, repeat)
    line("map build per rerun (filter + feature groups rendered)", f"{build_s:.2f} s")
    line("  bytes of the map's page (base map + every feature group)", f"{size:,} B")


ROLES_FILE = '[groups]\n"joc" = "operations"\n"nec-gis" = "commission"\n"eu-eom" = "partner"\n'
PEOPLE = {
    "operations": ("ops@bench.example", "joc"),
    "commission": ("gis@bench.example", "nec-gis"),
    "partner": ("observer@bench.example", "eu-eom"),
}
AUTH = {  # sign-in by OpenID Connect, configured; AppTest gives the user directly
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "benchmark-cookie-secret-0123456789",
    "client_id": "pollwatch",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def roles_file() -> Path:
    path = Path(tempfile.mkdtemp(prefix="pollwatch-roles-")) / "roles.toml"
    path.write_text(ROLES_FILE)
    return path


def change_filter(at: Any, role: str, i: int) -> None:
    """The ``i``-th filter change of a role's page: an area; the partner's incident span."""
    if role == "partner":
        spans = at.radio(key="brief_span").options
        at.radio(key="brief_span").set_value(spans[(i + 1) % len(spans)]).run()
    else:
        areas = at.multiselect(key="filter_areas").options
        at.multiselect(key="filter_areas").set_value([areas[i % len(areas)]]).run()


def rerun_in_app(folder: Path, repeat: int, roles: list[str]) -> None:
    """Per role, signed in: a new session's first run, then reruns after a filter change
    (an area on the operations page; the incident span on the partner's briefing). Caches
    are shared in this process: the first role's first run also loads the feeds."""
    from streamlit.testing.v1 import AppTest

    os.environ["POLLWATCH_FEEDS"] = str(folder)
    os.environ["POLLWATCH_ROLES"] = str(roles_file())
    os.environ["POLLWATCH_CACHE"] = str(kept_folder())  # nothing kept: a first start
    for n, role in enumerate(roles):
        who, group = PEOPLE[role]
        at = AppTest.from_file(str(ROOT / "dashboard" / "main.py"), default_timeout=600)
        at.secrets["auth"] = AUTH
        now = int(time.time())
        at.user = {"is_logged_in": True, "email": who, "groups": [group]}
        at.user.update(iat=now, exp=now + 7200)
        t0 = time.perf_counter()
        settled(at)
        assert not at.exception, at.exception
        first = "cold caches, feeds loaded in it" if n == 0 else "feeds already loaded"
        line(f"{role}: first page run, {first} (AppTest)", f"{time.perf_counter() - t0:.2f} s")
        times = []
        for i in range(repeat):
            t0 = time.perf_counter()
            change_filter(at, role, i)
            times.append(time.perf_counter() - t0)
            assert not at.exception, at.exception
        line(
            f"{role}: rerun after a filter change, warm (AppTest, server)",
            f"{statistics.median(times):.2f} s (median of {repeat}; max {max(times):.2f} s)",
        )


RUN_LINE = re.compile(r"sent the picture of \S+ in ([0-9.]+) s")


def count_frames(sink: list[int], ws: Any) -> None:
    ws.on("framereceived", lambda f: sink.append(len(f) if isinstance(f, bytes | str) else 0))


STATIONS_READY = (
    "() => window.pollwatch && pollwatch.layers.stations && "
    "pollwatch.layers.stations.ready && pollwatch.layers.stations.drawn.represented > 0"
)
AREAS_READY = """() => {
    const map = Object.values(window).find((v) => window.L && v instanceof L.Map);
    let areas = 0;
    if (map) { map.eachLayer((layer) => { if (layer.feature) { areas += 1; } }); }
    return areas > 0;
}"""  # the choropleth's areas drawn (on a canvas: no SVG paths to count)
# In the page: when a map frame first holds a cluster of stations (ours, or
# Leaflet.markercluster's), by the browser's clock. It looks every 10 ms into the frames
# (same origin) rather than observing them: a frame's first document is replaced.
FIRST_CLUSTER = """(() => {
    if (window.top !== window) { return; }
    const look = () => {
        for (const frame of document.querySelectorAll("iframe")) {
            const doc = frame.contentDocument;
            if (doc && doc.querySelector(".pollwatch-cluster-stations, .marker-cluster")) {
                window.__firstCluster = performance.now();
                return;
            }
        }
        setTimeout(look, 10);
    };
    look();
})();"""


def opened_to_drawn(page: Any, timeout_ms: int = 300_000) -> float:
    """Seconds from ``page``'s navigation start to the first cluster in its map frame."""
    page.wait_for_function("() => window.__firstCluster", timeout=timeout_ms, polling=100)
    return float(page.evaluate("() => window.__firstCluster")) / 1000


def kept_folder() -> Path:
    """An empty folder for parsed feeds kept between restarts (POLLWATCH_CACHE)."""
    return Path(tempfile.mkdtemp(prefix="pollwatch-kept-"))


def as_sent(folder: Path) -> Path:
    """``folder``'s feeds as a mission sends them: a generated exercise moves its times to
    the present at each start (so its parsed files never match across restarts); a copy
    keeps them as written."""
    manifest = folder / "scenario.json"
    if not manifest.exists() or not json.loads(manifest.read_text()).get("shift_times_to_now"):
        return folder
    copy = Path(tempfile.mkdtemp(prefix="pollwatch-as-sent-"))
    for path in folder.iterdir():
        if path.is_file():
            shutil.copy2(path, copy / path.name)
    settings = json.loads(manifest.read_text())
    (copy / "scenario.json").write_text(json.dumps({**settings, "shift_times_to_now": False}))
    return copy


def browser_side(folder: Path, roles: list[str]) -> None:
    """Per role, on a server started for it (cold caches), signed in by proxy headers:
    page open to map drawn, cold and warm, then a filter change until redrawn."""
    from browser import map_frame, offline_page, running_app

    env = {
        "POLLWATCH_FEEDS": str(folder),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_ROLES": str(roles_file()),
        "STREAMLIT_SERVER_TRUSTED_USER_HEADERS": json.dumps(
            {"X-Remote-User": "email", "X-Remote-Groups": "groups"}
        ),
    }
    for role in roles:
        who, group = PEOPLE[role]
        ready = AREAS_READY if role == "partner" else STATIONS_READY
        log = Path(tempfile.mkdtemp(prefix="pollwatch-bench-")) / "server.log"
        started = {**env, "POLLWATCH_LOG": "info", "POLLWATCH_CACHE": str(kept_folder())}
        with (
            running_app(started, timeout=120, log_path=log) as url,
            offline_page(cache=True) as (page, _),
        ):
            page.set_extra_http_headers({"X-Remote-User": who, "X-Remote-Groups": group})
            page.add_init_script(FIRST_CLUSTER)
            received: list[int] = []
            page.on("websocket", partial(count_frames, received))
            for label in (
                "server just started, nothing kept on disk",
                "warm server caches",
                "warm server caches",
            ):
                received.clear()
                t0 = time.perf_counter()
                page.goto(url)
                frame = map_frame(page, timeout_ms=300_000)
                frame.wait_for_function(ready, timeout=300_000, polling=50)
                noticed = time.perf_counter() - t0
                if role != "partner":  # the partner's map has areas, no stations
                    line(
                        f"{role}: page open to stations drawn, {label}",
                        f"{opened_to_drawn(page):.2f} s",
                    )
                    line("  the same, as the test driver noticed it", f"{noticed:.2f} s")
                else:
                    line(f"{role}: page open to map drawn, {label} (driver)", f"{noticed:.2f} s")
                line("  websocket bytes to the browser for that page", f"{sum(received):,} B")
            received.clear()
            if role == "partner":
                t0 = time.perf_counter()
                page.get_by_text("last 7 days").first.click()
                page.get_by_text("Incidents, last 7 days").wait_for(timeout=120_000)
                what = "span change: click to figures redrawn (browser)"
            else:
                sidebar = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')
                sidebar.first.click()
                page.keyboard.type("Province 05")
                option = page.locator('[role="option"]').filter(has_text="Province 05").first
                t0 = time.perf_counter()
                option.click()
                frame.wait_for_function(
                    "() => pollwatch.layers.stations && pollwatch.layers.stations.ready && "
                    "pollwatch.layers.stations.stats().kept < 100000",
                    timeout=120_000,
                    polling=50,
                )
                what = "filter change: click to stations redrawn (browser)"
            line(f"{role}: {what}", f"{time.perf_counter() - t0:.2f} s")
            page.wait_for_timeout(1000)
            line("  websocket bytes for that rerun", f"{sum(received):,} B")
            runs = RUN_LINE.findall(log.read_text(errors="replace"))
            line("  the server's page run for it (its log)", f"{float(runs[-1]):.3f} s")


HEADERS = {"X-Remote-User": PEOPLE["operations"][0], "X-Remote-Groups": PEOPLE["operations"][1]}


def restart_side(folder: Path, repeat: int) -> list[float]:
    """The operations page after a server restart, the parsed feeds kept on disk: in a new
    browser, and in the browser that had it open; then warm. Returns the warm times."""
    from browser import free_port, map_frame, offline_page, running_app

    feeds = as_sent(folder)
    if feeds != folder:
        line("  (feeds of a copy whose times stay as written)", str(feeds))
    env = {
        "POLLWATCH_FEEDS": str(feeds),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_ROLES": str(roles_file()),
        "POLLWATCH_CACHE": str(kept_folder()),
        "STREAMLIT_SERVER_TRUSTED_USER_HEADERS": json.dumps(
            {"X-Remote-User": "email", "X-Remote-Groups": "groups"}
        ),
    }
    port = free_port()

    def opened(page: Any, url: str) -> float:
        page.goto(url)
        map_frame(page, timeout_ms=300_000).wait_for_function(
            STATIONS_READY, timeout=300_000, polling=50
        )
        return opened_to_drawn(page)

    def prepared(page: Any) -> Any:
        page.set_extra_http_headers(HEADERS)
        page.add_init_script(FIRST_CLUSTER)
        return page

    with offline_page(cache=True) as (page, _), running_app(env, timeout=120, port=port) as url:
        first = opened(prepared(page), url)
    line("operations: page open to stations drawn, first start (disk empty)", f"{first:.2f} s")
    with offline_page(cache=True) as (page, _):  # a new browser: nothing in its cache
        with running_app(env, timeout=120, port=port) as url:
            again = opened(prepared(page), url)
        line("operations: the same right after a restart, new browser", f"{again:.2f} s")
        same = []
        for _ in range(repeat):  # this browser, as a wall PC, through restarts
            with running_app(env, timeout=120, port=port) as url:
                same.append(opened(page, url))
        line(
            "operations: the same right after a restart, same browser",
            f"{statistics.median(same):.2f} s (median of {repeat} restarts: "
            + ", ".join(f"{t:.2f}" for t in same)
            + ")",
        )
        log = Path(tempfile.mkdtemp(prefix="pollwatch-bench-")) / "server.log"
        with running_app({**env, "POLLWATCH_LOG": "info"}, 120, log, port=port) as url:
            opened(page, url)  # the first open after this start
            # Warm: the warm-up has made every role's picture and the Coverage analysis
            # (it gives way to screens, so it may still run after the first open).
            deadline = time.monotonic() + 120
            while "first pictures made" not in log.read_text(errors="replace"):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            warm = [opened(page, url) for _ in range(repeat)]
            # The Coverage page's first run on this server (the warm-up made its default
            # analysis): the server's own account of the run, from its log.
            page.goto(url + "/coverage")
            page.get_by_text("Not covered all polling hours").first.wait_for(timeout=300_000)
            page.wait_for_timeout(1000)
            runs = re.findall(
                r"coverage sent the picture of \S+ in ([0-9.]+) s", log.read_text(errors="replace")
            )
            if runs:
                line(
                    "coverage: the page's first run on a restarted server",
                    f"{float(runs[0]):.2f} s",
                )
    line(
        "operations: page open to stations drawn, warm (same browser)",
        f"{statistics.median(warm):.2f} s (median of {repeat}; max {max(warm):.2f} s)",
    )
    walls = []
    for _ in range(repeat):  # the wall view on a screen that never opened it, at 1080p
        with (
            offline_page(1920, 1080, cache=True) as (page, _),
            running_app(env, timeout=120, port=port) as url,
        ):
            walls.append(opened(prepared(page), url + "/wall"))
    line(
        "wall: page open to stations drawn right after a restart, new browser",
        f"{statistics.median(walls):.2f} s (median of {repeat} restarts: "
        + ", ".join(f"{t:.2f}" for t in walls)
        + ")",
    )
    return warm


def stock_side(folder: Path, repeat: int, ours: list[float]) -> None:
    """The stock page (benchmarks/stock.py) of the same stations, warm, against ours."""
    from stock import stock_app

    from browser import offline_page, running_app

    page_path = stock_app(folder / "polling_stations.csv")
    with (
        running_app(
            {}, timeout=120, script=page_path, args=("--server.enableStaticServing", "true")
        ) as url,
        offline_page(cache=True) as (page, _),
    ):
        page.add_init_script(FIRST_CLUSTER)
        times = []
        for n in range(repeat + 1):  # the first run reads the file and builds the map
            page.goto(url)
            drawn = opened_to_drawn(page, timeout_ms=900_000)
            if n == 0:
                line(
                    "stock FastMarkerCluster: page open to clusters drawn, first", f"{drawn:.2f} s"
                )
            else:
                times.append(drawn)
        html = page.content()
    stock = statistics.median(times)
    line(
        "stock FastMarkerCluster: page open to clusters drawn, warm",
        f"{stock:.2f} s (median of {repeat}; max {max(times):.2f} s)",
    )
    line("  page bytes in the browser (HTML of the page)", f"{len(html):,} B")
    mine = statistics.median(ours)
    line("ours, warm (above), against the stock page, warm", f"{mine:.2f} s vs {stock:.2f} s")
    line("  ratio stock / ours", f"{stock / mine:.2f}")


def main() -> None:
    parser = national_arguments(__doc__, repeat=3)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument(
        "--roles",
        default=",".join(PEOPLE),
        help="comma-separated roles to measure the pages of (default: all three)",
    )
    args = parser.parse_args()
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = set(roles) - set(PEOPLE)
    if unknown:
        parser.error(f"unknown roles {sorted(unknown)}; use {', '.join(PEOPLE)}")
    folder = national_folder(args.folder)
    server_side(folder, args.repeat)
    rerun_in_app(folder, args.repeat, roles)
    if not args.no_browser:
        browser_side(folder, roles)
        if "operations" in roles:
            warm = restart_side(folder, args.repeat)
            stock_side(folder, args.repeat, warm)


if __name__ == "__main__":
    main()
