"""The history store at national scale: a day of live updates recorded, its size, the
writer's cost against a refresh, and the cost of opening the picture "as at" a time of
that day against a normal first open.

    python benchmarks/history.py [--folder DIR] [--steps 1440] [--every-min 1]

On a copy of the national set, the feeds are stepped ``--steps`` times, ``--every-min``
minutes of the day apart, as the simulator steps them: new incidents, a ping per convoy
on the road and a few delivery events appended, each file rewritten whole with its new
rows (as most exporters write). After each step the dashboard's loader looks, as a server
does on each refresh, and the history keeps what it took. Printed: the history's size on
disk for the day against the feeds' own size; the writer's time per update (its own
thread) against a refresh (``POLLWATCH_REFRESH_S``, 15 s); the loader's look; then, at
``--times`` times spread over the day, opening the picture "as at" that time (the folder
as it was made from the history, read by a fresh loader and every layer derived: what a
page does before it draws) against a fresh loader's first read and derive of the live
folder (parsed feeds kept on disk in both); and the after-action review of the day.
Medians.
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
from layers.analysis.picture import derive_picture  # noqa: E402
from layers.core.settings import Settings  # noqa: E402
from layers.io.files import write_atomic  # noqa: E402
from layers.replay import review_of, settings_at  # noqa: E402
from layers.scene import SceneLoader  # noqa: E402


class Feed:
    """A CSV feed kept as its text, grown by appended rows and written whole."""

    def __init__(self, path: Path):
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.rows = pd.read_csv(path, dtype=str, keep_default_na=False)

    def append(self, rows: pd.DataFrame) -> None:
        self.text += rows[self.rows.columns].to_csv(index=False, header=False)
        write_atomic(self.path, self.text)


def main() -> None:
    parser = national_arguments(__doc__, repeat=3)
    parser.add_argument("--steps", type=int, default=1440)
    parser.add_argument("--every-min", type=float, default=1.0)
    parser.add_argument("--times", type=int, default=6, help="'as at' times of the day")
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
    line("feeds", ", ".join(sorted(p.name for p in feeds.iterdir())))

    # The writer's time: each version's write is timed inside the writer thread.
    spent: list[float] = []
    real_write = history._write

    def timed_write(*a):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        real_write(*a)
        spent.append(time.perf_counter() - t0)

    history._write = timed_write  # type: ignore[method-assign]

    rng = np.random.default_rng(1)
    incidents = Feed(feeds / "incidents.csv")
    pings = Feed(feeds / "convoy_positions.csv")
    deliveries = Feed(feeds / "deliveries.csv") if (feeds / "deliveries.csv").exists() else None
    convoys = pings.rows["convoy_id"].unique()[:60]
    clock = pd.Timestamp.now(tz="UTC").floor("min")
    began = time.time()
    look_s: list[float] = []
    step_s: list[float] = []
    per_step: list[int] = []
    for step in range(args.steps):
        t_step = time.perf_counter()
        clock += pd.Timedelta(minutes=args.every_min)
        stamp = clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        new = incidents.rows.sample(int(rng.poisson(3)) + 1, random_state=step)
        incidents.append(new.assign(id=[f"H-{step}-{k}" for k in range(len(new))], time=stamp))
        moved = pings.rows.drop_duplicates("convoy_id", keep="last")
        pings.append(moved[moved["convoy_id"].isin(convoys)].assign(time=stamp))
        if deliveries is not None and step % 5 == 0:
            signed = deliveries.rows.sample(int(rng.poisson(2)) + 1, random_state=step)
            deliveries.append(signed.assign(time=stamp, state="receipt_signed"))
        step_s.append(time.perf_counter() - t_step)
        done = len(spent)
        t0 = time.perf_counter()
        loader.load()
        look_s.append(time.perf_counter() - t0)
        history.flush()
        per_step.append(len(spent) - done)
        spent_step = spent[done:]
        spent[done:] = [sum(spent_step)]  # one update: every version it took
    ended = time.time()
    day_mb = history.size() / 2**20
    hours = args.steps * args.every_min / 60
    line("feeds at the start", f"{feeds_mb:,.1f} MB")
    line("history after the first read", f"{first_mb:,.1f} MB")
    line(
        f"history after {args.steps:,} updates ({hours:g} h of updates)",
        f"{day_mb:,.1f} MB (+{day_mb - first_mb:,.1f} MB for the updates; "
        f"{(day_mb - first_mb) / max(hours, 1e-9) * 24:,.1f} MB per 24 h)",
    )
    write = spent[-args.steps :]
    refresh = settings.refresh_s
    line(
        "history writer per update: median / p95 / max",
        f"{statistics.median(write) * 1000:.1f} / {np.percentile(write, 95) * 1000:.1f} / "
        f"{max(write) * 1000:.1f} ms = {statistics.median(write) / refresh:.3%} of a "
        f"{refresh:g} s refresh (its own thread); {statistics.median(per_step):g} versions "
        "per update",
    )
    line(
        "the loader's look per update (reads the appended rows): median",
        f"{statistics.median(look_s) * 1000:.0f} ms; writing the step's files "
        f"{statistics.median(step_s) * 1000:.0f} ms",
    )

    live = Settings.from_env({**env, "POLLWATCH_HISTORY": "off"})
    fresh_s = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        derive_picture(SceneLoader(live).load())
        fresh_s.append(time.perf_counter() - t0)
    line("normal first open: a fresh loader reads and derives the live folder", _s(fresh_s))
    ratios = []
    for k in range(args.times):
        when = pd.Timestamp(began + (ended - began) * (k + 0.5) / args.times, unit="s", tz="UTC")
        t0 = time.perf_counter()
        past, why = settings_at(settings, when)
        assert past is not None, why
        made = time.perf_counter() - t0
        scene = SceneLoader(past).load(now=when)
        derive_picture(scene)
        total = time.perf_counter() - t0
        ratios.append(total / statistics.median(fresh_s))
        line(
            f"as at {when:%H:%M:%S} ({len(scene['incidents']):,} incidents then)",
            f"{total:.2f} s (folder made {made:.2f} s) = {ratios[-1]:.2f} x a first open",
        )
    line(
        "as at a time of the day against a first open: median / max",
        f"{statistics.median(ratios):.2f} / {max(ratios):.2f} x",
    )
    day = pd.Timestamp(began, unit="s", tz="UTC").tz_convert(settings.timezone).date()
    t0 = time.perf_counter()
    review = review_of(settings, day, pd.Timestamp.now(tz="UTC"))
    assert review is not None
    line(
        f"after-action review of {day:%d %b %Y} ({len(review.serious):,} serious incidents)",
        f"{time.perf_counter() - t0:.1f} s",
    )
    history.close()
    shutil.rmtree(work, ignore_errors=True)


def _s(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (median of {len(values)})"


if __name__ == "__main__":
    main()
