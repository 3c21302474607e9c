"""Many wall screens on one server while the feeds change.

    python benchmarks/screens.py [--sessions 25] [--minutes 10] [--every 10] [--refresh 10]

Starts the dashboard on a live exercise (the simulator's sample scenario, stepped here:
new incidents and convoy pings every ``--every`` seconds), opens ``--sessions`` pages of
the operations view in one headless Chromium (network blocked), and leaves them alone.

Printed: the server's CPU (share of one core) and memory (RSS) over the run; errors
(exceptions on a page, tracebacks in the server log, failed requests); for each feed
change, the time from the file change until every session showed a picture taken after
it (p50 / p95 over changes, and per session); the sessions that ended on an old picture;
the sessions whose filters (address bar) changed without anybody touching them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from timing import line  # noqa: E402

from browser import offline_page, running_app  # noqa: E402
from layers.exercise.simulator import Simulator  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")

# In each page: every 250 ms, the caption's "picture of HH:MM:SS" (when the shown picture
# was taken) and the address bar, each change with the wall-clock time it was seen.
WATCH = """() => {
    window.seen = [];
    window.urls = [location.search];
    let last = null;
    setInterval(() => {
        const caption = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
            .map(e => e.innerText).find(t => t.startsWith('Live:'));
        const m = caption && caption.match(/picture of (\\d\\d:\\d\\d:\\d\\d)/);
        if (m && m[1] !== last) { last = m[1]; window.seen.push([Date.now() / 1000, m[1]]); }
        if (location.search !== window.urls[window.urls.length - 1]) {
            window.urls.push(location.search);
        }
    }, 250);
}"""


def server_pid(port: int) -> int:
    """The pid of the process listening on ``port`` (from /proc/net/tcp)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "0A":
                inode = cols[9]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return int(pid)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on {port}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=25)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between changes")
    parser.add_argument("--refresh", type=float, default=10.0, help="POLLWATCH_REFRESH_S")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pollwatch-screens-"))
    sim = Simulator(folder)
    env = {
        "POLLWATCH_FEEDS": str(folder),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_REFRESH_S": f"{args.refresh:g}",
    }
    line(
        "sessions, minutes, change every, refresh",
        f"{args.sessions}, {args.minutes:g}, {args.every:g} s, {args.refresh:g} s",
    )
    log = folder / "server.log"
    with running_app(env, 120, log) as url, offline_page() as (first, blocked):
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        context = first.context
        pages = [first, *(context.new_page() for _ in range(args.sessions - 1))]
        t_open = time.monotonic()
        for k, page in enumerate(pages):  # one after another, as screens are switched on
            page.bring_to_front()
            page.goto(url + "/?window=7d", wait_until="commit", timeout=120_000)
            page.wait_for_function(
                """() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
                    .some(e => e.innerText.startsWith('Live:'))""",
                timeout=300_000,
            )
            page.evaluate(WATCH)
            print(f"  session {k + 1} open after {time.monotonic() - t_open:.1f} s", flush=True)
        line("all sessions open", f"{time.monotonic() - t_open:.1f} s")
        rss_open = rss_mb(pid)
        changes: list[float] = []
        samples: list[tuple[float, float, float]] = []  # wall time, cpu s, rss MB
        stop = threading.Event()

        def writer() -> None:
            while not stop.wait(args.every):
                sim.step(incidents=2)
                changes.append((folder / "incidents.csv").stat().st_mtime)

        def sampler() -> None:
            while not stop.wait(1.0):
                samples.append((time.time(), cpu_seconds(pid), rss_mb(pid)))

        threads = [threading.Thread(target=writer), threading.Thread(target=sampler)]
        for t in threads:
            t.start()
        try:
            end = time.monotonic() + args.minutes * 60
            while time.monotonic() < end:
                pages[0].wait_for_timeout(1000)  # keeps Playwright's event loop turning
        finally:
            stop.set()
            for t in threads:
                t.join()
        pages[0].wait_for_timeout(int((args.refresh + 5) * 1000))  # the last change lands
        seen = [page.evaluate("() => window.seen") for page in pages]
        urls = [page.evaluate("() => window.urls") for page in pages]
        errors = sum(page.locator('[data-testid="stException"]').count() for page in pages)
    tracebacks = log.read_text(errors="replace").count("Traceback")

    # Latency: for each change, when each session first showed a picture taken after it.
    day = time.strftime("%Y-%m-%d", time.gmtime())

    def picture_time(hms: str) -> float:
        return time.mktime(time.strptime(f"{day} {hms}", "%Y-%m-%d %H:%M:%S")) - time.timezone

    per_change: list[float] = []
    per_session: list[list[float]] = []
    missed = 0
    for rows in seen:
        mine = []
        for changed in changes[:-1]:
            shown = next((t for t, hms in rows if picture_time(hms) >= int(changed)), None)
            if shown is None:
                missed += 1
            else:
                mine.append(shown - changed)
        per_session.append(mine)
    for k in range(len(changes) - 1):
        waits = [s[k] for s in per_session if len(s) > k]
        if len(waits) == len(per_session):
            per_change.append(max(waits))
    everyone = [w for s in per_session for w in s]
    cpu = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(samples, samples[1:], strict=False)]
    line("feed changes", f"{len(changes)}")
    line(
        "server CPU, share of one core: median / p95 / max",
        f"{statistics.median(cpu):.0%} / {pct(cpu, 0.95):.0%} / {max(cpu):.0%}",
    )
    line(
        "server memory (RSS): sessions open / end / max",
        f"{rss_open:.0f} / {samples[-1][2]:.0f} / {max(s[2] for s in samples):.0f} MB",
    )
    line(
        "errors: page exceptions / server tracebacks / blocked requests",
        f"{errors} / {tracebacks} / {len(blocked)}",
    )
    line(
        "change -> a session shows it: p50 / p95 / max",
        f"{statistics.median(everyone):.1f} / {pct(everyone, 0.95):.1f} / {max(everyone):.1f} s",
    )
    line(
        "change -> every session shows it: p50 / p95",
        f"{statistics.median(per_change):.1f} / {pct(per_change, 0.95):.1f} s",
    )
    line("changes a session never showed", f"{missed}")
    last = int(changes[-1]) if changes else 0
    behind = sum(not rows or picture_time(rows[-1][1]) < last for rows in seen)
    line("sessions ending on a picture older than the last change", f"{behind} of {len(seen)}")
    moved = [u for u in urls if len(u) > 1]
    line("sessions whose filters changed by themselves", f"{len(moved)} {moved[:3]}")


if __name__ == "__main__":
    main()
