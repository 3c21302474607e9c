"""Memory given back: a wall screen's server runs for days, and glibc's allocator keeps
the memory that pandas and Arrow free after each update in its arenas, where the process's
size creeps up although nothing is held. The free memory of every arena is handed back to
the system once per look at the feeds (``malloc_trim``). ``POLLWATCH_MALLOC_ARENAS`` caps
the number of arenas, for a server where memory counts more than its first seconds after
a restart. Elsewhere than glibc (macOS, musl) both do nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger("pollwatch.heap")
M_ARENA_MAX = -8  # glibc's mallopt parameter
# glibc's own number of arenas by default: capped at two, a restart with the warm-up and
# the first screens in threads side by side took 7.5 s instead of 5.0 s (medians of
# three, benchmarks/operations.py at national scale, one run each).
ARENAS = 0


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def limit_arenas(count: int | None = None) -> None:
    """At most ``count`` malloc arenas for the threads made from now on (default
    ``POLLWATCH_MALLOC_ARENAS``; 0, the default: glibc's own number)."""
    if count is None:
        count = int(os.environ.get("POLLWATCH_MALLOC_ARENAS", "") or ARENAS)
    if count > 0 and _LIBC is not None and not _LIBC.mallopt(M_ARENA_MAX, count):
        log.warning("mallopt(M_ARENA_MAX) refused: the allocator keeps its own arenas")


def trim() -> None:
    """Hand the free memory of every arena back to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
