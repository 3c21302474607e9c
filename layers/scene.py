"""All feeds of a folder, loaded, with their problems: the input of every page."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.core import growth
from layers.core.manifest import MANIFEST, Scenario, read_scenario
from layers.core.ondisk import COSTLY_S, OnDisk
from layers.core.problems import Level, Problem
from layers.core.settings import Settings
from layers.io.files import unread
from layers.io.history import History
from layers.io.raw import RawTable
from layers.io.spec import ReadContext, empty_frame
from layers.io.store import Acceptance, FeedStore, FeedVersion
from layers.io.vector import FileOptions
from layers.registry import REGISTRY

if TYPE_CHECKING:
    from layers.contract import Layer
    from layers.io.database import DatabaseStore


FRAMING = ("areas", "polling_stations", "patrols", "convoy_routes")  # feeds the map opens on


def content_key(
    versions: Mapping[str, FeedVersion[gpd.GeoDataFrame]], feeds: Iterable[str]
) -> Hashable | None:
    """The versions of ``feeds`` by content (:meth:`Scene.content_key`), or None."""
    key = []
    for feed in feeds:
        version = versions.get(feed)
        if version is None or (version.content is None and version.data is not None):
            return None
        key.append((feed, version.content, version.stale_copy))
    return tuple(key)


@dataclass(frozen=True)
class Scene:
    """Clean frames of every registered feed (empty when missing), at one moment."""

    frames: dict[str, gpd.GeoDataFrame]
    versions: dict[str, FeedVersion[gpd.GeoDataFrame]] = field(default_factory=dict)
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))
    scenario: Scenario = Scenario()
    # Feeds kept only as versions, for cache keys: their data is empty and nothing of them
    # is shown (a role that may not see them, layers.access.policy).
    hidden: frozenset[str] = frozenset()
    # Files in the feed folder that no feed reads, and why (shown on the Feeds page).
    unread: tuple[tuple[str, str], ...] = ()

    @property
    def shown_versions(self) -> dict[str, FeedVersion[gpd.GeoDataFrame]]:
        """The versions of the feeds this scene shows (all but the hidden ones)."""
        if not self.hidden:
            return self.versions
        return {n: v for n, v in self.versions.items() if n not in self.hidden}

    def __getitem__(self, feed: str) -> gpd.GeoDataFrame:
        return self.frames[feed]

    def key(self, *feeds: str) -> Hashable | None:
        """The versions of ``feeds`` as a cache key: what is built from them is built again
        exactly when one of their files changed or failed. None for a scene put together
        by hand (no versions to compare)."""
        if any(feed not in self.versions for feed in feeds):
            return None
        return tuple((f, self.versions[f].signature, self.versions[f].stale_copy) for f in feeds)

    def content_key(self, *feeds: str) -> Hashable | None:
        """The versions of ``feeds`` by content, the same after a restart while their files
        are (a key for what is kept on disk, see :class:`layers.core.ondisk.OnDisk`); None
        when one of them is known only by its file's time and size (nothing is kept on
        disk, only appended rows were read, or no good version was ever read)."""
        return content_key(self.versions, feeds)

    @property
    def problems(self) -> list[Problem]:
        """Every problem of every feed, feed by feed, and of the scenario manifest."""
        return [
            *self.scenario.problems,
            *(p for v in self.shown_versions.values() for p in v.problems),
        ]

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """(minx, miny, maxx, maxy) the map opens on: the located features of the feeds
        that frame the election (areas, stations, bases, routes; every feed when these
        locate nothing), widened to whole hundredths of a degree, or None.

        The live feeds do not move it: streamlit-folium names the map after its script,
        which holds these bounds, so a frame that moved with each new incident or
        convoy ping would re-create the map and lose the user's view."""

        def box(frame: gpd.GeoDataFrame) -> np.ndarray:
            return np.asarray(frame.geometry.dropna().total_bounds)

        def boxes(feeds: Iterable[str]) -> list[np.ndarray]:
            found = [
                growth.kept(self.frames[name], f"bounds {name}", partial(box, self.frames[name]))
                for name in feeds
                if name in self.frames and len(self.frames[name])
            ]
            return [b for b in found if np.isfinite(b).all()]

        found = boxes(FRAMING) or boxes(self.frames)
        if not found:
            return None
        stacked = np.array(found)
        return (
            math.floor(stacked[:, 0].min() * 100) / 100,
            math.floor(stacked[:, 1].min() * 100) / 100,
            math.ceil(stacked[:, 2].max() * 100) / 100,
            math.ceil(stacked[:, 3].max() * 100) / 100,
        )

    def derived(self, failures: dict[str, Problem], notes: dict[str, list[Problem]]) -> Scene:
        """This scene with what deriving its layers found: the feeds in ``failures`` shown
        as failed (their data stays, the last good; the reason first among their
        problems), and ``notes`` added to their feeds' problems."""
        versions = dict(self.versions)
        for name, found in notes.items():
            version = versions[name]
            versions[name] = replace(version, problems=[*version.problems, *found])
        for name, problem in failures.items():
            version = versions[name]
            versions[name] = replace(
                version, problems=[problem, *version.problems], stale_copy=True
            )
        return replace(self, versions=versions)

    def feed_status(self) -> pd.DataFrame:
        """One row per feed: file, state, rows, problems (errors and warnings; notices apart)."""
        rows = []
        for name, version in self.shown_versions.items():
            spec = REGISTRY[name].SPEC
            if version.data is None and any(p.kind == "reading" for p in version.problems):
                state = "reading"
            elif version.data is None:
                state = (
                    "not provided"
                    if spec.optional and version.path is None
                    else ("missing" if version.path is None else "unreadable")
                )
            else:
                state = "showing an older copy" if version.stale_copy else "ok"
            rows.append(
                {
                    "feed": spec.title,
                    "file": version.path.name if version.path else None,
                    "state": state,
                    "rows": len(version.data) if version.data is not None else 0,
                    "problems": sum(p.level != Level.NOTICE for p in version.problems),
                    "notices": sum(p.level == Level.NOTICE for p in version.problems),
                    "what to do": next(
                        (p.fix for p in version.problems if p.level == Level.ERROR), None
                    )
                    if state != "ok"
                    else None,
                }
            )
        return pd.DataFrame(rows)


