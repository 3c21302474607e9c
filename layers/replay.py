"""The feed folder as it was at a past time, read from the history store: the replay's
pages and the after-action report see the same past through the same reader and checks.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from layers.analysis import after_action
from layers.analysis.after_action import Review
from layers.core.settings import Settings
from layers.io.history import History, HistoryError
from layers.scene import Scene, SceneLoader

LOADERS = 8  # loaders of past folders kept (a replay reruns on the same one)
_loaders: OrderedDict[Path, SceneLoader] = OrderedDict()
_loaders_lock = threading.Lock()


def history_of(settings: Settings) -> History | None:
    """The history store these settings read: the database's (the ingest keeps it
    there), else the file of ``POLLWATCH_HISTORY``."""
    if settings.database:
        return History.at(settings.database, read_only=True)
    return History.at(settings.history) if settings.history is not None else None


def _replay_root(settings: Settings) -> Path:
    """Where the folders of past times are made: beside the history file, else in the
    cache, else in the system's temporary folder."""
    if settings.history is not None:
        return settings.history.parent / "replay"
    if settings.cache is not None:
        return settings.cache / "replay"
    return Path(tempfile.gettempdir()) / "pollwatch-replay"


def settings_at(
    settings: Settings, when: pd.Timestamp, feeds: Iterable[str] | None = None
) -> tuple[Settings | None, str]:
    """Settings that read the feed folder as it was at ``when`` (UTC; only ``feeds``
    when given), or None and why not."""
    history = history_of(settings)
    if history is None:
        if settings.database:
            return None, "the database holds no history (the ingest keeps it there)"
        return None, "no history is kept here (POLLWATCH_HISTORY is off)"
    try:
        folder = history.folder_at(when.timestamp(), _replay_root(settings), feeds)
    except HistoryError as err:  # its database is down: the live picture, and why
        return None, str(err)
    if folder is None:
        return None, f"the history holds nothing from before {when:%d %b %Y %H:%M} UTC"
    # Read as taken then, from that folder: nothing to settle or hold back, nothing to
    # record again.
    past = replace(settings, feeds=folder, history=None, database=None, settle_s=0.0, hold_s=0.0)
    return replace(past, replay_at=when), ""


def scene_at(
    settings: Settings, when: pd.Timestamp, feeds: Iterable[str] | None = None
) -> Scene | None:
    """The scene at ``when`` as the history has it (None: nothing kept by then)."""
    past, _ = settings_at(settings, when, feeds)
    if past is None:
        return None
    with _loaders_lock:
        loader = _loaders.pop(past.feeds, None) or SceneLoader(past)
        _loaders[past.feeds] = loader
        while len(_loaders) > LOADERS:
            _loaders.popitem(last=False)
    return loader.load(now=when)


def review_of(settings: Settings, day: dt.date, now: pd.Timestamp) -> Review | None:
    """The after-action review of ``day`` from the history (None: no history kept)."""
    history = history_of(settings)
    if history is None:
        return None
    start, end = after_action.day_bounds(day, settings.timezone)
    return after_action.review(
        day,
        settings.timezone,
        settings.polling_hours,
        lambda when, feeds: scene_at(settings, when, feeds),
        history.versions(start.timestamp(), end.timestamp()),
        history.states(start.timestamp(), end.timestamp()),
        now,
    )


def first_kept(settings: Settings) -> pd.Timestamp | None:
    """When the history's first version was taken, to the second (None: none kept);
    HistoryError when its database cannot be read."""
    history = history_of(settings)
    first = history.first_taken() if history is not None else None
    return None if first is None else pd.Timestamp(first, unit="s", tz="UTC").ceil("s")


def days_kept(settings: Settings, now: pd.Timestamp) -> list[dt.date]:
    """The local days from the history's first version to ``now``, latest first."""
    first = first_kept(settings)
    if first is None:
        return []
    zone = settings.timezone
    start = first.tz_convert(zone).date()
    days = pd.date_range(start, now.tz_convert(zone).date(), freq="D")
    return [d.date() for d in reversed(days)]
