"""Wall screens on one dashboard process against two behind nginx, on one PostgreSQL.

    python benchmarks/replicas.py [--sessions 25,50,100] [--replicas 1,2] [--minutes 3]
                                  [--every 10] [--browsers] [--folder NATIONAL]

Everything is started here: PostgreSQL with PostGIS (Debian's packages), the ingest of a
live exercise (the simulator's sample scenario, stepped every ``--every`` seconds: new
incidents and convoy pings, each step ingested once; or, with ``--folder``, a copy of that
folder, the national set for instance, with a batch of incidents and pings appended at
each step), the dashboard replicas (refresh =
``--every``) and nginx before them. For each number of replicas and of sessions, that many
wall screens are opened through the proxy, one after another, and left alone:

- by default as clients of Streamlit's own protocol (``benchmarks/sessions.py``: the
  server does all its work for each, nothing is drawn), because on this 2-core machine a
  real browser per screen takes the CPU the servers would have: the wall PCs are other
  machines;
- with ``--browsers``, as pages of the wall in headless Chromium (network blocked), each
  in a browser context of its own (its own cookies, so nginx spreads them), niced.

Printed for each: how nginx spread the sessions; the replicas' CPU (share of one core,
summed) and memory; for each change, the time from the ingest's commit until every
session had a picture taken after it (p50 / p95 / max over changes); changes a session
never had; errors. A configuration *holds* its sessions when none dropped or missed a
change and the p95 of change -> every session is within two refreshes.
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from screens import PICTURE, WATCH, cpu_seconds, latencies, pct, rss_mb, server_pid  # noqa: E402
from sessions import hold  # noqa: E402
from timing import Batches, line, loaded  # noqa: E402

from browser import CHROMIUM, CHROMIUM_ARGS, LOCAL, free_port  # noqa: E402
from dashboard.deploy import running_site  # noqa: E402
from layers.core.settings import Settings  # noqa: E402
from layers.exercise.simulator import Simulator  # noqa: E402
from layers.ingest import Ingest  # noqa: E402
from postgres import postgres_cluster  # noqa: E402


def numbers(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=numbers, default=[25, 50, 100])
    parser.add_argument("--replicas", type=numbers, default=[1, 2])
    parser.add_argument("--minutes", type=float, default=3.0, help="of changes, per run")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between changes")
    parser.add_argument(
        "--browsers", action="store_true", help="real pages in Chromium, not protocol clients"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds between the sessions open and the first change (national: 90)",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=None,
        help="a feed folder (the national set of benchmarks/operations.py) to serve instead "
        "of the simulator's sample; each change appends a batch of incidents and pings",
    )
    parser.add_argument(
        "--browsers-nice", type=int, default=19, help="niceness of the browsers (0: as servers)"
    )
    args = parser.parse_args()
    args.refresh = args.every
    line(
        "cores, sessions as, change every (= refresh), minutes per run",
        f"{os.cpu_count()}, {'Chromium pages' if args.browsers else 'protocol clients'}, "
        f"{args.every:g} s, {args.minutes:g}",
    )
    work = Path(tempfile.mkdtemp(prefix="pollwatch-replicas-"))
    with postgres_cluster() as db:
        feeds = work / "feeds"
        if args.folder is not None:  # a copy: the batches append to it
            shutil.copytree(args.folder, feeds)
            batches = Batches(feeds)
            step = batches.next
        else:
            sim = Simulator(feeds)
            step = partial(sim.step, seconds=60, incidents=2)
        source = Settings.from_env(
            {
                "POLLWATCH_FEEDS": str(feeds),
                "POLLWATCH_HISTORY": "off",
                "POLLWATCH_CACHE": "off",
                "POLLWATCH_SETTLE_S": "0",
            }
        )
        ingest = Ingest.of(source, db.url)
        t0 = time.perf_counter()
        loaded(ingest.loader)  # large files are read in the background: all of them in
        ingest.once()
        line("the ingest's first read and write", f"{time.perf_counter() - t0:.1f} s")
        results = []
        for replicas in args.replicas:
            for sessions in args.sessions:
                print(f"-- {replicas} replica(s), {sessions} sessions", flush=True)
                run = browser_run if args.browsers else protocol_run
                results.append(run(args, db.url, step, ingest, replicas, sessions, work))
        print()
        line("replicas, sessions: holds; change -> every session p50 / p95", "")
        for replicas, sessions, holds, p50, p95 in results:
            line(
                f"  {replicas}, {sessions}",
                f"{'holds' if holds else 'does not hold'}; {p50:.1f} / {p95:.1f} s",
            )
        for replicas in args.replicas:
            held = [s for r, s, h, _, _ in results if r == replicas and h]
            line(
                f"most sessions held, {replicas} replica(s)",
                f"{max(held)}" if held else f"none of {args.sessions}",
            )


def offline(route) -> None:  # type: ignore[no-untyped-def]
    """Requests off this machine fail: the wall must draw with the network blocked."""
    route.continue_() if route.request.url.startswith(LOCAL) else route.abort()


def replicas_env(args, url: str, work: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The replicas' settings: the database only, no folder, no history of their own."""
    return {
        "POLLWATCH_DATABASE": url,
        "POLLWATCH_FEEDS": str(work / "no-folder"),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_REFRESH_S": f"{args.refresh:g}",
        "POLLWATCH_HISTORY": "off",
        "POLLWATCH_AUDIT": str(work / "audit"),
    }


@contextmanager
def site(args, url, replicas, work, tag):  # type: ignore[no-untyped-def]
    """``replicas`` dashboard processes behind nginx: yields the proxy's URL, their
    ports and pids."""
    ports = [free_port() for _ in range(replicas)]
    env = replicas_env(args, url, work)
    with running_site(env, work / f"site-{tag}", ports, free_port()) as on:
        yield on.url, ports, [server_pid(p) for p in ports]


