"""Early warning: stations near recent serious incidents, kept between reruns and grown
with the feed (:class:`Risk`). Pure functions of frames; distances geodesic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core import growth
from layers.core.predicates import at_least, in_window, located
from layers.geo import geodesy


def _serious_mask(
    incidents: gpd.GeoDataFrame, now: pd.Timestamp, min_severity: str, hours: float
) -> np.ndarray:
    """Located incidents of at least ``min_severity`` in the ``hours`` before ``now``."""
    return (
        at_least(incidents["severity"], min_severity)
        & in_window(incidents["time"], now, hours)
        & located(incidents.geometry)
    )


def _located(stations: gpd.GeoDataFrame) -> np.ndarray:
    """Row positions of the stations with a location: the rows of their map dataset."""
    geoms = stations.geometry
    return growth.kept(stations, "located", lambda: np.flatnonzero(located(geoms)))


def _station_index(stations: gpd.GeoDataFrame) -> geodesy.SphereIndex:
    """The located stations' search tree."""

    def build() -> geodesy.SphereIndex:
        pts = stations.geometry.to_numpy()[_located(stations)]
        return geodesy.SphereIndex(shapely.get_x(pts), shapely.get_y(pts))

    return growth.kept(stations, "index", build)


PAIR_COLUMNS = [
    "station_id",
    "station",
    "area",
    "incident_id",
    "type",
    "severity",
    "time",
    "distance_km",
    "incidents",
]


SUMMARY_COLUMNS = ["station_id", "station", "area", "incidents", "nearest_incident", "nearest_km"]


