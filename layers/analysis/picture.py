"""Every layer derived, each again only when what it reads changed (its
:class:`~layers.contract.Derivation`), and the map datasets built from them.

A derive that raises keeps the layer's last good frame and marks its feed failed; a feed
that only grew derives only its new rows. Safe across sessions: values live in a
:class:`~layers.core.memo.Memo`, and one derive runs at a time.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import geopandas as gpd
import pandas as pd

from layers.analysis import areas as area_rule
from layers.core import growth
from layers.core.memo import Memo
from layers.core.ondisk import COSTLY_S, OnDisk
from layers.core.problems import Problem
from layers.io.spec import empty_frame
from layers.io.store import fault_problem
from layers.map.payload import joined_columnar
from layers.registry import REGISTRY
from layers.scene import Scene

log = logging.getLogger(__name__)


def map_datasets(derived: dict[str, gpd.GeoDataFrame], layer: str) -> dict[str, Any]:
    """The published parts of ``layer``'s map data, from its derived frame (the layer's
    ``datasets``): files the browser fetches once per version."""
    return REGISTRY[layer].datasets(derived[layer])


def with_area(
    frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, feed: str, file: str | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Frame with ``area`` (:func:`layers.analysis.areas.assign`) and ``area2`` (its
    sub-area, :func:`layers.analysis.areas.sub_areas`), and the rows whose own area and
    polygon disagree."""
    area, problems = area_rule.assign(frame, areas, feed, file)
    return frame.assign(area=area, area2=area_rule.sub_areas(frame, area)), problems


def derive_picture(scene: Scene) -> Derived:
    """Every layer derived, with an ``area`` on stations and incidents (no cache kept)."""
    return DerivedCache().derive(scene)


def dataset_key(scene: Scene, layer: str, minute: bool = False) -> Hashable:
    """What a map dataset of ``layer`` is built from (:func:`derive_key`); ``minute``: with
    the minute, for a dataset with columns that age (convoy positions). A scene put
    together by hand has no versions: its datasets are built anew each time."""
    key = derive_key(layer, scene, minute=minute)
    return ("uncached", time.monotonic_ns()) if key is None else key


def derive_key(
    name: str, scene: Scene, minute: bool = True, own: bool = True, content: bool = False
) -> Hashable | None:
    """What layer ``name``'s derived frame depends on (its :class:`~layers.contract.Derivation`),
    or None when that cannot be told: the versions of its feed and the feeds it needs, the
    moment it depends on, and the minute when its columns age (unless ``minute`` is False,
    for what is built from columns that do not age). ``own=False``: without its own feed.
    ``content``: the versions by content (:meth:`~layers.scene.Scene.content_key`), a key
    that holds across restarts.
    """
    how = REGISTRY[name].DERIVE
    feeds = (*((name,) if own else ()), *how.needs)
    versions = scene.content_key(*feeds) if content else scene.key(*feeds)
    if versions is None:
        return None
    key: tuple[Hashable, ...] = (versions,)
    if how.moment is not None:
        key += (how.moment(scene),)
    if how.ages and minute:
        key += (scene.now.floor("min"),)
    return key


@dataclass(frozen=True)
class _Derived:
    key: Hashable
    context: Hashable  # the key without the layer's own feed
    source: gpd.GeoDataFrame  # the scene's frame it was derived from
    frame: gpd.GeoDataFrame
    failure: Problem | None = None  # why this key's derive failed (frame: the last good one)
    notes: tuple[Problem, ...] = ()  # what deriving found (e.g. an area that disagrees)


