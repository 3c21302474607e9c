"""Server time of a refresh of the operations page at national scale.

    python benchmarks/refresh.py [--folder DIR] [--repeat N]

A refresh reruns the page's live part; here the whole page is rerun with AppTest (an
upper bound of the fragment's cost): once when no feed changed, once when only the
incidents file was rewritten (a few rows added, atomically). Medians of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import line, national_folder  # noqa: E402

from layers.feeds import write_atomic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, help="national feeds (generated when absent)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = national_folder(args.folder)
    from streamlit.testing.v1 import AppTest

    os.environ["POLLWATCH_FEEDS"] = str(folder)
    at = AppTest.from_file(str(ROOT / "dashboard" / "operations.py"), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    assert not at.exception, at.exception
    line("first run, cold caches", f"{time.perf_counter() - t0:.2f} s")
    at.run()  # warm

    unchanged = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        at.run()
        unchanged.append(time.perf_counter() - t0)
    line("refresh, no feed changed (whole page)", f"{statistics.median(unchanged):.2f} s")

    path = folder / "incidents.csv"
    text = path.read_text()
    last = text.splitlines()[-1].split(",")
    changed = []
    for i in range(args.repeat):
        last[0] = f"BENCH-{time.time_ns()}-{i}"
        text = text + ",".join(last) + "\n"
        write_atomic(path, text)
        t0 = time.perf_counter()
        at.run()
        changed.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
    line("refresh, only incidents changed (whole page)", f"{statistics.median(changed):.2f} s")


if __name__ == "__main__":
    main()
