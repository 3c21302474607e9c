"""The last good copy of each feed: read a feed's file again only when it changed, hold back
a version that is damaged or cannot be read, and read only the rows appended to a file.

A feed is one file in the feed folder, named after the layer it feeds
(``incidents.csv``, ``polling_stations.geojson``, ``areas.zip``, ``convoy_routes.kml``...).
The store knows nothing about what the columns mean: a layer's ``load`` builds the frame
(see :class:`FeedStore`).
"""

from __future__ import annotations

import codecs
import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from layers.core.ondisk import OnDisk, digest
from layers.core.problems import Level, Problem
from layers.io.files import (
    Signature,
    StillWriting,
    crs_beside,
    locate,
    read_whole,
    settle_pause,
    settled,
    signature,
)
from layers.io.history import History
from layers.io.parsing import parse
from layers.io.raw import FeedError, RawTable
from layers.io.spec import FeedSpec
from layers.io.vector import FileOptions

log = logging.getLogger(__name__)


def os_problem(feed: str, file: object, err: OSError) -> Problem:
    """An operating-system failure while reading ``feed`` as a problem to show."""
    name = Path(str(file)).name if file else None
    reason = err.strerror or type(err).__name__
    return Problem(
        feed,
        name,
        None,
        None,
        f"the file could not be read: {reason}.",
        "Check that the file exists and that the dashboard's user may read it; it is "
        "tried again at the next refresh.",
        Level.ERROR,
        "os_error",
    )


def fault_problem(feed: str, file: str | None, err: Exception) -> Problem:
    """A fault of this program while reading or deriving ``feed``, as a problem to show
    (the traceback goes to the server's log)."""
    return Problem(
        feed,
        file,
        None,
        None,
        f"Pollwatch could not use this version ({type(err).__name__}: {str(err)[:200]}).",
        "This is a fault in Pollwatch, not necessarily in the file: the last good version "
        "stays on screen; please report it with the file.",
        Level.ERROR,
        "internal_error",
    )


T = TypeVar("T")


@dataclass
class FeedVersion(Generic[T]):
    """What a page shows for one feed: the data, where it came from, and what went wrong."""

    feed: str
    path: Path | None
    data: T | None
    signature: Signature | None
    problems: list[Problem]
    loaded_at: pd.Timestamp | None = None
    stale_copy: bool = False  # True when data is an older version kept because the new one failed
    good_signature: Signature | None = None  # of the file the data came from
    # What the data was built from, by content (the bytes, how they were read, the code):
    # the same across restarts while the file is; None when the store keeps nothing on
    # disk or only appended rows were read. See :meth:`layers.scene.Scene.content_key`.
    content: str | None = None

    @property
    def updated(self) -> pd.Timestamp | None:
        """When the file the shown data came from was written (None when there is none)."""
        return self.good_signature.mtime if self.good_signature is not None else None


SHOWN_FAILURES = 3  # failures named in the one-line "showing 14:02 data" message


# Signs of a damaged file, not of messy data: a location or geometry that is not text a
# reader can parse, or a row cut short. An empty location, (0, 0) or swapped values are
# data a feed may well carry in every version (reported, the row kept, never held back).
DAMAGE_KINDS = frozenset({"not_a_number", "invalid_geometry"})  # at error level: a location
CUT_SHORT = "row_length"


def damage_since(before: Sequence[Problem], after: Sequence[Problem]) -> list[Problem]:
    """The signs of damage in ``after`` that ``before`` did not have: a location that
    cannot be parsed, a row cut short. Compared by what and where in the row (kind,
    column, message with the value), not by row number, which shifts as rows come and
    go: a feed's known bad rows do not count again, a new one does."""

    def damaging(p: Problem) -> bool:
        if p.row is None:
            return False
        return p.kind == CUT_SHORT or (p.level == Level.ERROR and p.kind in DAMAGE_KINDS)

    known = Counter((p.kind, p.column, p.message) for p in before if damaging(p))
    out = []
    for p in after:
        if not damaging(p):
            continue
        key = (p.kind, p.column, p.message)
        if known[key] > 0:
            known[key] -= 1
        else:
            out.append(p)
    return out


