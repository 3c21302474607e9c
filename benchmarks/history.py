"""The history store at national scale: a day of live updates recorded, its size, and the
cost of opening the feeds "as at" a time of that day.

    python benchmarks/history.py [--folder DIR] [--steps 1440] [--every-min 1]

On a copy of the national set, the feeds are stepped ``--steps`` times (each step: new
incidents and a ping per convoy appended, as the simulator does, ``--every-min`` minutes
apart) and read by the dashboard's loader after each step, as a server does on each look.
Printed: the history's size on disk for the day against the feeds' own size, the time the
history's writer spent per step (it runs in its own thread) against a refresh, the
loader's time per step for comparison, and the time to open the scene "as at" three times
of the day (the folder as it was, read by a fresh loader, parsed feeds kept on disk)
against a fresh loader's first read of the live folder. Medians.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from timing import line, national_arguments, national_folder  # noqa: E402

from layers.analysis.freshness import reading  # noqa: E402
from layers.core.settings import Settings  # noqa: E402
from layers.io.files import write_atomic  # noqa: E402
from layers.scene import SceneLoader  # noqa: E402


def main() -> None:
    parser = national_arguments(__doc__, repeat=3)
    parser.add_argument("--steps", type=int, default=1440)
    parser.add_argument("--every-min", type=float, default=1.0)
    args = parser.parse_args()
    source = national_folder(args.folder)
    work = Path(tempfile.mkdtemp(prefix="pollwatch-history-bench-"))
    feeds = work / "feeds"
    shutil.copytree(source, feeds)
    store, kept = work / "history", work / "kept"
    env = {
        "POLLWATCH_FEEDS": str(feeds),
        "POLLWATCH_HISTORY": str(store),
        "POLLWATCH_CACHE": str(kept),
        "POLLWATCH_SETTLE_S": "0",
    }
    settings = Settings.from_env(env)
    loader = SceneLoader(settings)
    while reading(loader.load()):  # large files are read in a thread: until they are in
        time.sleep(0.1)
    history = loader.history
    assert history is not None
    history.flush()
    feeds_mb = sum(p.stat().st_size for p in feeds.iterdir()) / 2**20
    first_mb = history.size() / 2**20

    # The writer's time: each record() is timed inside the writer thread.
    spent: list[float] = []
    real_write = history._write

    def timed_write(*a):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        real_write(*a)
        spent.append(time.perf_counter() - t0)

    history._write = timed_write  # type: ignore[method-assign]

    rng = np.random.default_rng(1)
    incidents = pd.read_csv(feeds / "incidents.csv", dtype=str, keep_default_na=False)
    pings = pd.read_csv(feeds / "convoy_positions.csv", dtype=str, keep_default_na=False)
    convoys = pings["convoy_id"].unique()[:60]
    clock = pd.Timestamp.now(tz="UTC").floor("min")
    marks: list[tuple[float, int]] = []  # (when, incidents then)
    look_s: list[float] = []
    for step in range(args.steps):
        clock += pd.Timedelta(minutes=args.every_min)
        new = incidents.sample(int(rng.poisson(3)) + 1, random_state=step).copy()
        new["id"] = [f"H-{step}-{k}" for k in range(len(new))]
        new["time"] = clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        incidents = pd.concat([incidents, new], ignore_index=True)
        moved = pings.drop_duplicates("convoy_id", keep="last")
        moved = moved[moved["convoy_id"].isin(convoys)].copy()
        moved["time"] = clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        pings = pd.concat([pings, moved], ignore_index=True)
        write_atomic(feeds / "incidents.csv", incidents.to_csv(index=False))
        write_atomic(feeds / "convoy_positions.csv", pings.to_csv(index=False))
        t0 = time.perf_counter()
        loader.load()
        look_s.append(time.perf_counter() - t0)
        if step in (args.steps // 4, args.steps // 2, 3 * args.steps // 4):
            history.flush()
            marks.append((time.time(), len(incidents)))
    history.flush()
    day_mb = history.size() / 2**20
    line("feeds of the national set", f"{feeds_mb:,.1f} MB")
    line("history after the first read", f"{first_mb:,.1f} MB")
    line(
        f"history after {args.steps:,} updates ({args.steps * args.every_min / 60:g} h)",
        f"{day_mb:,.1f} MB (+{day_mb - first_mb:,.1f} MB for the day's updates)",
    )
    line(
        "history writer per update: median / p95",
        f"{statistics.median(spent) * 1000:.1f} / "
        f"{np.percentile(spent, 95) * 1000:.1f} ms (its own thread)",
    )
    line(
        "the loader's look per update (reads the appended rows): median",
        f"{statistics.median(look_s) * 1000:.0f} ms",
    )

    fresh_s = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        SceneLoader(Settings.from_env({**env, "POLLWATCH_HISTORY": "off"})).load()
        fresh_s.append(time.perf_counter() - t0)
    line("a fresh loader's first read of the live folder (kept on disk)", _s(fresh_s))
    replay_root = work / "replay"
    for when, count in marks:
        t0 = time.perf_counter()
        folder = history.folder_at(when, replay_root)
        made = time.perf_counter() - t0
        assert folder is not None
        t0 = time.perf_counter()
        scene = SceneLoader(
            Settings.from_env({**env, "POLLWATCH_FEEDS": str(folder), "POLLWATCH_HISTORY": "off"})
        ).load()
        read = time.perf_counter() - t0
        assert len(scene["incidents"]) <= count
        line(
            f"as at a time of the day ({count:,} incidents then): folder made / read",
            f"{made:.2f} s / {read:.2f} s",
        )
    history.close()
    shutil.rmtree(work, ignore_errors=True)


def _s(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (median of {len(values)})"


if __name__ == "__main__":
    main()
