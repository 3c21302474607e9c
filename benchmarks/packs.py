"""Time to make a briefing pack, as a user makes it, at sample and national scale.

    python benchmarks/packs.py [--folder DIR] [--repeat 3]

Starts the dashboard on the sample scenario, then on the national set (180,000 stations;
``--folder``, generated when absent), opens the operations page in headless Chromium
(network blocked) and clicks "Make the briefing pack" ``--repeat`` times. Printed: the
median time from the click to "Briefing pack ready" in the browser, and the server's
own account of each pack (its log): the map and charts drawn side by side, then the rest
(comparison, layout).
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from timing import line, national_arguments, national_folder  # noqa: E402

from browser import map_frame, offline_page, running_app  # noqa: E402

MADE = re.compile(r"pack of (\d+) bytes made in ([0-9.]+) s: map and charts ([0-9.]+) s")


def packs(folder: Path, repeat: int, label: str) -> None:
    log = Path(tempfile.mkdtemp(prefix="pollwatch-packs-")) / "server.log"
    env = {"POLLWATCH_FEEDS": str(folder), "POLLWATCH_TILES": "none", "POLLWATCH_LOG": "info"}
    clicks = []
    with running_app(env, 300, log) as url, offline_page(1400, 1000) as (page, blocked):
        page.goto(url + "/?window=7d", timeout=300_000)
        map_frame(page, 300_000)
        page.get_by_text("Briefing pack and map image").click()
        for _ in range(repeat):
            ready = page.get_by_text("Briefing pack ready")
            t0 = time.monotonic()
            page.get_by_role("button", name="Make the briefing pack (PDF)").click()
            ready.wait_for(state="detached", timeout=30_000)  # the last one's status goes
            ready.wait_for(timeout=300_000)
            clicks.append(time.monotonic() - t0)
        assert not blocked, blocked
    made = [m.groups() for m in map(MADE.search, log.read_text().splitlines()) if m]
    line(f"{label}: click -> pack ready, median of {repeat}", f"{statistics.median(clicks):.1f} s")
    line(
        f"{label}: server, whole / map and charts (median)",
        f"{statistics.median(float(m[1]) for m in made):.1f} s / "
        f"{statistics.median(float(m[2]) for m in made):.1f} s",
    )
    line(f"{label}: pack size", f"{int(made[-1][0]) / 2**20:.1f} MB")


def main() -> None:
    parser = national_arguments(__doc__, repeat=3)
    args = parser.parse_args()
    packs(ROOT / "data" / "sample", args.repeat, "sample (4,500 stations)")
    packs(national_folder(args.folder), args.repeat, "national (180,000 stations)")


if __name__ == "__main__":
    main()
