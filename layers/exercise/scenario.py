"""Synthetic exercise scenarios, generated with a fixed seed.

``sample``: an exercise over Liberia's geography (its 15 counties around their real
capitals, a coarse outline of the country, county areas approximated by Voronoi
cells of the capitals). ``national``: a DR Congo-sized country for benchmarks.
Everything else (stations, bases, routes, pings, incidents) is invented here.

    python -m layers.exercise.scenario data/sample
    python -m layers.exercise.scenario /tmp/national --scale national
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiPoint, box, mapping

from layers.core.manifest import MANIFEST
from layers.core.predicates import SEVERITIES
from layers.exercise.geography import (
    INCIDENT_TYPES,
    LIBERIA,
    PLACES,
    SCALES,
    Geography,
    Region,
    national_geography,
)
from layers.geo import geodesy
from layers.io.files import write_atomic
from layers.map import offline

LABEL = "SYNTHETIC EXERCISE DATA - not real stations, units or incidents"


class _Builder:
    def __init__(self, geo: Geography, counts: dict[str, int], seed: int, anchor: pd.Timestamp):
        self.geo, self.counts, self.anchor = geo, counts, anchor
        self.rng = np.random.default_rng(seed)
        cells = shapely.voronoi_polygons(
            MultiPoint([(r.lon, r.lat) for r in geo.regions]),
            extend_to=box(*geo.outline.buffer(2).bounds),
        )
        outline = (
            geo.outline.intersection(offline.land(geo.outline.bounds))
            if geo.on_land
            else geo.outline
        )
        self.cells = {}
        for region in geo.regions:
            centre = shapely.Point(region.lon, region.lat)
            cell = next(c for c in cells.geoms if c.contains(centre))
            self.cells[region.name] = cell.intersection(outline)
        self.spread = 0.5 * np.sqrt(geo.outline.area / len(geo.regions))

    def area_of(self, lon: np.ndarray, lat: np.ndarray, default: np.ndarray) -> np.ndarray:
        """The region each point lies in (``default`` where it lies in none)."""
        out = default.astype(object).copy()
        for name, cell in self.cells.items():
            out[shapely.contains_xy(cell, lon, lat)] = name
        return out

    def points_in(self, region: Region, n: int, clustered: float = 0.72) -> np.ndarray:
        """n points in a region: a share clustered round the capital and a few towns."""
        cell = self.cells[region.name]
        minx, miny, maxx, maxy = cell.bounds
        towns = [(region.lon, region.lat)]
        while len(towns) < 4:
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if cell.contains(shapely.Point(x, y)):
                towns.append((x, y))
        out: list[tuple[float, float]] = []
        while len(out) < n:
            batch = max(64, 2 * (n - len(out)))
            near = self.rng.random(batch) < clustered
            pick = self.rng.choice(len(towns), batch, p=[0.55, 0.15, 0.15, 0.15])
            centre = np.asarray(towns)[pick]
            sd = self.spread * np.where(pick == 0, 0.12, 0.08)
            xs = np.where(
                near,
                centre[:, 0] + self.rng.normal(0, 1, batch) * sd,
                self.rng.uniform(minx, maxx, batch),
            )
            ys = np.where(
                near,
                centre[:, 1] + self.rng.normal(0, 1, batch) * sd,
                self.rng.uniform(miny, maxy, batch),
            )
            inside = shapely.contains_xy(cell, xs, ys)
            out.extend(zip(xs[inside], ys[inside], strict=True))
        return np.asarray(out[:n])

    def stations(self) -> pd.DataFrame:
        weights = np.array([r.weight for r in self.geo.regions]) ** 0.9
        per_region = np.floor(weights / weights.sum() * self.counts["stations"]).astype(int)
        per_region[np.argmax(per_region)] += self.counts["stations"] - per_region.sum()
        frames = []
        for region, n in zip(self.geo.regions, per_region, strict=True):
            xy = self.points_in(region, int(n))
            district = 1 + (
                np.floor((xy[:, 0] - xy[:, 0].min()) * 3 / (np.ptp(xy[:, 0]) + 1e-9))
            ).astype(int)
            frames.append(
                pd.DataFrame(
                    {
                        "id": [f"{region.code}-{i + 1:05d}" for i in range(n)],
                        "name": [
                            f"{region.capital} {PLACES[i % len(PLACES)]} {i // len(PLACES) + 1}"
                            for i in range(n)
                        ],
                        "admin1": region.name,
                        "admin2": [f"{region.name} District {d}" for d in district],
                        "registered_voters": np.clip(self.rng.lognormal(6.0, 0.5, n), 80, 3000)
                        .round()
                        .astype(int),
                        "status": self.rng.choice(
                            ["open", "planned", "relocated", "suspended", "closed"],
                            n,
                            p=[0.92, 0.03, 0.02, 0.015, 0.015],
                        ),
                        "materials_delivered": self.rng.random(n) < 0.9,
                        "staff_trained": self.rng.random(n) < 0.95,
                        "latitude": xy[:, 1].round(5),
                        "longitude": xy[:, 0].round(5),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def bases(self, stations: pd.DataFrame) -> list[dict]:
        n = self.counts["bases"]
        # Bases sit where people are, but some areas are left thin: real gaps to find.
        thin = {
            r.name
            for r in self.geo.regions
            if r.weight < np.percentile([g.weight for g in self.geo.regions], 25)
        }  # the least populated quarter
        pool = stations[~stations["admin1"].isin(thin) | (self.rng.random(len(stations)) < 0.2)]
        capitals = [(r.lon, r.lat, r.name) for r in self.geo.regions]
        picks = pool.sample(
            max(0, n - len(capitals)),
            random_state=int(self.rng.integers(10**9)),
            weights=pool["registered_voters"],
        )
        sites = capitals + list(
            zip(picks["longitude"], picks["latitude"], picks["admin1"], strict=True)
        )
        features = []
        day = self.anchor.floor("D")
        for i, (lon, lat, area) in enumerate(sites[:n]):
            lon += self.rng.normal(0, 0.01)
            lat += self.rng.normal(0, 0.01)
            radius = float(self.rng.choice([5_000, 7_500, 10_000, 12_500, 15_000]))
            props: dict[str, object] = {
                "id": f"B{i + 1:04d}",
                "unit": f"{['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'][i % 5]} Bn / "
                f"Coy {i // 5 + 1} ({area})",
                "unit_type": UNIT_TYPES[i % len(UNIT_TYPES)],
                "radius_m": radius,
                "status": "standby" if self.rng.random() < 0.12 else "active",
            }
            if self.rng.random() < 0.2:  # a day shift that ends before polls close
                props["shift_start"] = _iso(day + pd.Timedelta(hours=6))
                props["shift_end"] = _iso(day + pd.Timedelta(hours=int(self.rng.integers(13, 17))))
            if i % 20 == 3:  # a few bases given as compound polygons
                d = 0.003
                geom = mapping(box(lon - d, lat - d, lon + d * 1.5, lat + d))
            else:
                geom = {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]}
            features.append({"type": "Feature", "properties": props, "geometry": geom})
        return features

    def routes_and_pings(self) -> tuple[list[dict], pd.DataFrame]:
        regions = self.geo.regions
        hub = max(regions, key=lambda r: r.weight)
        others = [r for r in regions if r is not hub]
        routes, pings = [], []
        states = [
            "en route",
            "en route",
            "en route",
            "arrived",
            "scheduled",
            "delayed",
            "en route",
            "stale",
            "en route",
            "arrived",
            "en route",
            "off route",
        ]
        for i in range(self.counts["routes"]):
            dest = others[i % len(others)]
            a, b = (hub, dest) if i % 2 == 0 else (dest, hub)
            if i >= 2 * len(others):  # beyond the capital links, join random neighbours
                a, b = self.rng.choice(len(regions), 2, replace=False)
                a, b = regions[a], regions[b]
            line = self._road(a, b)
            length_km = geodesy.GEOD.geometry_length(line) / 1000
            speed = float(self.rng.uniform(25, 40))
            state = states[i % len(states)]
            hours = length_km / speed
            if state == "arrived":
                depart = self.anchor - pd.Timedelta(hours=hours + self.rng.uniform(0.5, 3))
            elif state == "scheduled":
                depart = self.anchor + pd.Timedelta(hours=self.rng.uniform(1, 4))
            elif state == "delayed":
                depart = self.anchor - pd.Timedelta(hours=hours * 1.1)
            else:
                depart = self.anchor - pd.Timedelta(hours=hours * self.rng.uniform(0.2, 0.8))
            arrive = depart + pd.Timedelta(hours=hours)
            convoy = f"C{i + 1:03d}"
            cargo = ["ballot papers", "result sheets", "polling kits"][i % 3]
            routes.append(
                {
                    "type": "Feature",
                    "geometry": mapping(line),
                    "properties": {
                        "route_id": f"R{i + 1:03d}",
                        "convoy_id": convoy,
                        "cargo": cargo,
                        "origin": a.capital,
                        "destination": b.capital,
                        "planned_departure": _iso(depart),
                        "planned_arrival": _iso(arrive),
                    },
                }
            )
            pings.extend(self._pings(convoy, line, depart, speed, state, length_km))
        return routes, pd.DataFrame(pings)

    def _road(self, a: Region, b: Region) -> LineString:
        """A plausible winding road: the straight line bent a little, many vertices."""
        t = np.linspace(0, 1, 40)
        x = a.lon + (b.lon - a.lon) * t
        y = a.lat + (b.lat - a.lat) * t
        length = np.hypot(b.lon - a.lon, b.lat - a.lat)
        bend = np.sin(np.pi * t) * self.rng.normal(0, 0.08) * length
        wiggle = np.cumsum(self.rng.normal(0, 0.004, len(t))) * np.sin(np.pi * t)
        nx, ny = -(b.lat - a.lat) / length, (b.lon - a.lon) / length
        return LineString(
            np.column_stack((x + (bend + wiggle) * nx, y + (bend + wiggle) * ny)).round(5)
        )

    def _pings(
        self,
        convoy: str,
        line: LineString,
        depart: pd.Timestamp,
        speed: float,
        state: str,
        length_km: float,
    ) -> list[dict]:
        if state == "scheduled":
            return []
        end = min(self.anchor, depart + pd.Timedelta(hours=length_km / speed))
        if state == "delayed":
            speed *= 0.8
            end = self.anchor
        if state == "stale":
            end = self.anchor - pd.Timedelta(minutes=47)
        times = pd.date_range(depart, end, freq="5min")
        out = []
        for k, when in enumerate(times):
            hours = (when - depart).total_seconds() / 3600
            share = min(1.0, hours * speed / length_km)
            point = line.interpolate(share, normalized=True)
            x, y = point.x + self.rng.normal(0, 0.0002), point.y + self.rng.normal(0, 0.0002)
            if state == "off route" and k > len(times) * 0.7:
                x += 0.03 * (k - len(times) * 0.7) / max(1, len(times) * 0.3)
            out.append(
                {
                    "convoy_id": convoy,
                    "time": _iso(when),
                    "latitude": round(y, 5),
                    "longitude": round(x, 5),
                    "speed_kmh": round(speed, 1),
                }
            )
        if state == "arrived":
            x, y = line.coords[-1]
            out.append(
                {
                    "convoy_id": convoy,
                    "time": _iso(end),
                    "latitude": round(y, 5),
                    "longitude": round(x, 5),
                    "speed_kmh": 0.0,
                }
            )
        return out

    def incidents(self, stations: pd.DataFrame) -> pd.DataFrame:
        n = self.counts["incidents"]
        # Three weeks up to election day, busier towards the end; a steady trickle today.
        ages_h = np.concatenate(
            [
                self.rng.power(2.5, int(n * 0.9)) * -21 * 24 + 21 * 24,
                self.rng.uniform(0, 24, n - int(n * 0.9)),
            ]
        )
        near = stations.sample(n, replace=True, random_state=int(self.rng.integers(10**9)))
        types = self.rng.choice(len(INCIDENT_TYPES), n, p=[t[1] for t in INCIDENT_TYPES])
        sev = [self.rng.choice(SEVERITIES, p=INCIDENT_TYPES[t][2]) for t in types]
        fatal = [
            int(self.rng.poisson(2))
            if s == "critical"
            else int(self.rng.random() < 0.2)
            if s == "high"
            else 0
            for s in sev
        ]
        times = [self.anchor - pd.Timedelta(hours=float(a)) for a in ages_h]
        sources = (
            "UNPOL",
            "Electoral commission hotline",
            "Observer mission",
            "Local media",
            "Civil society monitor",
        )
        source = self.rng.choice(sources, n)
        verified = self.rng.random(n) < 0.6
        lat = (near["latitude"].to_numpy() + self.rng.normal(0, 0.015, n)).round(5)
        lon = (near["longitude"].to_numpy() + self.rng.normal(0, 0.015, n)).round(5)
        # Near its station, and on the country's land: a coastal one stays at the station.
        country = shapely.union_all(list(self.cells.values()))
        off = ~shapely.contains_xy(country, lon, lat)
        lat[off] = near["latitude"].to_numpy()[off]
        lon[off] = near["longitude"].to_numpy()[off]
        return pd.DataFrame(
            {
                "id": [f"INC-{i + 1:05d}" for i in range(n)],
                "time": [_iso(t) for t in times],
                "type": [INCIDENT_TYPES[t][0] for t in types],
                "severity": sev,
                "fatalities": fatal,
                "description": [
                    f"Exercise inject: {INCIDENT_TYPES[t][0].lower()} reported near {name}."
                    for t, name in zip(types, near["name"], strict=True)
                ],
                "source": source,
                "verified": verified,
                # Moved off its station, an incident may cross into the next county.
                "admin1": self.area_of(lon, lat, near["admin1"].to_numpy()),
                "latitude": lat,
                "longitude": lon,
            }
        ).sort_values("time", ignore_index=True)

    def storage_sites(self, bases: list[dict]) -> list[dict]:
        """A county magazine near each capital, a warehouse in each of the busiest regions
        and a few UN compounds used as stores (outlines); one magazine compromised, one
        warehouse closed, stock short in the least populated regions."""
        regions = sorted(self.geo.regions, key=lambda r: -r.weight)
        thin = {r.name for r in regions[-max(1, len(regions) // 4) :]}
        features: list[dict[str, Any]] = []

        def site(
            kind: str, region: Region, lon: float, lat: float, geom: dict | None = None
        ) -> None:
            capacity = int(
                self.rng.choice([400, 600, 800, 1200]) * (3 if kind == "warehouse" else 1)
            )
            filled = (
                self.rng.uniform(0.15, 0.4) if region.name in thin else self.rng.uniform(0.6, 0.95)
            )
            n = len(features) + 1
            props = {
                "id": f"ST{n:03d}",
                "name": f"{region.capital} {kind.replace('_', ' ')}"
                + (f" {n}" if kind == "compound" else ""),
                "kind": kind,
                "admin1": region.name,
                "capacity": capacity,
                "ballot_kits": int(capacity * filled),
                "sensitive_materials": int(self.rng.integers(20, 200)),
                "guard_unit": f"{['Alpha', 'Bravo', 'Charlie'][n % 3]} Bn guard platoon {n}",
                "status": "open",
                "updated": _iso(
                    self.anchor - pd.Timedelta(minutes=int(self.rng.integers(10, 600)))
                ),
            }
            point = {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]}
            features.append({"type": "Feature", "properties": props, "geometry": geom or point})

        for region in regions:
            site("county_magazine", region, region.lon + 0.01, region.lat - 0.008)
        for region in regions[: max(1, len(regions) // 3)]:
            site("warehouse", region, region.lon - 0.015, region.lat + 0.012)
        for base in bases[:: max(1, len(bases) // 4)][:4]:  # compounds that also store
            lon, lat = shapely.geometry.shape(base["geometry"]).centroid.coords[0]
            region = next(r for r in regions if r.name in base["properties"]["unit"])
            d = 0.002
            outline = mapping(box(lon - d, lat - d, lon + d, lat + d))
            site("compound", region, lon, lat, outline)
        features[len(regions) - 1]["properties"]["status"] = "compromised"  # a thin magazine
        features[len(regions)]["properties"]["status"] = "closed"  # the busiest warehouse
        features[len(regions)]["properties"]["ballot_kits"] = 0
        return features

    def deliveries(
        self, stations: pd.DataFrame, stores: list[dict], routes: list[dict]
    ) -> pd.DataFrame:
        """Chain-of-custody events of the materials of every station (ballot kit and
        sensitive materials): dispatched from the county magazine the day before polling
        day, receipt signed hours later. Gaps: the least populated county lags (late
        dispatch, some still on the road), a few stations wait for their sensitive
        materials, a few have only a plan, three lost them. Only events before the
        anchor (now) are written."""
        day = self.anchor.floor("D")
        magazine = {
            f["properties"]["admin1"]: f["properties"]["id"]
            for f in stores
            if f["properties"]["kind"] == "county_magazine"
        }
        capital_of = {r.capital: r.name for r in self.geo.regions}
        on_road: dict[str, str] = {}  # area -> a convoy on its way there now
        for f in routes:
            p = f["properties"]
            depart, arrive = (
                pd.Timestamp(p["planned_departure"]),
                pd.Timestamp(p["planned_arrival"]),
            )
            if depart <= self.anchor < arrive and p["destination"] in capital_of:
                on_road.setdefault(capital_of[p["destination"]], p["convoy_id"])
        lagging = min(self.geo.regions, key=lambda r: r.weight).name
        n = len(stations)
        rows: list[tuple] = []
        draw = self.rng.random((n, 4))
        for i, (sid, area) in enumerate(zip(stations["id"], stations["admin1"], strict=True)):
            late = area == lagging
            site = magazine.get(area)
            for k, kind in enumerate(("ballot_kit", "sensitive_materials")):
                u = draw[i, k]
                count = 1 if kind == "ballot_kit" else 40
                if draw[i, 2] < 0.01:  # only planned so far
                    rows.append(
                        (
                            day - pd.Timedelta(days=3, hours=-9),
                            sid,
                            kind,
                            "planned",
                            count,
                            site,
                            None,
                            None,
                        )
                    )
                    continue
                hours = 16 + 14 * u if late else 5 + 9 * u
                sent = day - pd.Timedelta(days=1) + pd.Timedelta(hours=hours)
                convoy = on_road.get(area) if late else f"T-{area[:3].upper()}-{1 + i % 7}"
                rows.append((sent, sid, kind, "dispatched", count, site, convoy, None))
                stuck = (late and u > 0.85) or (kind == "sensitive_materials" and draw[i, 3] < 0.01)
                if stuck:
                    continue  # still on the road
                if kind == "sensitive_materials" and i in (17, 1711, 3033):
                    rows.append(
                        (
                            sent + pd.Timedelta(hours=9),
                            sid,
                            kind,
                            "missing",
                            count,
                            site,
                            convoy,
                            None,
                        )
                    )
                    continue
                signed = sent + pd.Timedelta(hours=2 + 6 * draw[i, 3])
                rows.append(
                    (
                        signed,
                        sid,
                        kind,
                        "receipt_signed",
                        count,
                        site,
                        convoy,
                        f"Presiding officer {sid}",
                    )
                )
        frame = pd.DataFrame(
            rows,
            columns=[
                "time",
                "station_id",
                "item_kind",
                "state",
                "count",
                "storage_site",
                "convoy_id",
                "signed_by",
            ],
        )
        frame = frame[frame["time"] <= self.anchor].sort_values("time", kind="stable")
        frame["time"] = frame["time"].map(_iso)
        return frame.reset_index(drop=True)

    def training(self, stations: pd.DataFrame) -> pd.DataFrame:
        """Training sessions in the fortnight before polling day, each for ten stations of
        one region (their presiding officers, clerks and others); one region lags (almost
        half its stations' staff not trained yet); the capital's region also had refresher
        sessions for all its stations (no list)."""
        day = self.anchor.floor("D")
        regions = sorted(self.geo.regions, key=lambda r: r.weight)
        lagging = regions[len(regions) // 2].name
        capital = regions[-1]
        rows = []
        for region in self.geo.regions:
            mine = stations[stations["admin1"] == region.name]
            for k, start in enumerate(range(0, len(mine), 10)):
                group = mine.iloc[start : start + 10]
                done = self.rng.random()
                if (region.name == lagging and done < 0.45) or done < 0.02:
                    continue  # not trained yet
                needed = int(group["staff_needed"].sum())
                came = needed if region.name != lagging else int(needed * 0.8)
                rows.append(
                    {
                        "id": f"TR-{region.code}-{k + 1:03d}",
                        "date": _iso(day - pd.Timedelta(days=int(self.rng.integers(3, 15)))),
                        "place": f"{region.capital} training centre",
                        "admin1": region.name,
                        "trainer": f"Trainer {region.code}-{1 + k % 4}",
                        "presiding_officers": len(group),
                        "poll_clerks": max(0, came - 2 * len(group)),
                        "other_staff": len(group),
                        "stations": ";".join(group["id"]),
                    }
                )
        for k in range(2):
            rows.append(
                {
                    "id": f"TR-{capital.code}-R{k + 1}",
                    "date": _iso(day - pd.Timedelta(days=2 - k)),
                    "place": f"{capital.capital} city hall",
                    "admin1": capital.name,
                    "trainer": "Refresher team",
                    "presiding_officers": 0,
                    "poll_clerks": 0,
                    "other_staff": 40,
                    "stations": "",
                }
            )
        return pd.DataFrame(rows).sort_values("date", kind="stable").reset_index(drop=True)

    def areas(self) -> list[dict]:
        return [
            {
                "type": "Feature",
                "geometry": mapping(self.cells[r.name].simplify(0.002)),
                "properties": {"name": r.name, "code": r.code, "level": 1, "capital": r.capital},
            }
            for r in self.geo.regions
        ]


def _iso(t: pd.Timestamp) -> str:
    return t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _collection(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))


UNIT_TYPES = ("infantry", "formed police", "infantry", "engineers", "quick reaction")


def generate(
    out: Path, scale: str = "sample", seed: int = 20261011, anchor: pd.Timestamp | None = None
) -> dict[str, int]:
    """Write a scenario's feeds into ``out`` (atomically, file by file); returns row counts.

    Times are relative to ``anchor`` (default: now, to the minute), which the manifest
    records so that readers can move the whole scenario to the present.
    """
    anchor = (pd.Timestamp.now(tz="UTC") if anchor is None else anchor).floor("min")
    rng = np.random.default_rng(seed)
    geo = LIBERIA if scale == "sample" else national_geography(rng)
    b = _Builder(geo, SCALES[scale], seed, anchor)
    stations = b.stations()
    stations["staff_needed"] = np.clip(3 + stations["registered_voters"] // 250, 3, 9)
    relocated = stations["status"] == "relocated"  # these open two hours late
    late = _iso(anchor.floor("D") + pd.Timedelta(hours=9))
    stations["opens"] = [late if moved else None for moved in relocated]
    bases = b.bases(stations)
    routes, pings = b.routes_and_pings()
    incidents = b.incidents(stations)
    stores = b.storage_sites(bases)  # after the others: their draws stay as they were
    deliveries = b.deliveries(stations, stores, routes)
    training = b.training(stations)
    out = Path(out)
    write_atomic(out / "polling_stations.csv", stations.to_csv(index=False))
    write_atomic(out / "patrols.geojson", _collection(bases))
    write_atomic(out / "convoy_routes.geojson", _collection(routes))
    write_atomic(out / "convoy_positions.csv", pings.to_csv(index=False))
    write_atomic(out / "incidents.csv", incidents.to_csv(index=False))
    write_atomic(out / "areas.geojson", _collection(b.areas()))
    write_atomic(out / "storage_sites.geojson", _collection(stores))
    write_atomic(out / "deliveries.csv", deliveries.to_csv(index=False))
    write_atomic(out / "training.csv", training.to_csv(index=False))
    write_atomic(
        out / MANIFEST,
        json.dumps(
            {
                "label": LABEL,
                "synthetic": True,
                "geography": geo.name,
                "scale": scale,
                "seed": seed,
                "anchor": _iso(anchor),
                "shift_times_to_now": True,
            },
            indent=2,
        )
        + "\n",
    )
    return {
        "polling_stations": len(stations),
        "patrols": len(bases),
        "convoy_routes": len(routes),
        "convoy_positions": len(pings),
        "incidents": len(incidents),
        "areas": len(geo.regions),
        "storage_sites": len(stores),
        "deliveries": len(deliveries),
        "training": len(training),
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: write a scenario folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the feeds into")
    parser.add_argument("--scale", choices=sorted(SCALES), default="sample")
    parser.add_argument("--seed", type=int, default=20261011)
    args = parser.parse_args(argv)
    counts = generate(args.out, args.scale, args.seed)
    print(", ".join(f"{k}: {v:,}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
