"""Many sessions on one server, with no browser: what the server alone holds.

    python benchmarks/sessions.py [--sessions 25 50 100] [--minutes 10] [--every 10]

``benchmarks/screens.py`` opens real pages, but on this 2-core machine their Chromium
takes most of the CPU, so it cannot say what the server would hold with the wall PCs
elsewhere. Here each session is a client of Streamlit's own protocol (a WebSocket to
``/_stcore/stream`` speaking its protobuf messages, as the page's JavaScript does): it asks
for the operations page once with ``?window=7d``, then only listens, as a wall screen
does. The server does all its work for it (page runs, every message); nothing is drawn
and the map's data files are not fetched (static files, see ``screens.py``).

For each ``--sessions`` count, on a live exercise stepped every ``--every`` seconds:
the server's CPU (share of one core) and memory, errors, and the time from each file
change until every session had received a picture taken after it (p50 / p95).
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import itertools
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
sys.path.insert(0, str(ROOT / "benchmarks"))

import websockets  # noqa: E402 - uvicorn's, installed with Streamlit
from screens import cpu_seconds, latencies, pct, rss_mb, server_pid  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from timing import line  # noqa: E402

from browser import running_app  # noqa: E402
from layers.exercise.simulator import Simulator  # noqa: E402

PICTURE = re.compile(r"^Live:.*picture of (\d\d:\d\d:\d\d)")


class Session:
    """One wall screen as the server sees it."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []  # (when received, picture time), changes
        self.messages = 0
        self.bytes = 0
        self.error = ""
        self.replica = ""  # behind nginx: the replica that took the session

    async def watch(self, url: str, until: float, opened: asyncio.Event) -> None:
        stream = url.replace("http://", "ws://") + "/_stcore/stream"
        day = time.strftime("%Y-%m-%d", time.gmtime())
        try:
            async with websockets.connect(
                stream,
                subprotocols=["streamlit"],
                origin=url,
                max_size=None,  # type: ignore[list-item]
            ) as ws:
                self.replica = ws.response.headers.get("X-Pollwatch-Replica", "")
                ask = BackMsg()
                ask.rerun_script.query_string = "window=7d"
                await ws.send(ask.SerializeToString())
                while time.time() < until:
                    try:
                        data = await asyncio.wait_for(ws.recv(), timeout=until - time.time())
                    except TimeoutError:
                        break
                    self.messages += 1
                    self.bytes += len(data)
                    msg = ForwardMsg()
                    msg.ParseFromString(data)
                    if msg.WhichOneof("type") != "delta":
                        continue
                    element = msg.delta.new_element
                    if element.WhichOneof("type") != "markdown":
                        continue
                    m = PICTURE.match(element.markdown.body)
                    if m:
                        taken = calendar.timegm(time.strptime(f"{day} {m[1]}", "%Y-%m-%d %H:%M:%S"))
                        if not self.seen or self.seen[-1][1] != taken:
                            self.seen.append((time.time(), taken))
                        opened.set()
        except (OSError, websockets.WebSocketException) as error:  # a finding, not a crash
            self.error = f"{type(error).__name__}: {error}"
            opened.set()


async def hold(  # type: ignore[no-untyped-def]
    url: str,
    count: int,
    seconds: float,
    change,
    every: float,
    pids: list[int],
    settle: float = 0.0,
):
    """Open ``count`` sessions one after another, then change the feeds for ``seconds``:
    ``change()`` every ``every`` seconds (it gives the change's time). ``pids``: the
    servers' processes (CPU and memory summed). ``settle``: seconds left after opening
    before the first change (a national server still reading shows a first picture
    before it has every feed)."""
    sessions = [Session() for _ in range(count)]
    until = time.time() + 3600
    tasks = []
    t_open = time.monotonic()
    for one in sessions:
        opened = asyncio.Event()
        tasks.append(asyncio.create_task(one.watch(url, until, opened)))
        await asyncio.wait_for(opened.wait(), timeout=600)  # a cold national server: minutes
    opening = time.monotonic() - t_open
    await asyncio.sleep(max(every, settle))  # the last session's first run settles
    rss_open = sum(rss_mb(pid) for pid in pids)
    changes: list[float] = []
    samples: list[tuple[float, float, float]] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.wait(every):
            changes.append(change())

    def sampler() -> None:
        while not stop.wait(1.0):
            samples.append(
                (
                    time.time(),
                    sum(cpu_seconds(pid) for pid in pids),
                    sum(rss_mb(pid) for pid in pids),
                )
            )

    threads = [threading.Thread(target=writer), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    await asyncio.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    await asyncio.sleep(every + 5)  # the last change lands
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return sessions, changes, samples, opening, rss_open


def report(count: int, got, log: str, who: str = "server") -> None:  # type: ignore[no-untyped-def]
    sessions, changes, samples, opening, rss_open = got
    shown = [s.seen for s in sessions]
    one, every, missed = latencies(changes, shown)
    cpu = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples)]
    print(f"\n{count} sessions")
    line("opened one after another in", f"{opening:.1f} s")
    line("feed changes", f"{len(changes)}")
    line(
        f"{who} CPU, share of one core: median / p95 / max",
        f"{statistics.median(cpu):.0%} / {pct(cpu, 0.95):.0%} / {max(cpu):.0%}",
    )
    line(
        f"{who} memory (RSS): sessions open / end / max",
        f"{rss_open:.0f} / {samples[-1][2]:.0f} / {max(s[2] for s in samples):.0f} MB",
    )
    errors = [s.error for s in sessions if s.error]
    line(
        "errors: dropped sessions / server tracebacks",
        f"{len(errors)} {errors[:2]} / {log.count('Traceback')}",
    )
    if one:
        line(
            "change -> a session received it: p50 / p95 / max",
            f"{statistics.median(one):.1f} / {pct(one, 0.95):.1f} / {max(one):.1f} s",
        )
    if every:
        line(
            "change -> every session received it: p50 / p95",
            f"{statistics.median(every):.1f} / {pct(every, 0.95):.1f} s",
        )
    line("changes a session never received", f"{missed}")
    last = int(changes[-1]) if changes else 0
    behind = sum(not rows or rows[-1][1] < last for rows in shown)
    line("sessions ending on a picture older than the last change", f"{behind} of {count}")
    sent = sum(s.bytes for s in sessions) / max(1, len(changes)) / count
    line("sent per session per change", f"{sent / 1024:.0f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between changes")
    args = parser.parse_args()
    line(
        "sessions, minutes, change every (= refresh)",
        f"{args.sessions}, {args.minutes:g}, {args.every:g} s",
    )
    for count in args.sessions:
        folder = Path(tempfile.mkdtemp(prefix="pollwatch-sessions-"))
        sim = Simulator(folder)
        env = {
            "POLLWATCH_FEEDS": str(folder),
            "POLLWATCH_TILES": "none",
            "POLLWATCH_REFRESH_S": f"{args.every:g}",
        }
        log = folder / "server.log"

        def change(sim: Simulator = sim, folder: Path = folder) -> float:
            sim.step(incidents=2)
            return (folder / "incidents.csv").stat().st_mtime

        with running_app(env, 120, log) as url:
            pid = server_pid(int(url.rsplit(":", 1)[1]))
            got = asyncio.run(hold(url, count, args.minutes * 60, change, args.every, [pid]))
        report(count, got, log.read_text(errors="replace"))


if __name__ == "__main__":
    main()