class Derived(dict[str, gpd.GeoDataFrame]):
    """Every layer's derived frame, by feed name, and the scene they came from with the
    feeds whose derive failed marked as failed (their last good frame kept)."""

    def __init__(
        self,
        frames: dict[str, gpd.GeoDataFrame],
        scene: Scene,
        failures: dict[str, Problem],
        notes: dict[str, list[Problem]],
    ):
        super().__init__(frames)
        self.failures = failures
        self.scene = scene.derived(failures, notes) if failures or notes else scene

    def areas_of(self, feed: str) -> pd.Series:
        """The area of each row of the scene's ``feed`` frame: the derived column when the
        derived frame holds those rows (unless its derive failed), else found anew."""
        frame, source = self[feed], self.scene[feed]
        if "area" in frame and len(frame) == len(source) and frame.index.equals(source.index):
            return frame["area"]
        return area_rule.assign(source, self.scene["areas"], feed)[0]

    def sub_areas_of(self, feed: str) -> pd.Series:
        """The sub-area of each row of the scene's ``feed`` frame, as :meth:`areas_of`."""
        frame, source = self[feed], self.scene[feed]
        if "area2" in frame and len(frame) == len(source) and frame.index.equals(source.index):
            return frame["area2"]
        return area_rule.sub_areas(source, self.areas_of(feed))


REBASE_ROWS = 5_000  # rows appended since a map dataset's full build before it is rebuilt
_SERIAL = itertools.count()  # names each full build of a map dataset


@dataclass(frozen=True)
class _Chunks:
    context: Hashable  # what the dataset depends on besides its own feed
    base_source: gpd.GeoDataFrame  # the feed's frame at the full build
    base_key: Hashable
    base: dict[str, Any]  # columnar, of the full build
    source: gpd.GeoDataFrame  # the feed's frame now
    tail: dict[str, Any] | None  # columnar, of the rows appended since the full build


