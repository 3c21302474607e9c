"""Replay the sample scenario as live feeds, so anyone can watch the dashboard move.

    python -m layers.exercise.simulator OUT [--interval 5] [--steps 0] [--seed 20261011]

Writes the sample scenario into OUT with its times at the present, then every
``--interval`` seconds adds incidents, a position ping for each convoy on the road and
the next step of a few deliveries still on their way, rewriting ``incidents.csv``,
``convoy_positions.csv`` and ``deliveries.csv`` atomically (a reader sees the
old file or the new one, never half of one). ``--keep-hours H`` keeps only the last H
hours of reports in both files, as a feed of "the last day" does, so a long run's feeds
stop growing; without it they grow all day. One convoy leaves its route and one
stops reporting, so the dashboard's warnings have something to show. ``--steps 0``
runs until interrupted. Point the dashboard at OUT with ``POLLWATCH_FEEDS=OUT``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from layers.exercise.scenario import LABEL, MANIFEST, generate
from layers.io.files import write_atomic

INCIDENT_TYPES = (
    ("Protest", "low"),
    ("Intimidation of voters", "medium"),
    ("Road blockade", "medium"),
    ("Armed attack", "high"),
    ("Destruction of electoral material", "high"),
    ("Violence against civilians", "critical"),
)
OFF_ROUTE_DEG = 0.04  # about 4.4 km north-east of the route
SIMULATED = f"{LABEL} (live simulation)"


@dataclass
class Convoy:
    """A convoy on the road: its route, how far along it is, and how it misbehaves."""

    convoy_id: str
    line: shapely.LineString
    fraction: float  # of the route's length done
    speed_kmh: float
    length_km: float
    off_route: bool = False
    silent: bool = False


class Simulator:
    """The sample scenario in ``out``, advanced one step at a time."""

    def __init__(
        self,
        out: Path,
        seed: int = 20261011,
        start: pd.Timestamp | None = None,
        keep_hours: float | None = None,
    ):
        self.out = Path(out)
        self.keep = None if keep_hours is None else pd.Timedelta(hours=keep_hours)
        self.rng = np.random.default_rng(seed)
        self.now = (pd.Timestamp.now(tz="UTC") if start is None else start).floor("s")
        generate(self.out, "sample", seed, anchor=self.now)
        manifest = json.loads((self.out / MANIFEST).read_text())
        # Times are already at the present: do not move them again as the clock runs.
        manifest.update(label=SIMULATED, shift_times_to_now=False, live=True)
        write_atomic(self.out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        self.stations = pd.read_csv(self.out / "polling_stations.csv")
        self.incidents = pd.read_csv(self.out / "incidents.csv", dtype=str, keep_default_na=False)
        self.pings = pd.read_csv(
            self.out / "convoy_positions.csv", dtype=str, keep_default_na=False
        )
        self.deliveries = pd.read_csv(self.out / "deliveries.csv", dtype=str, keep_default_na=False)
        self.convoys = self._on_the_road()
        self.serial = 0

    def _on_the_road(self) -> list[Convoy]:
        routes = json.loads((self.out / "convoy_routes.geojson").read_text())["features"]
        convoys = []
        for feature in routes:
            props = feature["properties"]
            depart = pd.Timestamp(props["planned_departure"])
            arrive = pd.Timestamp(props["planned_arrival"])
            if not depart <= self.now < arrive:
                continue
            line = shapely.geometry.shape(feature["geometry"])
            hours = (arrive - depart).total_seconds() / 3600
            length_km = float(shapely.length(line)) * 111.0
            done = (self.now - depart).total_seconds() / 3600 / hours
            convoys.append(
                Convoy(props["convoy_id"], line, min(done, 0.99), length_km / hours, length_km)
            )
        if convoys:
            convoys[0].off_route = True
        if len(convoys) > 1:
            convoys[1].silent = True
        return convoys

    def step(self, seconds: float = 60.0, incidents: int | None = None) -> dict[str, int]:
        """Move the clock by ``seconds``: new incidents and pings, written atomically."""
        self.now = self.now + pd.Timedelta(seconds=seconds)
        count = int(self.rng.poisson(1.5)) + 1 if incidents is None else incidents
        rows = []
        for _ in range(count):
            station = self.stations.iloc[int(self.rng.integers(len(self.stations)))]
            kind, severity = INCIDENT_TYPES[int(self.rng.integers(len(INCIDENT_TYPES)))]
            self.serial += 1
            rows.append(
                {
                    "id": f"SIM-{self.now:%H%M%S}-{self.serial:04d}",
                    "time": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "type": kind,
                    "severity": severity,
                    "fatalities": "0",
                    "description": f"Simulated report: {kind.lower()} near {station['name']}.",
                    "source": "Simulator",
                    "verified": "False",
                    "admin1": station["admin1"],
                    "latitude": f"{station['latitude'] + self.rng.normal(0, 0.02):.5f}",
                    "longitude": f"{station['longitude'] + self.rng.normal(0, 0.02):.5f}",
                }
            )
        self.incidents = pd.concat([self.incidents, pd.DataFrame(rows)], ignore_index=True)
        pings = []
        for convoy in self.convoys:
            convoy.fraction = min(
                1.0,
                convoy.fraction + convoy.speed_kmh * seconds / 3600 / max(convoy.length_km, 1e-6),
            )
            if convoy.silent:
                continue
            point = convoy.line.interpolate(convoy.fraction, normalized=True)
            lon, lat = point.x, point.y
            if convoy.off_route:
                lon, lat = lon + OFF_ROUTE_DEG, lat + OFF_ROUTE_DEG
            pings.append(
                {
                    "convoy_id": convoy.convoy_id,
                    "time": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "latitude": f"{lat:.5f}",
                    "longitude": f"{lon:.5f}",
                    "speed_kmh": f"{convoy.speed_kmh:.1f}",
                }
            )
        if pings:
            self.pings = pd.concat([self.pings, pd.DataFrame(pings)], ignore_index=True)
        if self.keep is not None:
            self.incidents = self._recent(self.incidents)
            self.pings = self._recent(self.pings)
        moved = self._deliver()
        write_atomic(self.out / "incidents.csv", self.incidents.to_csv(index=False))
        write_atomic(self.out / "convoy_positions.csv", self.pings.to_csv(index=False))
        if moved:
            write_atomic(self.out / "deliveries.csv", self.deliveries.to_csv(index=False))
        return {"incidents": len(rows), "pings": len(pings), "deliveries": moved}

    NEXT = {"planned": "dispatched", "loaded": "dispatched", "dispatched": "receipt_signed"}

    def _deliver(self) -> int:
        """A few items still on their way take their next step (dispatched, then signed
        for at the station): rows appended to the chain of custody, as a commission's
        system would."""
        latest = self.deliveries.drop_duplicates(["station_id", "item_kind"], keep="last")
        waiting = latest[latest["state"].isin(list(self.NEXT))]
        count = min(len(waiting), int(self.rng.poisson(1.0)))
        if not count:
            return 0
        picked = waiting.iloc[self.rng.choice(len(waiting), count, replace=False)]
        rows = picked.assign(
            time=self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            state=picked["state"].map(self.NEXT),
            signed_by=[
                f"Presiding officer {sid}" if state == "dispatched" else ""
                for sid, state in zip(picked["station_id"], picked["state"], strict=True)
            ],
        )
        self.deliveries = pd.concat([self.deliveries, rows], ignore_index=True)
        return count

    def _recent(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows of the last ``keep`` hours; a row whose time does not read stays (the
        scenario's deliberate faults are part of the feed)."""
        times = pd.to_datetime(rows["time"], utc=True, errors="coerce", format="mixed")
        old = times < self.now - self.keep
        return rows[~old.to_numpy()].reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    """Command line: replay the sample scenario into a folder, live."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder the dashboard reads (POLLWATCH_FEEDS)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between steps")
    parser.add_argument("--steps", type=int, default=0, help="0: until interrupted")
    parser.add_argument("--seed", type=int, default=20261011)
    parser.add_argument(
        "--keep-hours", type=float, default=None, help="keep only the last H hours of reports"
    )
    args = parser.parse_args(argv)
    sim = Simulator(args.out, args.seed, keep_hours=args.keep_hours)
    print(
        f"Simulating into {args.out}: POLLWATCH_FEEDS={args.out} streamlit run dashboard/app.py",
        flush=True,
    )
    step = 0
    try:
        while args.steps == 0 or step < args.steps:
            time.sleep(args.interval)
            step += 1
            # Real time between steps, so pings and incidents carry the wall clock.
            elapsed = (pd.Timestamp.now(tz="UTC") - sim.now).total_seconds()
            added = sim.step(seconds=max(elapsed, 0.0))
            print(
                f"{sim.now:%H:%M:%S} +{added['incidents']} incidents, "
                f"+{added['pings']} convoy pings, +{added['deliveries']} delivery events",
                flush=True,
            )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