def protocol_run(args, url, step, ingest, replicas, sessions, work):  # type: ignore[no-untyped-def]
    def change() -> float:
        step()
        ingest.once()
        return time.time()  # committed and announced

    with site(args, url, replicas, work, f"{replicas}-{sessions}") as (proxy, ports, pids):
        got = asyncio.run(
            hold(proxy, sessions, args.minutes * 60, change, args.every, pids, args.settle)
        )
    clients, changes, samples, opening, rss_open = got
    spread = {p: sum(c.replica.endswith(f":{p}") for c in clients) for p in ports}
    line("  opened one after another in", f"{opening:.1f} s")
    line("  sessions per replica", ", ".join(str(n) for n in spread.values()))
    cpu = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(samples, samples[1:], strict=False)]
    line(
        "  replicas' CPU, share of one core (summed): median / p95",
        f"{statistics.median(cpu):.0%} / {pct(cpu, 0.95):.0%}",
    )
    line(
        "  replicas' memory (RSS, summed): open / end", f"{rss_open:.0f} / {samples[-1][2]:.0f} MB"
    )
    dropped = sum(bool(c.error) for c in clients)
    return summary(args, replicas, sessions, changes, [c.seen for c in clients], dropped)


def summary(args, replicas, sessions, changes, shown, errors):  # type: ignore[no-untyped-def]
    """Print and give (replicas, sessions, holds, p50, p95) of change -> every session."""
    one, every, missed = latencies(changes, shown)
    line("  changes", f"{len(changes)}")
    line("  errors (dropped sessions, page exceptions)", f"{errors}")
    line("  changes a session never had", f"{missed}")
    if every:
        line(
            "  change -> every session has it: p50 / p95 / max",
            f"{statistics.median(every):.1f} / {pct(every, 0.95):.1f} / {max(every):.1f} s",
        )
    if one:
        line(
            "  change -> a session has it: p50 / p95",
            f"{statistics.median(one):.1f} / {pct(one, 0.95):.1f} s",
        )
    p50 = statistics.median(every) if every else float("inf")
    p95 = pct(every, 0.95) if every else float("inf")
    holds = bool(every) and missed == 0 and errors == 0 and p95 <= 2 * args.refresh
    return replicas, sessions, holds, p50, p95


def browser_run(args, url, step, ingest, replicas, sessions, work):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    niced = threading.Event()
    tag = f"{replicas}-{sessions}-browsers"
    with site(args, url, replicas, work, tag) as (proxy, ports, pids):
        # The browsers stand in for wall PCs of their own: niced, they take the CPU the
        # servers leave. Chromium sets its own processes' priorities (as root, above the
        # servers'), so every thread of every Chromium process is niced again each second.
        threading.Thread(target=nice_browsers, args=(args.browsers_nice, niced)).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages, served = [], []
                t_open = time.monotonic()
                for _ in range(sessions):  # one after another, as screens are switched on
                    context = browser.new_context(viewport={"width": 1920, "height": 1080})
                    context.route("**/*", offline)
                    page = context.new_page()
                    answer = page.goto(
                        proxy + "/wall?window=7d", wait_until="commit", timeout=120_000
                    )
                    served.append(answer.headers.get("x-pollwatch-replica", "") if answer else "")
                    page.wait_for_function(f"() => ({PICTURE})() !== null", timeout=300_000)
                    page.evaluate(WATCH)
                    pages.append(page)
                line("  opened one after another in", f"{time.monotonic() - t_open:.1f} s")
                spread = {p: sum(s.endswith(f":{p}") for s in served) for p in ports}
                line("  sessions per replica", ", ".join(str(n) for n in spread.values()))
                pages[0].wait_for_timeout(10_000)
                changes: list[float] = []
                stop = threading.Event()

                def writer() -> None:
                    while not stop.wait(args.every):
                        step()
                        ingest.once()
                        changes.append(time.time())  # committed and announced

                cpu0, t0 = sum(cpu_seconds(p) for p in pids), time.time()
                thread = threading.Thread(target=writer)
                thread.start()
                end = time.monotonic() + args.minutes * 60
                while time.monotonic() < end:
                    pages[0].wait_for_timeout(1000)
                stop.set()
                thread.join()
                cpu = (sum(cpu_seconds(p) for p in pids) - cpu0) / (time.time() - t0)
                pages[0].wait_for_timeout(int((args.refresh + 5) * 1000))
                seen = [page.evaluate("() => window.seen") for page in pages]
                errors = sum(page.locator('[data-testid="stException"]').count() for page in pages)
                rss = sum(rss_mb(p) for p in pids)
                browser.close()
        finally:
            niced.set()
    line("  replicas' CPU, share of one core (summed)", f"{cpu:.0%}")
    line("  replicas' memory (RSS, summed)", f"{rss:.0f} MB")
    day = time.strftime("%Y-%m-%d", time.gmtime())
    shown = [
        [(t, calendar.timegm(time.strptime(f"{day} {hms}", "%Y-%m-%d %H:%M:%S"))) for t, hms in s]
        for s in seen
    ]
    return summary(args, replicas, sessions, changes, shown, errors)


def nice_browsers(nice: int, stop: threading.Event) -> None:
    """Until ``stop``: every thread of every Chromium process at niceness ``nice``."""
    while not stop.wait(1.0):
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() != "chromium":
                    continue
                for tid in os.listdir(f"/proc/{pid}/task"):
                    if os.getpriority(os.PRIO_PROCESS, int(tid)) != nice:
                        os.setpriority(os.PRIO_PROCESS, int(tid), nice)
            except OSError:  # gone meanwhile, or not ours to nice
                continue


if __name__ == "__main__":
    main()
