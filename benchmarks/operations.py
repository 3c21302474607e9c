"""Figures of the operations page at national scale (180,000 stations, 3,000 bases).

    python benchmarks/operations.py [--folder DIR] [--repeat N] [--no-browser]

Prints: feed load, coverage, map build, bytes sent for the map, server time of a
rerun after a filter change (warm caches), and time until the map is drawn in
headless Chromium (network blocked). Medians of ``--repeat`` runs where repeatable.
Not a test: it measures, it does not judge.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from layers.analysis.filters import Filters, apply, browser_where
from layers.analysis.picture import derive_picture

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from timing import line, national_arguments, national_folder, timed  # noqa: E402

from layers import incidents, polling_stations
from layers.contract import MapView  # noqa: E402
from layers.core.settings import Settings  # noqa: E402
from layers.geo import coverage
from layers.map.basemap import base_map  # noqa: E402
from layers.registry import REGISTRY
from layers.scene import SceneLoader  # noqa: E402


def server_side(folder: Path, repeat: int) -> None:
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder)})
    load_s, scene = timed(lambda: SceneLoader(settings).load(), repeat)
    line("feed load (all feeds, parse + validate)", f"{load_s:.2f} s")
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


def rerun_in_app(folder: Path, repeat: int) -> None:
    from streamlit.testing.v1 import AppTest

    os.environ["POLLWATCH_FEEDS"] = str(folder)
    at = AppTest.from_file(str(ROOT / "dashboard" / "main.py"), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    assert not at.exception, at.exception
    line("first page run, cold caches (AppTest, server side)", f"{time.perf_counter() - t0:.2f} s")
    areas = at.multiselect(key="filter_areas").options
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        at.multiselect(key="filter_areas").set_value([areas[i % len(areas)]]).run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
    line(
        "rerun after a filter change, warm caches (AppTest, server)",
        f"{statistics.median(times):.2f} s (median of {repeat}; max {max(times):.2f} s)",
    )


def browser_side(folder: Path) -> None:
    from browser import map_frame, offline_page, running_app

    ready = (
        "() => window.pollwatch && pollwatch.layers.stations && "
        "pollwatch.layers.stations.ready && pollwatch.layers.stations.drawn.represented > 0"
    )
    with (
        running_app(
            {"POLLWATCH_FEEDS": str(folder), "POLLWATCH_TILES": "none"}, timeout=120
        ) as url,
        offline_page() as (page, _),
    ):
        received: list[int] = []
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived",
                lambda f: received.append(len(f) if isinstance(f, bytes | str) else 0),
            ),
        )
        for label in ("cold server caches", "warm server caches"):
            received.clear()
            t0 = time.perf_counter()
            page.goto(url)
            frame = map_frame(page, timeout_ms=300_000)
            frame.wait_for_function(ready, timeout=300_000, polling=50)
            drawn = time.perf_counter() - t0
            stats = frame.evaluate("() => pollwatch.layers.stations.stats()")
            line(
                f"page open to stations drawn, {label}",
                f"{drawn:.2f} s ({stats['kept']:,} stations; {stats['clusters']} clusters)",
            )
            line("  websocket bytes to the browser for that page", f"{sum(received):,} B")
        # A filter change: pick one area; time until the map shows the new selection.
        page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
        page.keyboard.type("Province 05")
        option = page.locator('[role="option"]').filter(has_text="Province 05").first
        received.clear()
        t0 = time.perf_counter()
        option.click()
        frame.wait_for_function(
            "() => pollwatch.layers.stations && pollwatch.layers.stations.ready && "
            "pollwatch.layers.stations.stats().kept < 100000",
            timeout=120_000,
            polling=50,
        )
        line(
            "filter change: click to stations redrawn (browser)",
            f"{time.perf_counter() - t0:.2f} s",
        )
        page.wait_for_timeout(1000)
        line("  websocket bytes for that rerun", f"{sum(received):,} B")


def main() -> None:
    parser = national_arguments(__doc__, repeat=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    folder = national_folder(args.folder)
    server_side(folder, args.repeat)
    rerun_in_app(folder, args.repeat)
    if not args.no_browser:
        browser_side(folder)


if __name__ == "__main__":
    main()
