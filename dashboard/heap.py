"""Memory given back: a wall screen's server runs for days, and glibc's allocator keeps
the memory that pandas and Arrow free after each update in per-thread arenas, where the
process's size creeps up although nothing is held. Two arenas, and the free memory at the
top of each handed back to the system once per look at the feeds (``malloc_trim``), keep
its size level. Elsewhere than glibc (macOS, musl) both do nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("pollwatch.heap")
M_ARENA_MAX = -8  # glibc's mallopt parameter
ARENAS = 2

try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _LIBC.malloc_trim  # noqa: B018 - glibc only
except (OSError, AttributeError):
    _LIBC = None


def limit_arenas(count: int = ARENAS) -> None:
    """At most ``count`` malloc arenas for the threads made from now on."""
    if _LIBC is not None and not _LIBC.mallopt(M_ARENA_MAX, count):
        log.warning("mallopt(M_ARENA_MAX) refused: the allocator keeps its own arenas")


def trim() -> None:
    """Hand the free memory of every arena back to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
