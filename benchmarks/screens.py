"""Many wall screens on one server while the feeds change.

    python benchmarks/screens.py [--sessions 25] [--minutes 10] [--every 10] [--refresh 10]
                                 [--view operations|wall]

Starts the dashboard on a live exercise (the simulator's sample scenario, stepped here:
new incidents and convoy pings every ``--every`` seconds), opens ``--sessions`` pages of
the operations view (or the wall view) in one headless Chromium (network blocked), and
leaves them alone.

Printed: the server's CPU (share of one core) and memory (RSS) over the run; errors
(exceptions on a page, tracebacks in the server log, failed requests); for each feed
change, the time from the file change until every session showed a picture taken after
it (p50 / p95 over changes, and per session); the sessions that ended on an old picture;
the sessions whose filters (address bar) changed without anybody touching them.
"""

from __future__ import annotations

import argparse
import calendar
import itertools
import os
import re
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

from browser import map_frame, offline_page, running_app  # noqa: E402
from layers.exercise.simulator import Simulator  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
FRESH_UPDATES = 3  # live updates the page opened at the end goes through before its heap
COUNTED = ("Documents", "Frames", "Nodes", "JSEventListeners", "LayoutObjects")

# When the shown picture was taken (HH:MM:SS UTC): the operations page's caption says
# "picture of HH:MM:SS", the wall keeps it in #pollwatch-picture (what wall.js watches).
PICTURE = """() => {
    const mark = document.getElementById('pollwatch-picture');
    if (mark) { return new Date(mark.dataset.at).toISOString().slice(11, 19); }
    const caption = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .map(e => e.innerText).find(t => t.startsWith('Live:'));
    const m = caption && caption.match(/picture of (\\d\\d:\\d\\d:\\d\\d)/);
    return m ? m[1] : null;
}"""

# In each page: every 250 ms, the picture shown and the address bar, each change with the
# wall-clock time it was seen.
WATCH = """() => {
    window.seen = [];
    window.urls = [location.search];
    let last = null;
    const picture = PICTURE;
    setInterval(() => {
        const shown = picture();
        if (shown && shown !== last) {
            last = shown;
            window.seen.push([Date.now() / 1000, shown]);
        }
        if (location.search !== window.urls[window.urls.length - 1]) {
            window.urls.push(location.search);
        }
    }, 250);
}""".replace("PICTURE", PICTURE)


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


