"""Frames that grew by rows appended at their end, and values kept per frame.

Incident and position feeds grow by appended rows. When a frame is an earlier frame
with rows added (:func:`grew`), what was built from the earlier rows (derived columns,
map datasets, incident pairs) can be kept and only the new rows built. The record is
per object and dies with it: nothing here holds a frame alive.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import pandas as pd

# id(frame) -> (the frame, the frame it extends, that frame's row count); weak both ways.
_PARENTS: dict[int, tuple[weakref.ref[Any], weakref.ref[Any], int]] = {}


def grew(frame: pd.DataFrame, earlier: pd.DataFrame) -> None:
    """Record that ``frame``'s first ``len(earlier)`` rows are ``earlier``'s rows, equal in
    every column ``earlier`` has, and in the same order."""
    key = id(frame)
    _PARENTS[key] = (weakref.ref(frame), weakref.ref(earlier), len(earlier))
    weakref.finalize(frame, _PARENTS.pop, key, None)


def extends(frame: pd.DataFrame, earlier: pd.DataFrame) -> bool:
    """Whether ``frame`` is ``earlier`` with rows appended (or is ``earlier``), as
    recorded by :func:`grew`, through any number of appends."""
    current: Any = frame
    while current is not None:
        if current is earlier:
            return True
        held = _PARENTS.get(id(current))
        if held is None or held[0]() is not current:
            return False
        current = held[1]()
    return False


def added_rows(frame: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame | None:
    """The rows ``frame`` added to ``earlier`` (possibly none), or None when ``frame`` is
    not ``earlier`` grown."""
    if not extends(frame, earlier):
        return None
    return frame.iloc[len(earlier) :]


_KEPT: dict[str, tuple[weakref.ref[Any], Any]] = {}


def kept(frame: Any, what: str, build: Callable[[], Any]) -> Any:
    """``build()`` once per ``frame`` object and ``what``: a kept frame (a derived layer)
    comes back, the same object, on every rerun until its feed changes. One value per
    ``what`` is held; a new frame replaces it."""
    held = _KEPT.get(what)
    if held is not None and held[0]() is frame:
        return held[1]
    value = build()
    _KEPT[what] = (weakref.ref(frame), value)
    return value
