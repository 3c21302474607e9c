"""Map datasets published as static JSON files the browser fetches once per version.

Each file is named by its content (a hash), so unchanged data keeps its URL, and the
browser its copy, across feed versions; a rerun sends URLs, not data. The payload format
is :mod:`layers.map.payload`. Safe across concurrent sessions: the memo is locked, and
two sessions writing the same content write the same file atomically.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from layers.analysis.filters import Filters
from layers.analysis.picture import (
    Derived,
    DerivedCache,
    dataset_key,
    derive_key,
    map_datasets,
)
from layers.core.memo import Memo
from layers.core.ondisk import COSTLY_S, OnDisk
from layers.io.files import write_atomic
from layers.registry import REGISTRY
from layers.scene import Scene

KEEP_FILES = 2  # newest files kept per dataset name and part, however old
KEEP_S = 600.0  # a file handed to a session this recently is never removed
MEMO = 64  # (name, key) pairs remembered


class Publisher:
    """Writes datasets under ``folder`` (made readable by this user only), served at
    ``url`` by a route that decides who may fetch them.

    A file a session was given may still be fetched by its browser: a file is removed only
    when it is neither among the ``keep`` newest of its name and part nor handed out in the
    last ``keep_s`` seconds (each hand-out sets its time), and a URL is handed out only for
    a file that exists.

    With ``kept`` (the on-disk store), a dataset published with a ``content`` key (one
    that holds across restarts) and costly to build is also kept there: after a restart
    its files are written from it instead of built (the stations of a national election:
    0.4 s built, a copy read)."""

    def __init__(
        self,
        folder: Path,
        url: str,
        keep: int = KEEP_FILES,
        memo: int = MEMO,
        keep_s: float = KEEP_S,
        kept: OnDisk | None = None,
    ):
        self.folder, self.url, self.keep, self.keep_s = Path(folder), url.rstrip("/"), keep, keep_s
        self.kept = kept
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._urls: Memo[dict[str, str]] = Memo(memo)

    def publish(
        self,
        name: str,
        key: Hashable,
        build: Callable[[], dict[str, Any]],
        content: Hashable | None = None,
    ) -> dict[str, str]:
        """URLs of the parts ``build()`` returns ({part: data}), built once per ``key``;
        ``content``: a key of the same data that holds across restarts, if there is one."""

        def write() -> dict[str, str]:
            payloads = self._payloads(name, content, build)
            return {part: self._write(name, part, payload) for part, payload in payloads.items()}

        urls = self._urls.get((name, key), write)
        if not all(self._handed_out(url) for url in urls.values()):
            urls = write()  # removed since (a long idle spell): written again
            self._urls.put((name, key), urls)
        return urls

    def _handed_out(self, url: str) -> bool:
        """Mark the file behind ``url`` as in use now; False when it is gone."""
        path = self.folder / url.rsplit("/", 1)[1]
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        return True

    def _payloads(
        self, name: str, content: Hashable | None, build: Callable[[], dict[str, Any]]
    ) -> dict[str, bytes]:
        """The file contents of ``build()``'s parts, from the on-disk store when kept."""

        def made() -> dict[str, bytes]:
            # orjson: a sixth of json.dumps' time on these columns
            return {part: orjson.dumps(data) for part, data in build().items()}

        if content is None or self.kept is None:
            return made()
        disk = self.kept.key("published", self.url, name, content)
        return self.kept.made(disk, made, COSTLY_S)

    def _write(self, name: str, part: str, payload: bytes) -> str:
        digest = hashlib.sha256(payload).hexdigest()[:16]
        path = self.folder / f"{name}-{part}-{digest}.json"
        if not path.exists():
            write_atomic(path, payload, mode=0o600, durable=False)  # gone at a restart
            if len(payload) >= GZIP_FROM:  # compressed once, not on each request
                threading.Thread(target=_gzipped, args=(path, payload), daemon=True).start()
        older = sorted(self.folder.glob(f"{name}-{part}-*.json"), key=_mtime, reverse=True)
        unused_since = time.time() - self.keep_s
        for stale in older[self.keep :]:
            if _mtime(stale) < unused_since:
                stale.unlink(missing_ok=True)
                gzipped(stale).unlink(missing_ok=True)
        return f"{self.url}/{path.name}"


GZIP_FROM = 64 * 2**10  # bytes; smaller files are compressed by the server as it sends


def gzipped(path: Path) -> Path:
    """Where the gzip copy of the dataset at ``path`` is (once it is written)."""
    return path.with_name(path.name + ".gz")


def _gzipped(path: Path, payload: bytes) -> None:
    """Write the gzip copy of ``payload`` beside ``path``: the server sends it as it is,
    instead of compressing 16 MB of stations again for each screen that opens. Level 1:
    a fifth of level 6's time for a fifth more bytes (4.9 MB of stations: 0.06 s and 1.5 MB
    against 0.31 s and 1.3 MB); at a restart every role's files are compressed at once."""
    compressed = gzip.compress(payload, compresslevel=1, mtime=0)
    write_atomic(gzipped(path), compressed, mode=0o600, durable=False)


def layer_urls(
    publisher: Publisher,
    picture: DerivedCache,
    scene: Scene,
    derived: Derived,
    layer: str,
) -> dict[str, Any]:
    """URLs of ``layer``'s map dataset parts. A row-wise layer (incidents) comes in chunks,
    {"chunks": [url, ...]} per part, which the browser joins: a grown feed publishes only
    its new rows (:meth:`layers.analysis.picture.DerivedCache.map_chunks`)."""
    if not REGISTRY[layer].DERIVE.row_wise:
        return publisher.publish(
            layer,
            dataset_key(scene, layer),
            lambda: map_datasets(derived, layer),
            derive_key(layer, scene, content=True),
        )
    chunks = picture.map_chunks(scene, derived, layer)
    urls = [
        publisher.publish(layer if i == 0 else f"{layer}-new", key, partial(dict, parts))
        for i, (key, parts) in enumerate(chunks)
    ]
    if len(urls) == 1:
        return urls[0]
    return {part: {"chunks": [u[part] for u in urls]} for part in urls[0]}


def published_layers(
    publisher: Publisher,
    picture: DerivedCache,
    scene: Scene,
    derived: Derived,
    shown: Mapping[str, Any],
    filters: Filters,
    names: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The URLs of the published parts (its ``PUBLISH``) of every layer (or of the layers
    ``names``), by layer: built from its derived frame once per version, or from the frame
    the filters keep (``shown``) once per version, filter choice and minute.

    Data restricted for one audience (a role) goes through that audience's own
    ``publisher`` (its own folder and URLs, see ``dashboard/datafiles.py``) and ``picture``
    (its map chunks are of its frames), so it is never handed to another."""
    urls: dict[str, Any] = {}
    for name in REGISTRY if names is None else names:
        layer = REGISTRY[name]
        how = layer.PUBLISH
        if not how.parts:
            continue
        if how.shown:
            key = (dataset_key(scene, name, minute=True), filters.of(name))
            urls[name] = publisher.publish(name, key, partial(layer.datasets, shown[name]))
        else:
            urls[name] = layer_urls(publisher, picture, scene, derived, name)
    return urls


def _mtime(path: Path) -> float:
    """When ``path`` was written; 0 when another session removed it meanwhile."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