class DerivedCache:
    """Derived layers kept between reruns, each recomputed only when its inputs changed.

    A filter change or a refresh where nothing changed costs no derivation; a new
    incidents file re-derives incidents only (coverage of 180,000 stations is the costly
    one, and depends on neither), and when the file only grew, only its new rows (the
    result is recorded as grown, see :mod:`layers.core.growth`).
    Also keeps the incidents' map dataset (:meth:`map_chunks`), grown in the same way.

    With ``kept`` (the on-disk store), a costly derived frame is also kept on disk by the
    content of what it came from (:func:`derive_key` with ``content``) and ``salt`` (the
    settings): the first derive after a restart takes it from there (coverage of
    180,000 stations and their areas: 1.5 s made, a fraction of that read).
    """

    def __init__(self, kept: OnDisk | None = None, salt: Hashable = ()) -> None:
        self._kept, self._salt = kept, salt
        # Per layer, its last derived frame and its map dataset's chunks; one derive at a
        # time (sessions asking at once would each compute the same frames).
        self._memo: Memo[_Derived] = Memo(64)
        self._chunks: Memo[_Chunks] = Memo(64)
        self._lock = threading.Lock()
        self.keys: dict[str, Hashable | None] = {}

    def derive(self, scene: Scene) -> Derived:
        """Every layer derived. A layer whose derive raises keeps its last good frame
        (an empty one at first) and its feed shows as failed, with the reason."""
        held: dict[str, _Derived] = {}
        with self._lock:
            for name in REGISTRY:
                key = derive_key(name, scene)
                self.keys[name] = key
                memo = self._memo.peek(name)
                if key is None or memo is None or memo.key != key:
                    memo = self._derive(name, key, scene, memo)
                    if key is not None:
                        self._memo.put(name, memo)
                held[name] = memo
        return Derived(
            {name: d.frame for name, d in held.items()},
            scene,
            {name: d.failure for name, d in held.items() if d.failure is not None},
            {name: list(d.notes) for name, d in held.items() if d.notes},
        )

    def _derive(
        self, name: str, key: Hashable | None, scene: Scene, memo: _Derived | None
    ) -> _Derived:
        """Layer ``name`` derived anew; only its appended rows when its feed just grew."""
        context = derive_key(name, scene, own=False)
        added = (
            growth.added_rows(scene[name], memo.source)
            if REGISTRY[name].DERIVE.row_wise and memo is not None and memo.context == context
            else None
        )
        source = scene[name] if added is None else added
        version = scene.versions.get(name)
        file = version.path.name if version and version.path else None
        disk = self._disk_key(name, scene) if added is None else None

        def made() -> tuple[gpd.GeoDataFrame, list[Problem]]:
            frame = REGISTRY[name].derive(source, scene)
            if REGISTRY[name].DERIVE.areas:
                return with_area(frame, scene["areas"], name, file)
            return frame, []

        try:
            if disk is not None and self._kept is not None:
                frame, notes = self._kept.made(disk, made, COSTLY_S)
            else:
                frame, notes = made()
        except Exception as err:  # noqa: BLE001 - one layer's fault must not take the page
            log.exception("deriving %s failed", name)
            failure = fault_problem(name, file, err)
            if memo is not None:
                return replace(memo, key=key, failure=failure)
            return _Derived(key, context, scene[name], self._empty(name, scene), failure)
        if added is not None and memo is not None:
            earlier = memo.frame
            frame = gpd.GeoDataFrame(
                pd.concat([earlier, frame]), geometry="geometry", crs=earlier.crs
            )
            growth.grew(frame, earlier)
            notes = [*memo.notes, *notes]
        return _Derived(key, context, scene[name], frame, None, tuple(notes))

    def _disk_key(
        self, name: str, scene: Scene, kind: str = "derived", minute: bool = True
    ) -> str | None:
        """Where layer ``name``'s frame derived from ``scene`` (``kind``: or what is built
        from it) is kept on disk, or None."""
        if self._kept is None:
            return None
        content = derive_key(name, scene, minute=minute, content=True)
        return None if content is None else self._kept.key(kind, name, content, self._salt)

    def _map_disk_key(self, name: str, scene: Scene) -> str | None:
        """Where the full build of row-wise layer ``name``'s map dataset is kept on disk
        (the deliveries' 710,000 events by station: 1.1 s built), or None. Of the
        derived frame's content, without the minute (the map shows no ages); never of a
        frame held in place of one whose derive failed."""
        memo = self._memo.peek(name)
        if memo is None or memo.failure is not None or memo.key != derive_key(name, scene):
            return None
        return self._disk_key(name, scene, "map", minute=False)

    @staticmethod
    def _empty(name: str, scene: Scene) -> gpd.GeoDataFrame:
        """``name``'s derived frame with no rows: what a layer shows before any good one
        (every layer derives an empty frame: the contract test checks it)."""
        layer = REGISTRY[name]
        frame = layer.derive(empty_frame(layer.SPEC), scene)
        return with_area(frame, scene["areas"], name)[0] if layer.DERIVE.areas else frame

    def map_chunks(
        self, scene: Scene, derived: dict[str, gpd.GeoDataFrame], layer: str
    ) -> list[tuple[Hashable, dict[str, Any]]]:
        """The map dataset of a row-wise points layer (incidents) in chunks of rows, each
        with a key naming its content: the rows of its last full build, then (when the
        feed grew since) the rows appended since, built alone. The browser joins them,
        so a new incident sends its rows, not all 50,000 again. Fully rebuilt when the
        feed did not just grow, the areas changed, or more than ``REBASE_ROWS`` rows
        were appended since. The minute does not matter: the map shows no ages."""
        datasets = REGISTRY[layer].datasets
        source, frame = scene[layer], derived[layer]
        context = derive_key(layer, scene, minute=False, own=False)
        held = self._chunks.peek(layer)
        if (
            held is None
            or held.context != context
            or not growth.extends(source, held.base_source)
            or len(source) - len(held.base_source) > REBASE_ROWS
        ):
            disk = self._map_disk_key(layer, scene)
            if disk is not None and self._kept is not None:
                base = self._kept.made(disk, partial(datasets, frame), COSTLY_S)
            else:
                base = datasets(frame)
            held = _Chunks(context, source, ("map", layer, next(_SERIAL)), base, source, None)
        elif source is not held.source:
            start = len(held.source) if growth.extends(source, held.source) else None
            if start is not None and held.tail is not None:
                added = datasets(frame.iloc[start:])
                tail = {part: joined_columnar(held.tail[part], added[part]) for part in added}
            else:
                tail = datasets(frame.iloc[len(held.base_source) :])
            held = replace(held, source=source, tail=tail)
        self._chunks.put(layer, held)
        chunks = [(held.base_key, held.base)]
        if held.tail is not None and any(part["n"] for part in held.tail.values()):
            chunks.append(((held.base_key, len(held.source)), held.tail))
        return chunks
