"""The feed folder's optional scenario manifest: a label, and whether to move its times to now."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from layers.core.problems import Level, Problem

MANIFEST = "scenario.json"


@dataclass(frozen=True)
class Scenario:
    """The feed folder's manifest: a label to show, and whether to move its times to now."""

    label: str | None = None
    synthetic: bool = False
    time_shift: pd.Timedelta = pd.Timedelta(0)
    problems: tuple[Problem, ...] = ()  # why the manifest could not be used


def read_scenario(folder: Path, now: pd.Timestamp | None = None) -> Scenario:
    """Read ``scenario.json`` if the folder has one.

    A generated exercise is written once and replayed any day: with
    ``"shift_times_to_now": true`` every time in its feeds is moved by
    (now - ``anchor``), whole minutes, so the default view shows recent activity.
    ``"time_shift_minutes"`` moves them by that much instead (the history writes it for a
    replay: the shift the dashboard applied then).
    """
    path = Path(folder) / MANIFEST
    try:
        if not path.is_file():
            return Scenario()
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise ValueError(f"it holds a JSON {type(doc).__name__}, not an object")
        shift = pd.Timedelta(minutes=float(doc.get("time_shift_minutes") or 0))
        if doc.get("shift_times_to_now") and doc.get("anchor"):
            now = pd.Timestamp.now(tz="UTC") if now is None else now
            anchor = pd.Timestamp(str(doc["anchor"]))
            anchor = anchor.tz_localize("UTC") if anchor.tzinfo is None else anchor
            shift = (now - anchor).floor("min")
        label = doc.get("label")
        return Scenario(None if label is None else str(label), bool(doc.get("synthetic")), shift)
    except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        problem = Problem(
            "scenario",
            MANIFEST,
            None,
            None,
            f"the scenario manifest could not be used ({str(err)[:200]}); the feeds are "
            "shown with their own times and no exercise label.",
            'Fix it or remove it: e.g. {"label": "EXERCISE", "synthetic": true}.',
            Level.ERROR,
            "bad_manifest",
        )
        return Scenario(problems=(problem,))