def cpu_by_program() -> dict[str, float]:
    """CPU seconds used so far by every process of this machine, summed by program name
    (Chromium's processes, Playwright's driver, ...): where the time goes."""
    total: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            used = cpu_seconds(int(pid))
        except OSError:
            continue
        total[name] = total.get(name, 0.0) + used
    return total


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
    parser.add_argument("--view", choices=("operations", "wall"), default="operations")
    parser.add_argument(
        "--heap-every",
        type=float,
        default=2.0,
        help="minutes between looks at the first page's JS heap (after a GC) and the RSS",
    )
    parser.add_argument(
        "--settled-after",
        type=int,
        default=100,
        help="changes after which growth is also counted from (the first look past them)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=20.0,
        help="seconds the open pages are left alone before the memory at open is read",
    )
    parser.add_argument(
        "--step-minutes",
        type=float,
        default=1.0,
        help="simulated minutes per change (the incidents' and pings' times move this much)",
    )
    parser.add_argument(
        "--keep-hours",
        type=float,
        default=None,
        help="the feeds keep only their last H simulated hours (default: they grow all run)",
    )
    parser.add_argument(
        "--browsers-nice", type=int, default=19, help="niceness of the browsers (0: as the server)"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pollwatch-screens-"))
    env = {
        "POLLWATCH_FEEDS": str(folder),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_REFRESH_S": f"{args.refresh:g}",
        "POLLWATCH_LOG": "info",  # a line per page run: when the server sent each picture
    }
    line(
        "view, sessions, minutes, change every, refresh, browsers' niceness",
        f"{args.view}, {args.sessions}, {args.minutes:g}, {args.every:g} s, "
        f"{args.refresh:g} s, {args.browsers_nice}",
    )
    line(
        "simulated time per change, feeds keep",
        f"{args.step_minutes:g} min, "
        + ("everything" if args.keep_hours is None else f"the last {args.keep_hours:g} h"),
    )
    sim = Simulator(folder, keep_hours=args.keep_hours)
    log = folder / "server.log"
    with running_app(env, 120, log) as url:
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        # The browsers stand in for wall PCs of their own: niced (they inherit this), they
        # take the CPU the server leaves, so the server's part is timed as it would be.
        os.nice(args.browsers_nice)
        with offline_page(cache=True) as (first, blocked):
            run = watch(args, url, pid, first, sim, folder)
            run.blocked = len(blocked)
    run.fresh_rss = fresh_server_rss(args, env, sim, folder)
    report(run, log.read_text(errors="replace"), args.settled_after)


def fresh_server_rss(args, env, sim, folder) -> float:  # type: ignore[no-untyped-def]
    """The RSS of a server started on the final (grown) feeds, with as many pages open
    through a few updates: what the long-running server's memory is compared with, so
    the feeds' own growth is told from what a server keeps over days."""
    with running_app(env, 120, folder / "fresh-server.log") as url:
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        with offline_page(cache=True) as (first, _):
            pages = [first, *(first.context.new_page() for _ in range(args.sessions - 1))]
            path = "/wall" if args.view == "wall" else "/"
            for page in pages:
                page.goto(url + path + "?window=7d", wait_until="commit", timeout=120_000)
                map_frame(page, timeout_ms=300_000).wait_for_function(
                    "() => window.pollwatch && pollwatch.layers.stations"
                    " && pollwatch.layers.stations.ready",
                    timeout=300_000,
                )
            for _ in range(FRESH_UPDATES):
                sim.step(seconds=args.step_minutes * 60, incidents=2)
                first.wait_for_timeout(int((args.refresh + 3) * 1000))
            return rss_mb(pid)


class Run:
    """What one run saw."""

    def __init__(self) -> None:
        self.changes: list[float] = []  # file times of the feed changes
        self.samples: list[tuple[float, float, float]] = []  # wall time, server cpu s, rss MB
        self.seen: list[list[tuple[float, str]]] = []  # per page: (when, picture shown)
        self.urls: list[list[str]] = []  # per page: its address bar's query, each change
        self.errors = 0
        self.blocked = 0
        self.rss_open = 0.0
        self.programs: dict[str, float] = {}  # program -> share of one core over the run
        self.browser_task_s: list[float] = []  # per page: main-thread seconds per change
        self.heap_mb: list[tuple[float, float]] = []  # per page: JS heap at open, at the end
        self.fresh_heap_mb = 0.0  # a page opened at the end, on the final data
        self.fresh_rss = 0.0  # a server started at the end, on the final data
        self.rows: list[tuple[int, int]] = []  # incidents and pings in the feeds: open, end
        # the first page's JS heap after GC and the server's RSS every --heap-every
        # minutes: (feed changes so far, heap MB, RSS MB)
        self.series: list[tuple[int, float, float]] = []
        # per page: the browser's counts at open and at the end (DOM nodes, documents...)
        self.counts: list[tuple[dict[str, float], dict[str, float]]] = []


def watch(args, url, pid, first, sim, folder) -> Run:  # type: ignore[no-untyped-def]
    """Open the sessions one after another, change the feeds, collect what each saw."""
    run = Run()
    context = first.context
    pages = [first, *(context.new_page() for _ in range(args.sessions - 1))]
    metrics = [context.new_cdp_session(page) for page in pages]
    for cdp in metrics:
        cdp.send("Performance.enable")

    def task_s(cdp) -> float:  # type: ignore[no-untyped-def]
        got = cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in got if m["name"] == "TaskDuration")

    def counts(cdp) -> dict[str, float]:  # type: ignore[no-untyped-def]
        got = cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: m["value"] for m in got if m["name"] in COUNTED}

    def heap_mb(cdp) -> float:  # type: ignore[no-untyped-def]
        """The page's JavaScript heap in use (its frames share it) after a full GC."""
        cdp.send("HeapProfiler.collectGarbage")
        got = cdp.send("Performance.getMetrics")["metrics"]
        return float(next(m["value"] for m in got if m["name"] == "JSHeapUsedSize")) / 2**20

    path = "/wall" if args.view == "wall" else "/"
    t_open = time.monotonic()
    for k, page in enumerate(pages):  # one after another, as screens are switched on
        page.bring_to_front()
        page.goto(url + path + "?window=7d", wait_until="commit", timeout=120_000)
        page.wait_for_function(f"() => ({PICTURE})() !== null", timeout=300_000)
        page.evaluate(WATCH)
        print(f"  session {k + 1} open after {time.monotonic() - t_open:.1f} s", flush=True)
    line("all sessions open", f"{time.monotonic() - t_open:.1f} s")
    for page in pages:  # the memory at open counts the map: its frame has drawn
        map_frame(page, timeout_ms=300_000).wait_for_function(
            "() => window.pollwatch && pollwatch.layers.stations"
            " && pollwatch.layers.stations.ready",
            timeout=300_000,
        )
    # The pages finish what they load after the first draw (popup details, later
    # layers) before the memory at open is read: the baseline is a page fully loaded.
    pages[0].wait_for_timeout(int(args.settle * 1000))
    run.rss_open = rss_mb(pid)
    stop = threading.Event()

    def writer() -> None:
        while not stop.wait(args.every):
            sim.step(seconds=args.step_minutes * 60, incidents=2)
            run.changes.append((folder / "incidents.csv").stat().st_mtime)

    def sampler() -> None:
        while not stop.wait(1.0):
            run.samples.append((time.time(), cpu_seconds(pid), rss_mb(pid)))

    threads = [threading.Thread(target=writer), threading.Thread(target=sampler)]
    tasks_before = [task_s(cdp) for cdp in metrics]
    heap_before = [heap_mb(cdp) for cdp in metrics]
    counts_before = [counts(cdp) for cdp in metrics]
    programs_before, t_before = cpu_by_program(), time.time()
    run.rows.append((len(sim.incidents), len(sim.pings)))
    for t in threads:
        t.start()
    run.series.append((0, heap_before[0], run.rss_open))
    try:
        end = time.monotonic() + args.minutes * 60
        next_look = time.monotonic() + args.heap_every * 60
        while time.monotonic() < end:
            pages[0].wait_for_timeout(1000)  # keeps Playwright's event loop turning
            if time.monotonic() >= next_look:
                next_look += args.heap_every * 60
                run.series.append((len(run.changes), heap_mb(metrics[0]), rss_mb(pid)))
    finally:
        programs_after, t_after = cpu_by_program(), time.time()
        stop.set()
        for t in threads:
            t.join()
        run.rows.append((len(sim.incidents), len(sim.pings)))
    tasks_after = [task_s(cdp) for cdp in metrics]
    run.programs = {
        name: (programs_after[name] - programs_before.get(name, 0.0)) / (t_after - t_before)
        for name in programs_after
    }
    changes = max(1, len(run.changes))
    run.browser_task_s = [(b - a) / changes for a, b in zip(tasks_before, tasks_after, strict=True)]
    pages[0].wait_for_timeout(int((args.refresh + 5) * 1000))  # the last change lands
    run.seen = [page.evaluate("() => window.seen") for page in pages]
    run.urls = [page.evaluate("() => window.urls") for page in pages]
    run.errors = sum(page.locator('[data-testid="stException"]').count() for page in pages)
    run.heap_mb = list(zip(heap_before, [heap_mb(cdp) for cdp in metrics], strict=True))
    run.counts = list(zip(counts_before, [counts(cdp) for cdp in metrics], strict=True))
    run.samples.append((time.time(), cpu_seconds(pid), rss_mb(pid)))
    # The feeds grew over the run (new incidents, convoy pings), so a page's heap grows
    # with them. A page opened now on the final data, alone in the browser (pages of one
    # site share a heap), tells that growth from what the long-running pages kept. It
    # goes through a few live updates too: the first ones add what only the update path
    # holds (measured: about 4 MB on the wall, in the first two updates, then flat).
    for page in pages:
        page.close()
    fresh = context.new_page()
    fresh.goto(url + path + "?window=7d", wait_until="commit", timeout=120_000)
    map_frame(fresh, timeout_ms=300_000).wait_for_function(
        "() => window.pollwatch && pollwatch.layers.stations && pollwatch.layers.stations.ready",
        timeout=300_000,
    )
    for _ in range(FRESH_UPDATES):
        sim.step(seconds=args.step_minutes * 60, incidents=2)
        fresh.wait_for_timeout(int((args.refresh + 3) * 1000))
    fresh.wait_for_timeout(int((args.refresh + 5) * 1000))
    fresh_metrics = context.new_cdp_session(fresh)
    fresh_metrics.send("Performance.enable")
    run.fresh_heap_mb = heap_mb(fresh_metrics)
    return run