@dataclass(frozen=True)
class _ReadText:
    """A good version's bytes and how its CSV begins, to read rows appended to it."""

    data: bytes
    head: bytes  # the lines before the first row (header, HXL tags)
    head_records: int
    records: int
    columns: list[str]
    hxl: dict[str, str]
    appendable: bool  # a CSV ending in a newline, one record per line
    # One hash per row of values (a growing feed's, to see rows already shown change).
    hashes: np.ndarray | None = None

    @classmethod
    def of(
        cls, data: bytes, raw: RawTable, before: _ReadText | None = None, hashed: bool = False
    ) -> _ReadText:
        if before is not None:  # an appended part: the head stays the first file's
            head, head_records = before.head, before.head_records
        else:
            head_records = int(raw.rows[0]) - 1 if len(raw.rows) else raw.records
            head = b"".join(data.splitlines(keepends=True)[:head_records])
        # One record per line, so appended bytes are appended records. For an appended
        # part only its own bytes are counted: the earlier ones were counted before.
        lines = (
            before.records + data.count(b"\n", len(before.data))
            if before is not None and before.appendable
            else data.count(b"\n")
        )
        appendable = (
            not raw.is_geojson
            and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))  # lines: bytes
            and raw.records > 0
            and data.endswith(b"\n")
            and lines == raw.records
        )
        hashes = None
        if hashed:
            own = _row_hashes(raw)
            earlier = before.hashes if before is not None else None
            hashes = own if earlier is None else np.concatenate([earlier, own])
        return cls(
            data,
            head,
            head_records,
            raw.records,
            list(raw.values.columns),
            raw.hxl,
            appendable,
            hashes,
        )


def _dropped_head(before: np.ndarray, now: np.ndarray) -> int | None:
    """How many of its first rows a growing feed dropped, the rows after them unchanged
    and first in ``now`` (a feed of "the last N hours"); 0 when nothing was dropped (rows
    only appended), None when ``now`` is not ``before`` less a head, plus rows."""
    if not len(before) or not len(now):
        return None
    for head in np.flatnonzero(before == now[0]):
        rest = before[head:]
        if len(rest) <= len(now) and np.array_equal(rest, now[: len(rest)]):
            return int(head)
    return None


def _row_hashes(raw: RawTable) -> np.ndarray:
    """One number per row for its values (columns by name, coordinates of GeoJSON)."""
    values = raw.values[sorted(raw.values.columns)].copy()
    if raw.lon is not None and raw.lat is not None:
        values["__lon"], values["__lat"] = raw.lon, raw.lat
    return pd.util.hash_pandas_object(values, index=False).to_numpy()


def _size(n: int) -> str:
    """A size in bytes as a person reads it: '850 kB', '512 MB', '1.2 GB'."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{n:,} bytes"


@dataclass(frozen=True)
class Acceptance:
    """When a new version of a feed is taken (see :class:`FeedStore`); from Settings."""

    max_bytes: int = 256 * 2**20
    settle_s: float = 1.0  # a file younger than this is looked at twice
    hold_s: float = 120.0  # a held version is taken when unchanged this long (0: never held)
    max_drop: float = 0.2  # share of rows a feed that does not grow may lose at once
    grows: frozenset[str] = frozenset()  # feeds that only grow
    background_bytes: int = 16 * 2**20  # larger files are read in a thread of their own
    max_read_s: float = 600.0  # a read taking longer is stopped and reported
    kept_bytes: int = 2**20  # files at least this large: parsed versions kept on disk


@dataclass
class _Read(Generic[T]):
    """One version as read and built, before the store takes it or holds it back."""

    signature: Signature
    built: T
    problems: list[Problem]
    text: _ReadText
    appended: bool = False  # only rows appended to the shown version were read
    content: str | None = None  # see FeedVersion.content


class _Cancelled(Exception):
    """A newer version replaced the one being read."""


class _Job:
    """A large file being read in a thread: how far it got, and what came of it."""

    def __init__(self, path: Path, sig: Signature, limit_s: float):
        self.path, self.file, self.signature = path, path.name, sig
        self.started, self.limit_s = time.monotonic(), limit_s
        self.rows = 0
        self.phase = "reading"
        self.cancelled = False
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def counted(self, rows: int) -> None:
        """Progress from the parser; stops the read once a newer version replaced it."""
        self.rows = rows
        if self.cancelled:
            raise _Cancelled(self.file)
        if time.monotonic() - self.started > self.limit_s:
            raise FeedError.whole(
                self.path.stem,
                self.file,
                f"reading stopped after {self.limit_s:g} s at {rows:,} rows.",
                "Check that this is the feed you meant to send; a file this slow to read "
                "is likely not one. It is tried again when it changes.",
                kind="too_slow",
            )

    def run(self, read: Callable[..., Any]) -> None:
        try:
            with _collector_paused():
                self.result = read(self)
        except _Cancelled:
            pass
        except Exception as err:  # noqa: BLE001 - handed to the page's look, as any read's
            self.error = err
        finally:
            self.done.set()


_pauses = 0  # large reads under way, with the cyclic garbage collector paused
_enable_after = False  # whether it ran before the first of them
_pauses_lock = threading.Lock()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large file is read: its full passes
    over the millions of new rows and cells stopped every thread (the pages) for up to a
    second each. The rows hold no cycles; it runs again when the last such read ends."""
    global _pauses, _enable_after
    with _pauses_lock:
        if _pauses == 0:
            _enable_after = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _enable_after:
                gc.enable()


