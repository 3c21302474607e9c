"""The one way layers/ keeps computed values between reruns: a bounded, locked memo.

Keys are hashable values built from what the value depends on (:meth:`layers.scene.Scene.key`
for feed versions, plus settings, the moment or a what-if): never object identity, which a
new session or a reread file would not share. Values are built outside the lock, so a
slow build does not stall another key; two sessions building the same key at once both get
a right answer, and the last one is kept. :mod:`layers.core.growth` is the other half: it
knows when a frame only grew, so a kept value can be extended instead of rebuilt.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    """Up to ``size`` values by key, the least recently used dropped first."""

    def __init__(self, size: int):
        self.size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The value kept for ``key``, built by ``build()`` when there is none."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = build()
        self.put(key, value)
        return value

    def peek(self, key: Hashable) -> V | None:
        """The value kept for ``key``, or None (nothing is built)."""
        with self._lock:
            return self._values.get(key)

    def put(self, key: Hashable, value: V) -> None:
        """Keep ``value`` for ``key``."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