SENT = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO pollwatch\.runs: session (\w+): "
    r"\w+ sent the picture of (\d\d:\d\d:\d\d)"
)


RUN_S = re.compile(r"\w+ sent the picture of \S+ in ([0-9.]+) s")


def args_every(run: Run) -> float:
    """Seconds between changes, as they happened."""
    gaps = [b - a for a, b in itertools.pairwise(run.changes)]
    return statistics.median(gaps) if gaps else 0.0


def latencies(
    changes: list[float], shown: list[list[tuple[float, float]]]
) -> tuple[list[float], list[float], int]:
    """For each change but the last and each session: the wait until the session had a
    picture taken after it. ``shown``: per session, (when, picture time). Gives every
    wait, the wait until every session had it (per change), and the waits never ended."""
    per_session: list[list[float]] = []
    missed = 0
    for rows in shown:
        mine = []
        for changed in changes[:-1]:
            when = next((t for t, picture in rows if picture >= int(changed)), None)
            if when is None:
                missed += 1
            else:
                mine.append(when - changed)
        per_session.append(mine)
    every = [
        max(s[k] for s in per_session)
        for k in range(len(changes) - 1)
        if all(len(s) > k for s in per_session)
    ]
    return [w for s in per_session for w in s], every, missed


def report(run: Run, server_log: str, settled_after: int = 100) -> None:
    day = time.strftime("%Y-%m-%d", time.gmtime())

    def utc(text: str) -> float:
        return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S"))

    # Browser side: when each page's caption showed a picture taken after the change.
    shown = [[(t, utc(f"{day} {hms}")) for t, hms in rows] for rows in run.seen]
    everyone, per_change, missed = latencies(run.changes, shown)
    # Server side: when the server finished the run that sent each session that picture
    # (log times are local time, with milliseconds).
    sent: dict[str, list[tuple[float, float]]] = {}
    for row in server_log.splitlines():
        m = SENT.match(row)
        if m:
            stamp, millis = m.group(1).split(",")
            when = time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000
            sent.setdefault(m.group(2), []).append((when, utc(f"{day} {m.group(3)}")))
    start = run.changes[0] if run.changes else 0.0
    watching = [rows for rows in sent.values() if rows[0][0] < start]
    s_everyone, s_per_change, s_missed = latencies(run.changes, watching)

    cpu = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(run.samples)]
    line("feed changes", f"{len(run.changes)}")
    line(
        "server CPU, share of one core: median / p95 / max",
        f"{statistics.median(cpu):.0%} / {pct(cpu, 0.95):.0%} / {max(cpu):.0%}",
    )
    busiest = sorted(run.programs.items(), key=lambda kv: -kv[1])[:4]
    line(
        "machine CPU by program, share of one core",
        ", ".join(f"{name} {share:.0%}" for name, share in busiest),
    )
    line(
        "browser main thread per page per change: median / max",
        f"{statistics.median(run.browser_task_s):.2f} / {max(run.browser_task_s):.2f} s",
    )
    line(
        "server memory (RSS): sessions open / end / max",
        f"{run.rss_open:.0f} / {run.samples[-1][2]:.0f} / {max(s[2] for s in run.samples):.0f} MB",
    )
    line("feed changes during the run", f"{len(run.changes):,}")
    if len(run.rows) == 2:
        (inc0, ping0), (inc1, ping1) = run.rows
        line(
            "rows in the feeds, open -> end",
            f"incidents {inc0:,} -> {inc1:,}, pings {ping0:,} -> {ping1:,}",
        )
    end_rss = run.samples[-1][2]
    line(
        "server memory growth over the run (RSS, end against open)",
        f"{(end_rss / run.rss_open - 1) if run.rss_open else 0.0:+.1%}",
    )
    if run.fresh_rss:
        line(
            f"a server started at the end on the final data, after {FRESH_UPDATES} updates: "
            "RSS; the long-running one against it",
            f"{run.fresh_rss:.0f} MB; {end_rss / run.fresh_rss - 1:+.1%}",
        )
    growth = [(b / a - 1) if a else 0.0 for a, b in run.heap_mb]
    line(
        "browser JS heap per page after GC: open / end, growth max",
        ", ".join(f"{a:.1f} / {b:.1f} MB" for a, b in run.heap_mb[:5])
        + (f" ... ({len(run.heap_mb)} pages)" if len(run.heap_mb) > 5 else "")
        + f"; {max(growth):+.1%}",
    )
    if run.fresh_heap_mb:
        kept = max(b for _, b in run.heap_mb) / run.fresh_heap_mb - 1
        line(
            f"a page opened at the end, after {FRESH_UPDATES} updates: JS heap; the longest-open "
            "against it",
            f"{run.fresh_heap_mb:.1f} MB; {kept:+.1%}",
        )
    if len(run.series) > 1:
        line(
            "first page's JS heap / server RSS by feed changes",
            ", ".join(f"{n}: {h:.1f} / {r:.0f} MB" for n, h, r in run.series),
        )
        settled = next((s for s in run.series if s[0] >= settled_after), None)
        end_heap = run.heap_mb[0][1] if run.heap_mb else run.series[-1][1]
        if settled is not None and settled[0] < len(run.changes):
            line(
                f"growth from the first look past {settled_after} changes "
                f"({settled[0]}) to the end ({len(run.changes)}): JS heap / RSS",
                f"{end_heap / settled[1] - 1:+.1%} / {end_rss / settled[2] - 1:+.1%}",
            )
    if run.counts:
        before, after = run.counts[0]
        line(
            "first page's counts: open -> end",
            ", ".join(f"{k} {before.get(k, 0):,.0f} -> {after.get(k, 0):,.0f}" for k in COUNTED),
        )
    line(
        "errors: page exceptions / server tracebacks / blocked requests",
        f"{run.errors} / {server_log.count('Traceback')} / {run.blocked}",
    )
    for side, done, one, every, never in (
        ("server sent", "sent", s_everyone, s_per_change, s_missed),
        ("browser shows", "shown", everyone, per_change, missed),
    ):
        line(
            f"change -> {side} it, a session: p50 / p95 / max",
            f"{statistics.median(one):.1f} / {pct(one, 0.95):.1f} / {max(one):.1f} s",
        )
        if every:
            line(
                f"change -> {side} it, every session: p50 / p95",
                f"{statistics.median(every):.1f} / {pct(every, 0.95):.1f} s",
            )
        line(f"changes a session was never {done}", f"{never}")
    line("sessions in the server's log", f"{len(watching)}")
    runs = [float(x) for x in RUN_S.findall(server_log)]
    if runs and run.changes:
        sessions = max(1, len(watching))
        line(
            "server page runs: per change per session; time each p50 / p95",
            f"{len(runs) / len(run.changes) / sessions:.2f}; "
            f"{statistics.median(runs):.2f} / {pct(runs, 0.95):.2f} s",
        )
        line(
            "server time in page runs per change (all sessions), vs the interval",
            f"{sum(runs) / len(run.changes):.1f} s of {args_every(run):.0f} s",
        )
    last = int(run.changes[-1]) if run.changes else 0
    behind = sum(not rows or rows[-1][1] < last for rows in shown)
    line("sessions ending on a picture older than the last change", f"{behind} of {len(shown)}")
    moved = [u for u in run.urls if len(u) > 1]
    line("sessions whose filters changed by themselves", f"{len(moved)} {moved[:3]}")


if __name__ == "__main__":
    main()
