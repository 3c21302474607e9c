"""What the benchmark scripts share: median timing and aligned output."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def line(what: str, value: str) -> None:
    print(f"{what:<62} {value}", flush=True)


def national_folder(folder: Path | None) -> Path:
    """``folder`` holding the national-scale set, generated there (or in a temporary
    folder) when it has none yet."""
    import pandas as pd

    from layers.exercise.scenario import generate

    folder = folder or Path(tempfile.mkdtemp(prefix="pollwatch-national-"))
    if not (folder / "polling_stations.csv").exists():
        t0 = time.perf_counter()
        generate(folder, "national", anchor=pd.Timestamp.now(tz="UTC"))
        line("national scenario generated", f"{time.perf_counter() - t0:.2f} s")
    return folder


def national_arguments(doc: str, repeat: int) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--folder`` (a national set, generated when
    absent) and ``--repeat`` (runs per median)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--folder", type=Path, help="national feeds (generated when absent)")
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser


def loaded(loader: Any) -> Any:
    """The loader's scene once no large file is still being read in the background
    (files of 16 MB or more are read in a thread; a page shows the last good version
    meanwhile)."""
    from layers.analysis.freshness import reading

    scene = loader.load()
    while reading(scene):
        time.sleep(0.05)
        scene = loader.load()
    return scene


def settled(at: Any, limit_s: float = 900.0) -> Any:
    """Run an AppTest until its page no longer says a large file is still being read
    (the page shows the last good data, maybe none, meanwhile): a first open's time is
    the time until the page shows the data."""
    deadline = time.monotonic() + limit_s
    at.run()
    while any("the last good data stays" in str(i.value) for i in at.info):
        if time.monotonic() > deadline:
            raise TimeoutError("the feeds were still being read")
        time.sleep(0.1)
        at.run()
    return at


class Batches:
    """Appended batches on a feed folder, as live systems append them: each one a few new
    incidents (rows of the folder's own, new ids, the next minute's time) and a new ping
    of 60 moving convoys; both files rewritten whole, atomically."""

    def __init__(self, feeds: Path, seed: int = 3) -> None:
        import numpy as np
        import pandas as pd

        self.feeds = feeds
        self.incidents = (feeds / "incidents.csv").read_text(encoding="utf-8")
        self.pings = (feeds / "convoy_positions.csv").read_text(encoding="utf-8")
        self.sample = pd.read_csv(feeds / "incidents.csv", dtype=str, keep_default_na=False)
        ping_rows = pd.read_csv(feeds / "convoy_positions.csv", dtype=str, keep_default_na=False)
        self.moving = ping_rows.drop_duplicates("convoy_id", keep="last").head(60)
        self.rng = np.random.default_rng(seed)
        self.clock = pd.Timestamp.now(tz="UTC").floor("s")
        self.step = 0

    def next(self) -> int:
        """Write the next batch; the incidents it added."""
        import pandas as pd

        from layers.io.files import write_atomic

        self.step += 1
        self.clock += pd.Timedelta(minutes=1)
        stamp = self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        new = self.sample.sample(int(self.rng.poisson(3)) + 1, random_state=self.step)
        new = new.assign(id=[f"B-{self.step}-{k}" for k in range(len(new))], time=stamp)
        self.incidents += new.to_csv(index=False, header=False)
        self.pings += self.moving.assign(time=stamp).to_csv(index=False, header=False)
        write_atomic(self.feeds / "incidents.csv", self.incidents)
        write_atomic(self.feeds / "convoy_positions.csv", self.pings)
        return len(new)
