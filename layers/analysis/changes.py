"""What changed between two pictures, for a briefing: new incidents by area, stations that
lost or gained patrol cover, convoys that arrived or raised an alert."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from layers.analysis.areas import NO_AREA


@dataclass(frozen=True)
class Moment:
    """What a briefing compares, of one picture as one role saw it."""

    time: pd.Timestamp
    incidents: Mapping[str, str] | None  # id -> area; None: the view has no single incidents
    covered: frozenset[str] | None  # station ids covered now; None: coverage not in the view
    uncovered: frozenset[str] | None  # located station ids no patrol covers
    convoys: Mapping[str, tuple[str, str]] | None  # convoy id -> (state, alerts); None: unknown

    @classmethod
    def incidents_at(cls, frames: Mapping[str, pd.DataFrame], time: pd.Timestamp) -> Moment:
        """What is known of ``time`` from the picture now: the incidents that had happened
        by then (coverage and convoys of that time are not kept, so not compared)."""
        incidents = frames.get("incidents", pd.DataFrame())
        if "time" in incidents:
            incidents = incidents[incidents["time"] <= time]
        known = cls.of({"incidents": incidents}, time)
        return cls(time, known.incidents, None, None, None)

    @classmethod
    def of(cls, frames: Mapping[str, pd.DataFrame], time: pd.Timestamp) -> Moment:
        incidents = frames.get("incidents", pd.DataFrame())
        stations = frames.get("polling_stations", pd.DataFrame())
        convoys = frames.get("convoy_positions", pd.DataFrame())
        covered: frozenset[str] | None = None
        uncovered: frozenset[str] | None = None
        if "covered" in stations:
            ids = stations["id"].to_numpy(dtype=object)
            state = stations["covered"].astype("boolean")
            covered = frozenset(ids[state.fillna(False).to_numpy(dtype=bool)])
            uncovered = frozenset(ids[(~state).fillna(False).to_numpy(dtype=bool)])
        happened: dict[str, str] | None = None
        if "id" in incidents:
            areas = (
                incidents["area"] if "area" in incidents else pd.Series(NO_AREA, incidents.index)
            )
            happened = dict(
                zip(
                    incidents["id"].to_numpy(dtype=object),
                    areas.fillna(NO_AREA).to_numpy(dtype=object),
                    strict=True,
                )
            )
        moving: dict[str, tuple[str, str]] = {}
        if "convoy_id" in convoys and len(convoys):
            blank = pd.Series("", index=convoys.index)
            for c, s, a in zip(
                convoys["convoy_id"],
                convoys.get("state", blank),
                convoys.get("alerts", blank),
                strict=True,
            ):
                moving[str(c)] = (str(s), "" if pd.isna(a) else str(a))
        return cls(time, happened, covered, uncovered, moving)

    def to_json(self) -> dict[str, object]:
        """The moment as JSON values, to be kept across restarts."""
        return {
            "time": self.time.isoformat(),
            "incidents": None if self.incidents is None else dict(self.incidents),
            "covered": None if self.covered is None else sorted(self.covered),
            "uncovered": None if self.uncovered is None else sorted(self.uncovered),
            "convoys": None
            if self.convoys is None
            else {c: list(v) for c, v in self.convoys.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Moment:
        """A moment kept by :meth:`to_json`; ValueError when it is not one."""
        try:

            def ids(key: str) -> frozenset[str] | None:
                got = data[key]
                return None if got is None else frozenset(map(str, got))  # type: ignore[call-overload]

            incidents, convoys = data["incidents"], data["convoys"]
            return cls(
                pd.Timestamp(str(data["time"])),
                None if incidents is None else {str(k): str(v) for k, v in incidents.items()},  # type: ignore[attr-defined]
                ids("covered"),
                ids("uncovered"),
                None
                if convoys is None
                else {str(c): (str(v[0]), str(v[1])) for c, v in convoys.items()},  # type: ignore[attr-defined]
            )
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as error:
            raise ValueError(f"not a kept moment: {error}") from error


LISTED = 8  # names listed in one sentence


def changes(before: Moment, now: Moment) -> list[str]:
    """Sentences of what changed from ``before`` to ``now``."""
    out = []
    if now.incidents is not None and before.incidents is not None:
        new = [i for i in now.incidents if i not in before.incidents]
        if new:
            by_area = pd.Series([now.incidents[i] for i in new]).value_counts()
            parts = ", ".join(f"{area} {n:,}" for area, n in by_area.items())
            out.append(f"{len(new):,} new incidents: {parts}.")
        else:
            out.append("No new incidents.")
    if None not in (now.covered, now.uncovered, before.covered, before.uncovered):
        assert now.covered is not None and now.uncovered is not None
        assert before.covered is not None and before.uncovered is not None
        lost = sorted(now.uncovered & before.covered)
        gained = sorted(now.covered & before.uncovered)
        out.append(f"Stations that lost patrol cover: {len(lost):,}{_some(lost)}.")
        out.append(f"Stations that gained patrol cover: {len(gained):,}{_some(gained)}.")
    if now.convoys is not None and before.convoys is not None and (now.convoys or before.convoys):
        was = before.convoys
        arrived = sorted(
            c
            for c, (state, _) in now.convoys.items()
            if state == "arrived" and was.get(c, ("", ""))[0] != "arrived"
        )
        alerted = sorted(
            c
            for c, (_, alerts) in now.convoys.items()
            if alerts and alerts != was.get(c, ("", ""))[1]
        )
        out.append(f"Convoys arrived: {len(arrived):,}{_some(arrived)}.")
        out.append(f"Convoys with a new alert: {len(alerted):,}{_some(alerted)}.")
    if not out:
        out.append("This view holds no single incidents, station cover or convoys to compare.")
    return out


def _some(ids: list[str]) -> str:
    if not ids:
        return ""
    more = f" and {len(ids) - LISTED:,} more" if len(ids) > LISTED else ""
    return " (" + ", ".join(ids[:LISTED]) + more + ")"
