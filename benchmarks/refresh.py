"""Server time of a refresh of the operations page at national scale.

    python benchmarks/refresh.py [--folder DIR] [--repeat N]

Every refresh interval a small fragment looks at the feed files (dashboard.common.
watch_feeds); the page reruns only when a feed changed (or its freshness, or the minute).
Printed: that look when nothing changed (in-process: what the fragment does), then
whole-page reruns with AppTest: nothing changed within the minute; the first rerun of a
new minute (ages, windows and shifts move: ``--minute-ticks`` of them, each waited for);
and only the incidents (then only the convoy positions) file rewritten with a row added,
atomically. Then the same for the coverage page (nothing changed; incidents changed).
Medians of ``--repeat``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import line, national_arguments, national_folder, timed  # noqa: E402

from layers.analysis.freshness import picture_key  # noqa: E402
from layers.core.settings import Settings  # noqa: E402
from layers.io.files import write_atomic  # noqa: E402
from layers.scene import SceneLoader  # noqa: E402


def main() -> None:
    parser = national_arguments(__doc__, repeat=5)
    parser.add_argument("--minute-ticks", type=int, default=1, help="new minutes to wait for")
    args = parser.parse_args()
    folder = national_folder(args.folder)
    from streamlit.testing.v1 import AppTest

    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder)})
    loader = SceneLoader(settings)
    shown = picture_key(loader.load(), settings)
    looks = []
    for _ in range(max(args.repeat, 20)):
        t0 = time.perf_counter()
        changed = picture_key(loader.load(), settings) != shown
        looks.append(time.perf_counter() - t0)
    line(
        "refresh, no feed changed: the watcher's look (stat, key)",
        f"{statistics.median(looks) * 1000:.1f} ms (page rerun: {changed})",
    )

    os.environ["POLLWATCH_FEEDS"] = str(folder)
    at = AppTest.from_file(str(ROOT / "dashboard" / "operations.py"), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    assert not at.exception, at.exception
    line("first run, cold caches", f"{time.perf_counter() - t0:.2f} s")
    at.run()  # warm

    median, _ = timed(at.run, args.repeat)
    line("whole page rerun, nothing changed, same minute", f"{median:.2f} s")

    ticks = []
    for _ in range(args.minute_ticks):
        time.sleep(60.5 - time.time() % 60)  # just past the next minute
        t0 = time.perf_counter()
        at.run()
        ticks.append(time.perf_counter() - t0)
    if ticks:
        line(
            "whole page rerun, nothing changed, a new minute",
            f"{statistics.median(ticks):.2f} s (of {len(ticks)})",
        )

    for feed in ("incidents", "convoy_positions"):
        changed = rewrite_and_rerun(at, folder / f"{feed}.csv", args.repeat)
        line(
            f"refresh, only {feed} changed: whole page rerun",
            f"{statistics.median(changed):.2f} s (min {min(changed):.2f}, max {max(changed):.2f})",
        )

    # The commission's page refreshes too: incidents near uncovered stations.
    cov = AppTest.from_file(str(ROOT / "dashboard" / "coverage.py"), default_timeout=600)
    cov.run()
    cov.run()  # warm
    assert not cov.exception, cov.exception
    median, _ = timed(cov.run, args.repeat)
    line("coverage page rerun, nothing changed", f"{median:.2f} s")
    changed = rewrite_and_rerun(cov, folder / "incidents.csv", args.repeat)
    line(
        "coverage page refresh, only incidents changed",
        f"{statistics.median(changed):.2f} s (min {min(changed):.2f}, max {max(changed):.2f})",
    )


def rewrite_and_rerun(at: object, path: Path, repeat: int) -> list[float]:
    """Add a row to ``path`` (atomically) before each of ``repeat`` page reruns; seconds."""
    original = path.read_text()
    last = original.splitlines()[-1].split(",")
    times = []
    text = original
    try:
        for i in range(repeat):
            if path.name == "incidents.csv":
                last[0] = f"BENCH-{time.time_ns()}-{i}"  # a new incident id
            text = text + ",".join(last) + "\n"
            write_atomic(path, text)
            t0 = time.perf_counter()
            at.run()  # type: ignore[attr-defined]
            times.append(time.perf_counter() - t0)
            assert not at.exception, at.exception  # type: ignore[attr-defined]
    finally:
        write_atomic(path, original)  # the folder as it was
        at.run()  # type: ignore[attr-defined]  # read whole again, untimed
    return times


if __name__ == "__main__":
    main()
