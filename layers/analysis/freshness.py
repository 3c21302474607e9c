"""How fresh each feed is, and what a page's picture depends on besides the user's choices."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from layers.core.problems import Level
from layers.core.settings import Settings
from layers.io.store import FeedVersion

if TYPE_CHECKING:
    pass
from layers.registry import REGISTRY
from layers.scene import Scene


def _failure_note(version: FeedVersion[gpd.GeoDataFrame]) -> str | None:
    """Why a feed failed, in one line: "showing 14:02 data; the 14:05 file failed: ..."."""
    for problem in version.problems:
        if problem.kind in ("kept_last_good", "held_back"):
            return problem.message
    return str(version.problems[0]) if version.problems else None


def freshness(scene: Scene, settings: Settings) -> pd.DataFrame:
    """Per feed: file, state, last good update (``updated``), ``age_min``,
    ``stale_after_min``, rows, problems and, for a failed feed, a ``note`` saying why.

    States: reading (a large first file is being read); fresh; stale (its file is older
    than the feed's threshold); failed (the newest file could not be used; older data
    shown or none); missing; not provided (an optional feed); exercise (a scenario whose
    times move to the present: its files do not change, so their age says nothing).
    """
    exercise = scene.scenario.time_shift != pd.Timedelta(0)
    rows = []
    for name, version in scene.shown_versions.items():
        spec = REGISTRY[name].SPEC
        limit = settings.staleness(name)
        updated = version.updated
        age = scene.now - updated if updated is not None else None
        reading = [p for p in version.problems if p.kind == "reading"]
        if reading and version.data is None:
            state = "reading"
        elif version.path is None and version.data is None:
            state = "not provided" if spec.optional else "missing"
        elif version.data is None or version.stale_copy:
            state = "failed"
        elif exercise:
            state = "exercise"
        elif limit is not None and age is not None and age > limit:
            state = "stale"
        else:
            state = "fresh"
        rows.append(
            {
                "feed": spec.title,
                "file": version.path.name if version.path else None,
                "state": state,
                "updated": updated,
                "age_min": None if age is None else round(age.total_seconds() / 60, 1),
                "stale_after_min": None if limit is None else limit.total_seconds() / 60,
                "rows": len(version.data) if version.data is not None else 0,
                "problems": sum(p.level != Level.NOTICE for p in version.problems),
                "note": _failure_note(version) if state == "failed" else None,
                # the same reason for several feeds (a site's lost link) is said once
                "why": version.problems[0].message
                if state == "failed" and version.problems
                else None,
            }
        )
    return pd.DataFrame(rows)


def picture_key(scene: Scene, settings: Settings) -> Hashable:
    """What a page's picture depends on beyond the user's own choices: each feed's
    version, each feed's freshness state, and the minute (ages, time windows, shifts)."""
    versions = tuple(
        (name, version.signature, version.stale_copy) for name, version in scene.versions.items()
    )
    states = tuple(freshness(scene, settings)["state"])
    being_read = tuple(p.feed for p in scene.problems if p.kind == "reading")
    return (versions, states, being_read, scene.now.floor("min"))


def reading(scene: Scene) -> list[str]:
    """How far the reading of each large file under way got, e.g. 'reading incidents.csv:
    410,000 rows' (the watcher shows it at each look; the page reruns only when a reading
    starts or ends)."""
    return [p.message for p in scene.problems if p.kind == "reading"]
