"""The ingest: the feed folder into PostgreSQL/PostGIS, read exactly as the dashboard reads
it (the same readers, checks and last-good rules), each version it takes written once.

    python -m layers.ingest --database postgresql://... [--once] [--every 15]

Run one per mission, beside the folder the other systems write (``POLLWATCH_FEEDS``);
dashboards anywhere read the database (``POLLWATCH_DATABASE``). A version is written
whole, or, when its feed only had rows appended, as those rows. The history store
(:mod:`layers.io.history`) is kept in the same database: the replay and the after-action
review of every dashboard read it.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import dataclass, field, replace

import geopandas as gpd

from layers.core import growth
from layers.core.settings import Settings
from layers.io.database import Database
from layers.io.history import History
from layers.io.spec import empty_frame
from layers.registry import REGISTRY
from layers.scene import SceneLoader

log = logging.getLogger("pollwatch.ingest")


@dataclass
class Ingest:
    """What was written last, per feed: its file's signature and the frame written."""

    loader: SceneLoader
    db: Database
    written: dict[str, tuple[object, gpd.GeoDataFrame]] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings, url: str) -> Ingest:
        """The ingest of ``settings``' folder into the database at ``url``, with the
        history store there: every version it takes is kept for the replay and the
        after-action review of every dashboard, and each feed's state as it changes."""
        db = Database(url)  # first: it makes the schema the history's tables sit beside
        folder = replace(settings, database=None, history=None)
        return cls(SceneLoader(folder, history=History.at(url)), db)

    def once(self) -> dict[str, int]:
        """One look at the folder; the versions written, by feed."""
        if not self.written:
            scenario = self.loader.scenario
            self.db.set_scenario(scenario.label, scenario.synthetic, scenario.time_shift)
        got = self.loader.store.get_all(REGISTRY)  # as read: each dashboard runs the checks
        made = {}
        for name, version in got.items():
            if version.path is None and version.data is None:
                continue  # no file (yet): nothing to say beyond the dashboard's own banner
            if version.data is None and any(p.kind == "reading" for p in version.problems):
                continue  # a large first file still being read: written when it is in
            key = (version.signature, version.stale_copy, len(version.problems))
            before = self.written.get(name)
            if before is not None and before[0] == key:
                continue
            frame = version.data if version.data is not None else empty_frame(REGISTRY[name].SPEC)
            added = growth.added_rows(frame, before[1]) if before is not None else None
            started = time.perf_counter()
            made[name] = self.db.publish(
                REGISTRY[name].SPEC,
                frame,
                [p for p in version.problems if p.kind != "reading"],
                version.path.name if version.path is not None else None,
                version.updated,
                version.content,
                added=added if added is not None and len(added) < len(frame) else None,
                stale_copy=version.stale_copy,
            )
            log.info(
                "%s: version %d written (%s rows%s) in %.2f s",
                name,
                made[name],
                f"{len(frame):,}",
                f", {len(added):,} appended" if added is not None else "",
                time.perf_counter() - started,
            )
            self.written[name] = (key, frame)
        if self.loader.history is not None:
            self.loader.load()  # notes each feed's state, as screens show it, when it changes
        return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("POLLWATCH_DATABASE"))
    parser.add_argument("--once", action="store_true", help="one look, then stop")
    parser.add_argument("--every", type=float, default=None, help="seconds between looks")
    args = parser.parse_args(argv)
    if not args.database:
        parser.error("give --database or set POLLWATCH_DATABASE (a PostgreSQL URL)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.from_env()
    ingest = Ingest.of(settings, args.database)
    every = args.every or settings.refresh_s or 15.0
    while True:
        ingest.once()
        if args.once:
            return
        time.sleep(every)


if __name__ == "__main__":
    main()
