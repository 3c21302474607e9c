"""Map datasets published as static JSON files the browser fetches once per version.

Each file is named by its content (a hash), so unchanged data keeps its URL, and the
browser its copy, across feed versions; a rerun sends URLs, not data. The payload format
is :mod:`layers.map.payload`. Safe across concurrent sessions: the memo is locked, and
two sessions writing the same content write the same file atomically.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from layers.analysis.filters import Filters
from layers.analysis.picture import (
    Derived,
    DerivedCache,
    dataset_key,
    map_datasets,
)
from layers.core.memo import Memo
from layers.io.files import write_atomic
from layers.registry import REGISTRY
from layers.scene import Scene

KEEP_FILES = 6  # newest files kept per dataset name and part; older versions are removed
MEMO = 64  # (name, key) pairs remembered


class Publisher:
    """Writes datasets under ``folder``, served at ``url`` (e.g. Streamlit's static route)."""

    def __init__(self, folder: Path, url: str, keep: int = KEEP_FILES, memo: int = MEMO):
        self.folder, self.url, self.keep = Path(folder), url.rstrip("/"), keep
        self._urls: Memo[dict[str, str]] = Memo(memo)

    def publish(
        self, name: str, key: Hashable, build: Callable[[], dict[str, Any]]
    ) -> dict[str, str]:
        """URLs of the parts ``build()`` returns ({part: data}), built once per ``key``."""
        return self._urls.get(
            (name, key),
            lambda: {part: self._write(name, part, data) for part, data in build().items()},
        )

    def _write(self, name: str, part: str, data: Any) -> str:
        payload = orjson.dumps(data)  # a sixth of json.dumps' time on these columns
        digest = hashlib.sha256(payload).hexdigest()[:16]
        path = self.folder / f"{name}-{part}-{digest}.json"
        if not path.exists():
            write_atomic(path, payload)
        older = sorted(self.folder.glob(f"{name}-{part}-*.json"), key=_mtime, reverse=True)
        for stale in older[self.keep :]:
            stale.unlink(missing_ok=True)
        return f"{self.url}/{path.name}"


def layer_urls(
    publisher: Publisher, picture: DerivedCache, scene: Scene, derived: Derived, layer: str
) -> dict[str, Any]:
    """URLs of ``layer``'s map dataset parts. A row-wise layer (incidents) comes in chunks,
    {"chunks": [url, ...]} per part, which the browser joins: a grown feed publishes only
    its new rows (:meth:`layers.analysis.picture.DerivedCache.map_chunks`)."""
    if not REGISTRY[layer].DERIVE.row_wise:
        return publisher.publish(
            layer, dataset_key(scene, layer), lambda: map_datasets(derived, layer)
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
) -> dict[str, Any]:
    """The URLs of every layer's published parts (its ``PUBLISH``), by layer: built from
    its derived frame once per version, or from the frame the filters keep (``shown``) once
    per version, filter choice and minute."""
    urls: dict[str, Any] = {}
    for name, layer in REGISTRY.items():
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
