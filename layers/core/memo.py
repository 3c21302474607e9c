"""The one way layers/ keeps computed values between reruns: a bounded, locked memo.

Keys are hashable values built from what the value depends on (:meth:`layers.scene.Scene.key`
for feed versions, plus settings, the moment or a what-if): never object identity, which a
new session or a reread file would not share. Values are built outside the lock, so a
slow build does not stall another key; a key is built once at a time: a session that asks
for a key another is building waits for that build instead of doing the same work beside
it (after a restart, every screen that reconnects asks for the same datasets as the
warm-up, and on two cores a second build halves the first one's speed).
:mod:`layers.core.growth` is the other half: it knows when a frame only grew, so a kept
value can be extended instead of rebuilt.
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
        self._building: dict[Hashable, tuple[int, threading.Event]] = {}

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The value kept for ``key``, built by ``build()`` when there is none. While
        another thread builds it, wait for that build; if it fails, build it here."""
        me = threading.get_ident()
        while True:
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
                builder = self._building.get(key)
                if builder is None or builder[0] == me:  # none, or asked again from inside
                    done = threading.Event()
                    self._building.setdefault(key, (me, done))
                    break
            builder[1].wait()
        try:
            value = build()
            self.put(key, value)
            return value
        finally:
            with self._lock:
                if self._building.get(key) == (me, done):
                    del self._building[key]
            done.set()

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