class _StillReading(Exception):  # noqa: N818 - a state, as StillWriting
    def __init__(self, job: _Job):
        super().__init__(job.file)
        self.job = job


@dataclass
class _Held(Generic[T]):
    """A new version held back, and what showing it would take."""

    signature: Signature
    since: float  # monotonic time of the first look at this version
    version: FeedVersion[T]
    text: _ReadText
    problem: Problem


class FeedStore(Generic[T]):
    """Reads feeds from a folder, re-reading a file only when its signature changes.

    A version is read only when it is whole: a file that changed in the last
    ``settle_s`` seconds is looked at again that much later and left for the next look
    when it moved; a CSV's last line without its line end is never read as values.

    The first version of a feed shows every good row and reports the bad ones. After
    that, a new version that cannot be used at all, or that shows damage the shown version
    did not (a location that is not a number, a cut-off row: see :func:`damage_since`),
    is held back: the last good version stays on screen, the failure beside it, until a
    good file arrives. A screen that updates with rows silently missing would look live
    and complete when it is neither. So is a version that lost rows: a growing feed with
    fewer rows than shown or with shown rows changed, another feed that lost more than
    ``max_drop`` of its rows. That one is taken when it stays unchanged for ``hold_s``
    seconds or when somebody accepts it (:meth:`accept`).

    One store serves every session of a server: one lock, so that every screen sees the
    same version and a file is read once.
    """

    def __init__(
        self,
        folder: Path,
        build: Callable[[str, RawTable], tuple[T, list[Problem]]],
        extend: Callable[[T, T], T] | None = None,
        rules: Acceptance = Acceptance(),
        clock: Callable[[], float] = time.monotonic,
        specs: Mapping[str, FeedSpec] | None = None,
        options: Mapping[str, FileOptions] | None = None,
        kept: OnDisk | None = None,
        salt: Hashable = (),
        history: History | None = None,
    ):
        self.folder = Path(folder)
        self._history = history  # every version taken, for the replay
        # Parsed versions on disk, found again after a restart by the file's bytes and
        # ``salt`` (what else the build depends on: time zone, an exercise's time shift).
        self._kept, self._salt = kept, salt
        self._specs = dict(specs or {})  # each feed's geometry: which layer of a GIS file
        self._options = dict(options or {})  # settings per feed file (layer, CRS)
        self._build = build
        self._extend = extend  # earlier rows + appended rows, for append-only files
        self.rules = rules
        self._clock = clock
        self._lock = threading.RLock()
        self._good: dict[str, FeedVersion[T]] = {}
        self._seen: dict[str, tuple[Path | None, Signature | None, FeedVersion[T]]] = {}
        self._text: dict[str, _ReadText] = {}  # the good version's bytes, for appends
        self._held: dict[str, _Held[T]] = {}
        self._jobs: dict[str, _Job] = {}  # large files being read
        self._settled: dict[str, Signature] = {}  # seen not to move, during get_all()

    def get(self, feed: str) -> FeedVersion[T]:
        """The current version of ``feed`` (cached while its file is unchanged).

        A failure of the operating system (permission denied, a file that vanished
        between listing and reading, an I/O error) is reported like any failed version
        and not remembered: the file is tried again at the next look, since fixing a
        permission changes neither its time nor its size. Nor is a file still being
        written: the last whole version is shown until it settles."""
        with self._lock:
            return self._get(feed)

    def get_all(self, feeds: Iterable[str]) -> dict[str, FeedVersion[T]]:
        """Each of ``feeds`` as :meth:`get`; the files that changed are looked at twice
        together, across one pause, not one after another (a restart reads six at once)."""
        feeds = list(feeds)
        with self._lock:
            new: dict[str, tuple[Path, Signature]] = {}
            for feed in feeds:
                try:
                    path = locate(self.folder, feed)[0]
                    sig = signature(path) if path is not None else None
                except OSError:
                    continue  # get() says why
                seen, job = self._seen.get(feed), self._jobs.get(feed)
                if path is None or sig is None or (seen is not None and seen[:2] == (path, sig)):
                    continue
                if job is None or job.signature != sig:
                    new[feed] = (path, sig)
            if new and self.rules.settle_s > 0:
                time.sleep(max(settle_pause(sig, self.rules.settle_s) for _, sig in new.values()))
                for feed, (path, sig) in new.items():
                    try:
                        if signature(path) == sig:
                            self._settled[feed] = sig
                    except OSError:
                        continue
            try:
                return {feed: self._get(feed) for feed in feeds}
            finally:
                self._settled.clear()

    def held(self) -> dict[str, Problem]:
        """The feeds whose newest version is held back, with the reason."""
        with self._lock:
            return {feed: held.problem for feed, held in self._held.items()}

    def accept(self, feed: str) -> bool:
        """Show ``feed``'s held-back version now (False when none is held)."""
        with self._lock:
            held = self._held.get(feed)
            if held is None:
                return False
            self._take(feed, held)
            return True

    def _get(self, feed: str) -> FeedVersion[T]:
        path: Path | None = None
        try:
            path, locate_problems = locate(self.folder, feed)
            sig = signature(path) if path is not None else None
            seen = self._seen.get(feed)
            if seen is not None and seen[0] == path and seen[1] == sig:
                held = self._held.get(feed)
                if held is not None and self._clock() - held.since >= self.rules.hold_s:
                    return self._take(feed, held)
                return seen[2]
            version = self._load(feed, path, locate_problems)
        except StillWriting:
            return self._writing(feed, path)
        except _StillReading as reading:
            return self._reading(feed, reading.job)
        except OSError as err:
            name = path.name if path is not None else getattr(err, "filename", None)
            return self._failed(feed, path, None, [os_problem(feed, name, err)])
        self._seen[feed] = (path, version.signature, version)
        return version

    def _load(self, feed: str, path: Path | None, problems: list[Problem]) -> FeedVersion[T]:
        if path is None:
            self._held.pop(feed, None)
            missing = Problem(
                feed,
                None,
                None,
                None,
                f"no {feed}.csv, {feed}.geojson or other file of this feed in the feed folder.",
                f"Add {feed}.csv or {feed}.geojson to {self.folder.name}/ (docs/feeds.md "
                "describes its fields), or point POLLWATCH_FEEDS at the folder that has it.",
                kind="missing_file",
            )
            return self._failed(feed, None, None, [*problems, missing])
        sig = signature(path)
        try:
            self._refuse_size(feed, path, sig)
            job = self._jobs.get(feed)
            # A version being read has settled; so has one get_all() saw stay still.
            if (job is None or job.signature != sig) and self._settled.get(feed) != sig:
                settled(path, sig, self.rules.settle_s)
            if sig.size >= self.rules.background_bytes:
                # A restart's first look takes a large file kept on disk at once (a read in
                # the background would show the page without it first).
                kept = self._from_disk(feed, path, problems) if feed not in self._text else None
                read = kept or self._in_background(feed, path, sig, problems)
            else:
                read = self._read(feed, path, problems)
        except FeedError as err:
            return self._failed(feed, path, signature(path), [*problems, err.problem])
        except (OSError, StillWriting, _StillReading):
            raise  # reported by get(), and not remembered
        except Exception as err:  # noqa: BLE001 - one layer's fault must not take the page
            log.exception("reading %s from %s failed", feed, path)
            sig = signature(path)
            return self._failed(feed, path, sig, [*problems, fault_problem(feed, path.name, err)])
        return self._accept(feed, path, read)

    def _read(
        self, feed: str, path: Path, problems: list[Problem], job: _Job | None = None
    ) -> _Read[T]:
        """Read and build one version of ``feed`` (no state of the store changes: this may
        run in a thread of its own, see :meth:`_in_background`)."""
        data, sig = read_whole(path)
        counted = job.counted if job is not None else None
        appended = self._read_appended(feed, path, data, problems, counted)
        if appended is not None:
            return _Read(sig, *appended, appended=True)
        options = self._file_options(feed, path)
        content = self._content(feed, path, data, options)
        key = self._kept_key(content, data)
        kept = self._kept_read(key, sig, data, problems)
        if kept is not None:
            return kept
        raw = parse(feed, path, data, counted, self._specs.get(feed), options)
        if job is not None:
            job.phase = "checking"
        built, build_problems = self._build(feed, raw)
        text = _ReadText.of(data, raw, hashed=feed in self.rules.grows)
        found = [*raw.problems, *build_problems]
        if key is not None and self._kept is not None:
            self._kept.put(key, (built, found, replace(text, data=b"")))
        return _Read(sig, built, [*problems, *found], text, content=content)

    def _content(self, feed: str, path: Path, data: bytes, options: FileOptions) -> str | None:
        """The on-disk key of ``data`` read as ``feed`` (None: nothing is kept on disk);
        a version's parsed frame is kept under it when the file is large enough."""
        if self._kept is None:
            return None
        return self._kept.key("feed", feed, path.name, digest(data), options, self._salt)

    def _kept_key(self, content: str | None, data: bytes) -> str | None:
        """Where the parsed version of ``data`` is kept on disk (None: too small to keep)."""
        return content if len(data) >= self.rules.kept_bytes else None

    def _kept_read(
        self, key: str | None, sig: Signature, data: bytes, problems: list[Problem]
    ) -> _Read[T] | None:
        """The version of ``data`` kept on disk, if these very bytes were read by this
        very code before."""
        kept = self._kept.get(key) if key is not None and self._kept is not None else None
        if kept is None:
            return None
        built, found, text = kept
        return _Read(sig, built, [*problems, *found], replace(text, data=data), content=key)

    def _from_disk(self, feed: str, path: Path, problems: list[Problem]) -> _Read[T] | None:
        """``feed``'s file as kept on disk, or None (not kept: it is read)."""
        if self._kept is None:
            return None
        data, sig = read_whole(path)
        content = self._content(feed, path, data, self._file_options(feed, path))
        return self._kept_read(self._kept_key(content, data), sig, data, problems)

    def _file_options(self, feed: str, path: Path) -> FileOptions:
        options = self._options.get(feed) or FileOptions()
        if options.crs is None:  # a .prj beside a CSV says the same as settings
            options = replace(options, crs=crs_beside(path))
        return options

    def _in_background(
        self, feed: str, path: Path, sig: Signature, problems: list[Problem]
    ) -> _Read[T]:
        """A large file is read in a thread of its own, so that pages stay live and say how
        far it got: the read when it is done, else :class:`_StillReading`. A new version
        replaces a read under way (which stops at its next count)."""
        job = self._jobs.get(feed)
        if job is None or job.signature != sig:
            if job is not None:
                job.cancelled = True
            job = _Job(path, sig, self.rules.max_read_s)
            self._jobs[feed] = job
            threading.Thread(
                target=job.run, args=(partial(self._read, feed, path, problems),), daemon=True
            ).start()
        if not job.done.is_set():
            raise _StillReading(job)
        del self._jobs[feed]
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _accept(self, feed: str, path: Path, read: _Read[T]) -> FeedVersion[T]:
        """Show ``read`` from now on, unless it is damaged or lost rows (held back)."""
        sig, built, found = read.signature, read.built, read.problems
        good = self._good.get(feed)
        worse = damage_since(good.problems, found) if good is not None else []
        if worse:
            held_rows = len(built) if isinstance(built, Sized) else 0
            return self._failed(feed, path, sig, worse, held_rows=held_rows)
        version = FeedVersion(
            feed,
            path,
            built,
            sig,
            found,
            pd.Timestamp.now(tz="UTC"),
            good_signature=sig,
            content=read.content,
        )
        hold = not read.appended and self.rules.hold_s > 0
        lost = self._lost_rows(feed, path, version, read.text) if hold else None
        if lost is not None:
            kept = self._held.get(feed)
            since = kept.since if kept is not None and kept.problem == lost else self._clock()
            self._held[feed] = _Held(sig, since, version, read.text, lost)
            assert good is not None  # rows are lost only against a shown version
            return replace(good, signature=sig, problems=[lost, *good.problems], stale_copy=True)
        self._held.pop(feed, None)
        self._shown(feed, version, read.text)
        return version

    def _shown(self, feed: str, version: FeedVersion[T], text: _ReadText) -> None:
        """Show ``version`` from now on; the history keeps it (only its appended bytes
        when it grew from the version it replaces)."""
        before = self._text.get(feed)
        self._good[feed] = version
        self._text[feed] = text
        sig = version.signature
        if self._history is not None and version.path and sig is not None and text.data:
            self._history.record(
                feed,
                time.time(),
                version.path.name,
                sig.mtime_ns,
                text.data,
                before.data if before is not None else None,
            )

    def _refuse_size(self, feed: str, path: Path, sig: Signature) -> None:
        if sig.size > self.rules.max_bytes:
            raise FeedError.whole(
                feed,
                path.name,
                f"the file is {_size(sig.size)}, over the limit of "
                f"{_size(self.rules.max_bytes)}; it was not read.",
                "Check that this is the feed you meant to send; a larger limit is set with "
                "POLLWATCH_MAX_FEED_MB.",
                kind="too_large",
            )

    def _lost_rows(
        self, feed: str, path: Path, version: FeedVersion[T], text: _ReadText
    ) -> Problem | None:
        """Why ``version`` is held back (rows lost or rows already shown changed), or None."""
        good, before = self._good.get(feed), self._text.get(feed)
        if good is None or not isinstance(good.data, Sized) or not isinstance(version.data, Sized):
            return None
        shown, now = len(good.data), len(version.data)
        hold = f"it is taken by itself once it stays unchanged for {self.rules.hold_s:g} s."
        fix = "If the new file is right, accept it on the Feeds page; " + hold
        message = None
        if feed in self.rules.grows:
            old_rows = before.hashes if before is not None else None
            new_rows = text.hashes
            head = (
                _dropped_head(old_rows, new_rows)
                if old_rows is not None and new_rows is not None
                else None
            )
            if head:  # a window ("the last 24 hours"): its oldest rows went, the rest kept
                if head / shown > self.rules.max_drop:
                    message = (
                        f"{path.name} dropped its {head:,} oldest rows of {shown:,} at once "
                        f"({head / shown:.0%})"
                    )
            elif now < shown:
                message = f"{path.name} shrank from {shown:,} to {now:,} rows"
            elif old_rows is not None and new_rows is not None:
                changed = np.flatnonzero(old_rows != new_rows[: len(old_rows)])
                if len(changed):
                    message = (
                        f"{path.name} changed {len(changed):,} of the {shown:,} rows already shown"
                    )
        elif shown and (shown - now) / shown > self.rules.max_drop:
            message = f"{path.name} dropped from {shown:,} to {now:,} rows ({1 - now / shown:.0%})"
        if message is None:
            return None
        return Problem(
            feed,
            path.name,
            None,
            None,
            f"{message}; still showing the {shown:,}.",
            fix,
            Level.WARNING,
            "held_back",
        )

    def _take(self, feed: str, held: _Held[T]) -> FeedVersion[T]:
        """Show a held-back version from now on."""
        del self._held[feed]
        self._shown(feed, held.version, held.text)
        self._seen[feed] = (held.version.path, held.signature, held.version)
        return held.version

    def _writing(self, feed: str, path: Path | None) -> FeedVersion[T]:
        """What to show while ``feed``'s file is being written: its last whole version."""
        good = self._seen.get(feed)
        if good is not None:
            return good[2]
        name = path.name if path is not None else feed
        return FeedVersion(
            feed,
            path,
            None,
            None,
            [
                Problem(
                    feed,
                    name,
                    None,
                    None,
                    "the file is still being written; it is read once it stops changing.",
                    "Nothing to do if a system is writing it; it is looked at again at the "
                    "next refresh.",
                    Level.WARNING,
                    "still_writing",
                )
            ],
        )

    def _reading(self, feed: str, job: _Job) -> FeedVersion[T]:
        """What to show while a large file is read: the last version shown, and how far
        the reading got (not remembered: the next look shows more)."""
        seen = self._seen.get(feed)
        base = seen[2] if seen is not None else FeedVersion(feed, job.path, None, None, [])
        rows = f"{job.rows:,} rows" if job.phase == "reading" else f"{job.rows:,} rows read"
        notice = Problem(
            feed,
            job.file,
            None,
            None,
            f"{job.phase} {job.file}: {rows}",
            "A large file takes a while; the last good version stays on screen meanwhile.",
            Level.NOTICE,
            "reading",
        )
        return replace(base, problems=[notice, *base.problems])

    def _read_appended(
        self,
        feed: str,
        path: Path,
        data: bytes,
        located: list[Problem],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[T, list[Problem], _ReadText] | None:
        """When ``data`` is the good version's CSV with rows added at the end (how incident
        and position feeds grow), read only the added rows; None when it is not."""
        good, before = self._good.get(feed), self._text.get(feed)
        if (
            self._extend is None
            or good is None
            or good.data is None
            or before is None
            or good.path != path
            or not before.appendable
            or len(data) <= len(before.data)
            or not data.startswith(before.data)
        ):
            return None
        tail = before.head + data[len(before.data) :]
        options = self._file_options(feed, path)
        part = parse(feed, path, tail, progress, self._specs.get(feed), options)
        if list(part.values.columns) != before.columns or part.hxl != before.hxl:
            return None
        shift = before.records - before.head_records  # tail record k is file record k + shift
        part.rows = part.rows + shift
        part.records = before.records + part.records - before.head_records
        part.earlier = good.data
        built, part_problems = self._build(feed, part)
        said = {(p.kind, p.column, p.message) for p in good.problems if p.row is None}
        # The parser numbered the part's rows from its own start; the builder saw them shifted.
        parsed = [p if p.row is None else replace(p, row=p.row + shift) for p in part.problems]
        added = [
            p
            for p in [*located, *parsed, *part_problems]
            if p.row is not None or (p.kind, p.column, p.message) not in said
        ]
        joined = self._extend(good.data, built)
        return (
            joined,
            [*good.problems, *added],
            _ReadText.of(data, part, before, hashed=feed in self.rules.grows),
        )

    def _failed(
        self,
        feed: str,
        path: Path | None,
        sig: Signature | None,
        problems: list[Problem],
        held_rows: int = 0,
    ) -> FeedVersion[T]:
        good = self._good.get(feed)
        if good is None:
            return FeedVersion(feed, path, None, sig, problems)
        when = good.signature.mtime.strftime("%H:%M") if good.signature else "earlier"
        failed_at = sig.mtime.strftime("%H:%M") if sig else "now"
        if when == failed_at and good.signature and sig:  # the same minute: say the seconds
            when, failed_at = (t.mtime.strftime("%H:%M:%S") for t in (good.signature, sig))
        shown = "; ".join(f"{p.where}: {p.message}" for p in problems[:SHOWN_FAILURES])
        if len(problems) > SHOWN_FAILURES:
            shown += f"; and {len(problems) - SHOWN_FAILURES} more"
        held = f" Its {held_rows:,} readable rows wait until then." if held_rows else ""
        kept = Problem(
            feed,
            good.path.name if good.path else None,
            None,
            None,
            f"showing {when} data; the {failed_at} file failed: {shown}",
            "The last good version stays on screen until a good file arrives." + held,
            Level.WARNING,
            "kept_last_good",
        )
        return FeedVersion(
            feed,
            good.path,
            good.data,
            sig,
            [kept, *problems, *good.problems],
            good.loaded_at,
            stale_copy=True,
            good_signature=good.signature,
            content=good.content,
        )