@dataclass(frozen=True)
class Risk:
    """Stations within ``within_m`` of incidents of at least ``min_severity`` in the
    ``hours`` before ``now``, as numbers: pair k is located station ``s[k]`` (a row of the
    stations' map dataset), incident row ``e[k]`` of ``events``, ``d[k]`` metres apart.

    Tables and the map overlay are built from these arrays, once per Risk. When the
    incidents feed grows, :meth:`grown` searches around the new incidents only.
    """

    stations: gpd.GeoDataFrame
    events: gpd.GeoDataFrame
    now: pd.Timestamp
    min_severity: str
    within_m: float
    hours: float
    s: np.ndarray
    e: np.ndarray
    d: np.ndarray
    serious: np.ndarray  # rows of ``events`` at or above the severity in the window

    @classmethod
    def find(
        cls,
        stations: gpd.GeoDataFrame,
        incidents: gpd.GeoDataFrame,
        now: pd.Timestamp,
        min_severity: str = "high",
        within_m: float = 5_000.0,
        hours: float = 24.0,
    ) -> Risk:
        empty = np.zeros(0, dtype=np.int64)
        risk = cls(
            stations,
            incidents.iloc[0:0],
            now,
            min_severity,
            within_m,
            hours,
            empty,
            empty,
            np.zeros(0),
            empty,
        )
        return risk._with(incidents, incidents, 0)

    def grown(self, incidents: gpd.GeoDataFrame) -> Risk:
        """This risk with ``incidents`` as its events: only the rows they added to this
        risk's events are searched (see :mod:`layers.core.growth`); found anew when they are
        not this risk's events grown."""
        if incidents is self.events:
            return self
        added = growth.added_rows(incidents, self.events)
        if added is None:
            return Risk.find(
                self.stations, incidents, self.now, self.min_severity, self.within_m, self.hours
            )
        return self._with(incidents, added, len(self.events))

    def moved(self, now: pd.Timestamp) -> Risk:
        """This risk at another time: the pairs of incidents that left the window are
        dropped, and only the incidents that entered it are searched."""
        if now == self.now:
            return self
        rows = np.flatnonzero(_serious_mask(self.events, now, self.min_severity, self.hours))
        kept = np.isin(self.e, rows)
        came = np.setdiff1d(rows, self.serious, assume_unique=True)
        s, e, d = self._pairs_of(self.events, came)
        return replace(
            self,
            now=now,
            s=np.concatenate([self.s[kept], s]),
            e=np.concatenate([self.e[kept], e]),
            d=np.concatenate([self.d[kept], d]),
            serious=rows,
        )

    def _pairs_of(
        self, events: gpd.GeoDataFrame, rows: np.ndarray, offset: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(station, incident row + ``offset``, metres) of the stations within reach of
        incident ``rows`` of ``events``."""
        if not len(rows) or not len(_located(self.stations)):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        pts = events.geometry.to_numpy()[rows]
        elon, elat = shapely.get_x(pts), shapely.get_y(pts)
        index = _station_index(self.stations)
        s, k = index.within(elon, elat, self.within_m)
        d = geodesy.distances_m(index.lon[s], index.lat[s], elon[k], elat[k])
        return s, rows[k] + offset, d

    def _with(self, incidents: gpd.GeoDataFrame, added: gpd.GeoDataFrame, offset: int) -> Risk:
        rows = np.flatnonzero(_serious_mask(added, self.now, self.min_severity, self.hours))
        s, e, d = self._pairs_of(added, rows, offset)
        grown = replace(
            self,
            events=incidents,
            s=np.concatenate([self.s, s]),
            e=np.concatenate([self.e, e]),
            d=np.concatenate([self.d, d]),
            serious=np.concatenate([self.serious, rows + offset]),
        )
        if "per_station" in self.__dict__ and offset:  # known: update it with the new pairs
            grown.__dict__["per_station"] = _updated(self.per_station, s, e, d)
        return grown

    def recent(self, count: int | None = None) -> gpd.GeoDataFrame:
        """The serious incidents of this risk, newest first (the ``count`` newest)."""
        rows = self.serious
        if not len(rows):
            return self.events.iloc[0:0]
        times = self.events["time"].array.asi8[rows]
        order = np.argsort(-times, kind="stable")
        return self.events.iloc[rows[order[:count]]]

    def _station_values(self, column: str, at: np.ndarray) -> pd.Series:
        frame = self.stations
        if column not in frame:
            return pd.Series(np.full(len(at), None, dtype=object), dtype=object)
        values = growth.kept(
            frame,
            f"located {column}",
            lambda: frame[column].to_numpy(dtype=object)[_located(frame)],
        )
        return pd.Series(values[at], dtype=object)

    def _area(self, at: np.ndarray) -> pd.Series:
        return self._station_values("area" if "area" in self.stations else "admin1", at)

    def _event_values(self, column: str, at: np.ndarray) -> pd.Series:
        return pd.Series(self.events[column].to_numpy(dtype=object)[at], dtype=object)

    @property
    def _id_rank(self) -> np.ndarray:
        """Each located station's place in id order (ties kept in row order)."""

        def build() -> np.ndarray:
            ids = self._station_values("id", np.arange(len(_located(self.stations))))
            rank = np.empty(len(ids), dtype=np.int64)
            rank[np.argsort(ids.to_numpy(dtype=str), kind="stable")] = np.arange(len(ids))
            return rank

        return growth.kept(self.stations, "id rank", build)

    def pairs(self, station: int | None = None) -> pd.DataFrame:
        """One row per (station, incident) pair: most incidents first, then by station
        id, nearest first per station; ``incidents`` counts the station's pairs. With
        ``station`` (a located station's position), that station's pairs only."""
        s, e, d = self.s, self.e, self.d
        if not len(s):
            return pd.DataFrame(columns=PAIR_COLUMNS)
        counts = np.bincount(s)[s]
        if station is None:
            order = np.lexsort((d, self._id_rank[s], -counts))
        else:
            picked = np.flatnonzero(s == station)
            order = picked[np.argsort(d[picked], kind="stable")]
        s, e, d, counts = s[order], e[order], d[order], counts[order]
        return pd.DataFrame(
            {
                "station_id": self._station_values("id", s),
                "station": self._station_values("name", s),
                "area": self._area(s),
                "incident_id": self._event_values("id", e),
                "type": self._event_values("type", e),
                "severity": self._event_values("severity", e),
                "time": self.events["time"].array.take(e),
                "distance_km": np.round(d / 1000, 2),
                "incidents": counts,
            }
        )[PAIR_COLUMNS]

    @cached_property
    def per_station(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per located station: pairs (serious incidents near it; 0: not at risk), the
        nearest one's distance in metres and its row of ``events`` (the lowest row among
        equally near ones)."""
        n = len(_located(self.stations))
        empty = (np.zeros(n, dtype=np.int64), np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
        return _updated(empty, self.s, self.e, self.d)

    def _ranked(self, among: gpd.GeoDataFrame | None, limit: int | None) -> np.ndarray:
        """Located stations at risk (of those in ``among``), most incidents first, then the
        nearest, then by id; the first ``limit`` of them."""
        counts, best, _ = self.per_station
        stations = np.flatnonzero(counts)
        if among is not None and among is not self.stations:
            index = self.stations.index[_located(self.stations)[stations]]
            stations = stations[index.isin(among.index)]
        cents = np.rint(best[stations] / 1000 * 100).astype(np.int64)  # km to 2 decimals
        rank = self._id_rank[stations]
        spans = (int(counts.max(initial=0)) + 1, int(cents.max(initial=0)) + 1, len(counts))
        if spans[0] * spans[1] * spans[2] < 2**62:  # one integer key: no lexsort needed
            key = ((spans[0] - counts[stations]) * spans[1] + cents) * spans[2] + rank
            if limit is not None and limit < len(key):
                top = np.argpartition(key, limit)[:limit]
                return stations[top[np.argsort(key[top])]]
            return stations[np.argsort(key)]
        return stations[np.lexsort((rank, cents, -counts[stations]))][:limit]

    def count(self, among: gpd.GeoDataFrame | None = None) -> int:
        """Stations at risk (of those in ``among``)."""
        counts = self.per_station[0]
        if among is None or among is self.stations:
            return int(np.count_nonzero(counts))
        return len(self._ranked(among, None))

    def summary(
        self, among: gpd.GeoDataFrame | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """One row per station at risk: incidents nearby and the nearest one (most
        incidents first, then the nearest). ``among``: only stations in this frame (rows
        of the stations frame, by index), e.g. after the filters; ``limit``: the first
        rows only (sorting 75,000 stations to show 1,000 is wasted)."""
        stations = self._ranked(among, limit)
        if not len(stations):
            return pd.DataFrame(columns=SUMMARY_COLUMNS)
        counts, best, rows = (a[stations] for a in self.per_station)
        return pd.DataFrame(
            {
                "station_id": self._station_values("id", stations),
                "station": self._station_values("name", stations),
                "area": self._area(stations),
                "incidents": counts,
                "nearest_incident": pd.Series(self._labels(rows), dtype=object),
                "nearest_km": np.round(best / 1000, 2),
            }
        )

    def _labels(self, rows: np.ndarray) -> np.ndarray:
        """ "type (severity, id)" of incident ``rows``, each built once."""
        distinct, where = np.unique(rows, return_inverse=True)
        text = [
            f"{t} ({v}, {i})"
            for t, v, i in zip(
                self._event_values("type", distinct),
                self._event_values("severity", distinct),
                self._event_values("id", distinct),
                strict=True,
            )
        ]
        return np.asarray(text, dtype=object)[where] if len(text) else np.zeros(0, dtype=object)

    def station(self, station_id: object) -> int | None:
        """The located position of the station with ``station_id`` (None if not at risk)."""
        at_risk = np.flatnonzero(self.per_station[0])
        ids = self._station_values("id", at_risk).to_numpy(dtype=object)
        hit = np.flatnonzero(ids == station_id)
        return int(at_risk[hit[0]]) if len(hit) else None

    def _overlay_rows(self, stations: np.ndarray) -> tuple[list[int], dict[str, list[object]]]:
        """The overlay's values of located ``stations``: style 0 at risk, -1 not; their
        incidents nearby, the nearest one and how far (None when not at risk)."""
        counts, best, rows = (a[stations] for a in self.per_station)
        risky = counts > 0
        labels = np.full(len(stations), None, dtype=object)
        labels[risky] = self._labels(rows[risky])
        km = np.round(best / 1000, 2).astype(object)
        km[~risky] = None
        incidents = counts.astype(object)
        incidents[~risky] = None
        styles = np.full(len(stations), -1, dtype=np.int64)
        styles[risky] = 0
        return styles.tolist(), {
            "incidents": incidents.tolist(),
            "nearest": labels.tolist(),
            "nearest_km": km.tolist(),
        }

    def comparable(self, base: Risk) -> bool:
        """Whether this risk's overlay can be told as changes to ``base``'s: the same
        stations and settings, and ``base``'s incidents as the first of this risk's
        (its incident rows mean the same here)."""
        return (
            self.stations is base.stations
            and (self.min_severity, self.within_m, self.hours)
            == (base.min_severity, base.within_m, base.hours)
            and growth.extends(self.events, base.events)
        )

    def changes(self, base: Risk) -> tuple[dict[str, object], dict[str, object]] | None:
        """The rows of :attr:`overlay` that differ from ``base``'s: {"n", "at": [row],
        "s": [...]} and {"n", "at", "columns"}, for the browser to lay over ``base``'s
        overlay (the stations near new incidents, or near incidents that left the window;
        not 180,000). None when the two are not :meth:`comparable`."""
        if not self.comparable(base):
            return None
        mine, theirs = self.per_station, base.per_station
        differ = (mine[0] != theirs[0]) | (mine[1] != theirs[1]) | (mine[2] != theirs[2])
        at = np.flatnonzero(differ)
        styles, columns = self._overlay_rows(at)
        n = len(mine[0])
        rows = at.tolist()
        return {"n": n, "at": rows, "s": styles}, {"n": n, "at": rows, "columns": columns}

    @cached_property
    def overlay(self) -> tuple[dict[str, object], dict[str, object]]:
        """The stations at risk as an overlay on the stations' own map dataset (its
        located rows, in order): "s" 0 for a station at risk, -1 to leave it out; as
        details, its incidents nearby, the nearest one and how far. The browser already
        has the stations' points: a new minute or incident sends only this."""
        counts = self.per_station[0]
        n = len(counts)
        at = np.flatnonzero(counts)
        _, values = self._overlay_rows(at)
        s = np.full(n, -1, dtype=np.int64)
        s[at] = 0
        columns = {}
        for name, given in values.items():
            column = np.full(n, None, dtype=object)
            column[at] = given
            columns[name] = column.tolist()
        return {"n": n, "s": s.tolist()}, {"n": n, "columns": columns}


def _updated(
    per_station: tuple[np.ndarray, np.ndarray, np.ndarray],
    s: np.ndarray,
    e: np.ndarray,
    d: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-station (pairs, nearest metres, nearest row) with pairs (s, e, d) added; new
    arrays, the given ones untouched. The nearest: the least distance, then the lowest
    row; so the result does not depend on the order the pairs come in."""
    counts, best, rows = (a.copy() for a in per_station)
    if not len(s):
        return counts, best, rows
    counts += np.bincount(s, minlength=len(counts))
    touched = np.unique(s)
    old_best, old_rows = best[touched], rows[touched]
    np.minimum.at(best, s, d)
    nearest = d == best[s]
    rows[touched] = np.iinfo(np.int64).max
    np.minimum.at(rows, s[nearest], e[nearest])
    kept = old_best == best[touched]  # an earlier pair is as near: the lower row stays
    rows[touched[kept]] = np.minimum(rows[touched[kept]], old_rows[kept])
    return counts, best, rows