def _appended(earlier: gpd.GeoDataFrame, added: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A feed's rows read before, then the rows appended to its file since."""
    if not len(added):
        return earlier
    joined = gpd.GeoDataFrame(
        pd.concat([earlier, added], ignore_index=True), geometry="geometry", crs=earlier.crs
    )
    growth.grew(joined, earlier)
    return joined


class SceneLoader:
    """Loads a feed folder into Scenes, re-reading only the files that changed."""

    def __init__(
        self, settings: Settings, now: pd.Timestamp | None = None, history: History | None = None
    ):
        self.registry: dict[str, Layer] = REGISTRY
        self.settings = settings
        self.scenario = read_scenario(settings.feeds, now)
        self.context = ReadContext(settings.timezone, self.scenario.time_shift)
        rules = Acceptance(
            max_bytes=int(settings.max_feed_mb * 2**20),
            settle_s=settings.settle_s,
            hold_s=settings.hold_s,
            max_drop=settings.max_drop,
            grows=frozenset(name for name, layer in REGISTRY.items() if layer.SPEC.grows),
        )
        layers, crs = dict(settings.layers), dict(settings.crs)
        self.kept = OnDisk.at(settings.cache)  # parsed feeds, between restarts
        # Every version taken, for the replay: in the store of ``settings.history``, or in
        # ``history`` (the ingest's, in the database); a dashboard on the database keeps
        # none (the ingest did).
        self.history = history or (None if settings.database else History.at(settings.history))
        if self.history is not None:
            self._keep_manifest(settings.feeds)
        specs = {name: layer.SPEC for name, layer in REGISTRY.items()}
        self.store: FeedStore[gpd.GeoDataFrame] | DatabaseStore
        if settings.database:  # the feeds as the ingest wrote them (layers.ingest)
            from layers.io.database import DatabaseStore  # noqa: PLC0415 - only then

            self.store = DatabaseStore(settings.database, specs)
            label, synthetic = self.store.db.scenario()
            self.scenario = Scenario(label, synthetic)  # its times were moved at the ingest
        else:
            self.store = FeedStore(
                settings.feeds,
                self._build,
                _appended,
                rules,
                specs=specs,
                options={name: FileOptions(layers.get(name), crs.get(name)) for name in REGISTRY},
                kept=self.kept,
                salt=("read", repr(self.context)),
                history=self.history,
            )
        self.clock: Callable[[], pd.Timestamp] = partial(pd.Timestamp.now, tz="UTC")
        self._lock = threading.Lock()
        self._checks: dict[
            str, tuple[tuple[gpd.GeoDataFrame, ...], gpd.GeoDataFrame, list[Problem]]
        ] = {}
        self._last: tuple[dict[str, FeedVersion[gpd.GeoDataFrame]], Scene] | None = None

    def _keep_manifest(self, folder: Path) -> None:
        """The folder's manifest, as the history keeps it: with the time shift applied from
        now on written out, so that a replay moves the times as this loader does."""
        path = folder / MANIFEST
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            mtime = path.stat().st_mtime_ns
        except (OSError, ValueError):
            return  # none, or one read_scenario reports
        if not isinstance(doc, dict):
            return
        doc.update(
            shift_times_to_now=False,
            time_shift_minutes=self.scenario.time_shift / pd.Timedelta(minutes=1),
        )
        data = json.dumps(doc, indent=2).encode()
        assert self.history is not None
        self.history.record("scenario", time.time(), MANIFEST, mtime, data, None)

    def _checked(
        self,
        name: str,
        layer: Layer,
        frames: dict[str, gpd.GeoDataFrame],
        versions: dict[str, FeedVersion[gpd.GeoDataFrame]],
    ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
        """``layer``'s check of its frame against the feeds it needs, made again only when
        one of those frames changed (a frame is the same object while its file is).

        A costly check that leaves the frame as it is (the deliveries' 710,000 events
        looked up among 180,000 stations: 0.3 s) keeps what it found on disk, by the
        content of every feed it read: a restart takes it from there."""
        inputs = (frames[name], *(frames[n] for n in layer.DERIVE.needs))
        held = self._checks.get(name)
        if held is not None and len(held[0]) == len(inputs):
            if all(a is b for a, b in zip(held[0], inputs, strict=True)):
                return held[1], held[2]
        check = layer.DERIVE.check
        assert check is not None
        version = versions[name]
        file = version.path.name if version.path is not None else None
        disk = self._check_key(name, layer, versions)
        kept = self.kept.get(disk) if disk is not None and self.kept is not None else None
        if kept is not None:
            frame, found = frames[name], list(kept)
        else:
            started = time.perf_counter()
            frame, found = check(frames[name], frames, file)
            costly = time.perf_counter() - started >= COSTLY_S
            if disk is not None and self.kept is not None and frame is frames[name] and costly:
                self.kept.put(disk, tuple(found))
        self._checks[name] = (inputs, frame, found)
        return frame, found

    def _check_key(
        self, name: str, layer: Layer, versions: dict[str, FeedVersion[gpd.GeoDataFrame]]
    ) -> str | None:
        """Where the findings of ``name``'s check are kept on disk: by the content of its
        feed and of those it needs (None when one is not known by content)."""
        contents = content_key(versions, (name, *layer.DERIVE.needs))
        if self.kept is None or contents is None:
            return None
        return self.kept.key("checked", contents)

    def _build(self, feed: str, raw: RawTable) -> tuple[gpd.GeoDataFrame, list[Problem]]:
        return self.registry[feed].load(raw, self.context)

    def load(self, now: pd.Timestamp | None = None) -> Scene:
        """The current Scene of the folder.

        Without ``now``, the same Scene as the last load while no feed changed within the
        minute of its time: every session looking in that time shows one picture (same
        window edges, same ages), and what is built from a picture is built once for all.
        The minute is how often ages and time windows move (``picture_key``)."""
        got = self.store.get_all(self.registry)
        clock = now if now is not None else self.clock()
        with self._lock:
            if now is None and self._last is not None:
                seen, scene = self._last
                same = all(got[name] is seen.get(name) for name in got)
                if same and scene.now.floor("min") == clock.floor("min"):
                    return scene
            versions = {}
            frames = {}
            for name, layer in self.registry.items():
                version = got[name]
                if version.data is None and layer.SPEC.optional and version.path is None:
                    version = replace(version, problems=[])  # an absent optional feed: fine
                versions[name] = version
                frames[name] = version.data if version.data is not None else empty_frame(layer.SPEC)
            for name, layer in self.registry.items():
                if layer.DERIVE.check is not None:
                    frames[name], found = self._checked(name, layer, frames, versions)
                    if found:
                        versions[name] = replace(
                            versions[name], problems=[*versions[name].problems, *found]
                        )
            paths = {name: version.path for name, version in got.items()}
            left = () if self.settings.database else tuple(unread(self.settings.feeds, paths))
            scene = Scene(frames, versions, clock, self.scenario, unread=left)
            if now is None:
                self._last = (got, scene)
                if self.history is not None:
                    self._note_states(scene)
            return scene

    def _note_states(self, scene: Scene) -> None:
        """Each feed's state as screens show it, for the history (outages and stale
        periods of the after-action report)."""
        from layers.analysis.freshness import freshness  # noqa: PLC0415 - it reads Scenes

        table = freshness(scene, self.settings)
        assert self.history is not None
        self.history.note_states(
            scene.now.timestamp(),
            {
                name: (str(state), note if isinstance(note, str) else None)
                for name, state, note in zip(
                    scene.shown_versions, table["state"], table["note"], strict=True
                )
            },
        )


def derive_all(scene: Scene) -> dict[str, gpd.GeoDataFrame]:
    """Every registered layer's derived frame for this scene."""
    return {name: layer.derive(scene[name], scene) for name, layer in REGISTRY.items()}
