"""Frames that grew by rows appended at their end, and values kept per frame.

Incident and position feeds grow by appended rows. When a frame is an earlier frame
with rows added (:func:`grew`), what was built from the earlier rows (derived columns,
map datasets, incident pairs) can be kept and only the new rows built. The record is
per object and dies with it; a value kept with ``grow`` holds its frame (one per kind).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from layers.core.memo import Memo

V = TypeVar("V")
_LOCK = threading.RLock()  # the records below are shared by every session of the app

# id(frame) -> (the frame, the frames it extends that are still alive); weak throughout.
_ANCESTORS: dict[int, tuple[weakref.ref[Any], list[weakref.ref[Any]]]] = {}


def grew(frame: pd.DataFrame, earlier: pd.DataFrame) -> None:
    """Record that ``frame``'s first ``len(earlier)`` rows are ``earlier``'s rows, equal in
    every column ``earlier`` has, and in the same order."""
    with _LOCK:
        held = _ANCESTORS.get(id(earlier))
        older = held[1] if held is not None and held[0]() is earlier else []
        # Frames that died can never be asked about again: they are left out as we go.
        line = [weakref.ref(earlier), *(ref for ref in older if ref() is not None)]
        key = id(frame)
        _ANCESTORS[key] = (weakref.ref(frame), line)
    weakref.finalize(frame, _forget, key)


def _forget(key: int) -> None:
    with _LOCK:
        _ANCESTORS.pop(key, None)


def extends(frame: pd.DataFrame, earlier: pd.DataFrame) -> bool:
    """Whether ``frame`` is ``earlier`` with rows appended (or is ``earlier``), as
    recorded by :func:`grew`, through any number of appends."""
    if frame is earlier:
        return True
    with _LOCK:
        held = _ANCESTORS.get(id(frame))
    return held is not None and held[0]() is frame and any(ref() is earlier for ref in held[1])


def added_rows(frame: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame | None:
    """The rows ``frame`` added to ``earlier`` (possibly none), or None when ``frame`` is
    not ``earlier`` grown."""
    if not extends(frame, earlier):
        return None
    return frame.iloc[len(earlier) :]


# what -> (the frame, the value built from it, the frame again when it may grow: held, so
# that its successor can be told to extend it).
_KEPT: Memo[tuple[weakref.ref[Any], Any, Any]] = Memo(256)


def kept(
    frame: Any,
    what: str,
    build: Callable[[], V],
    grow: Callable[[V, pd.DataFrame], V] | None = None,
) -> V:
    """``build()`` once per ``frame`` object and ``what``: a kept frame (a derived layer)
    comes back, the same object, on every rerun until its feed changes. One value per
    ``what`` is held; a new frame replaces it. With ``grow``, a frame grown from the held
    one gets ``grow(held value, its added rows)`` instead of a new build (``grow`` must
    not change the held value: it may still be in use)."""
    held = _KEPT.peek(what)
    if held is not None and held[0]() is frame:
        return held[1]
    earlier = held[2] if held is not None else None
    added = added_rows(frame, earlier) if grow is not None and earlier is not None else None
    value = build() if added is None or held is None or grow is None else grow(held[1], added)
    # Sessions may build at once: each answer is right, the last one is kept.
    _KEPT.put(what, (weakref.ref(frame), value, frame if grow is not None else None))
    return value
