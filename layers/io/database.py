"""Feeds in PostgreSQL with PostGIS: the shared store of several operations centres.

The ingest (:mod:`layers.ingest`) reads the feed folder exactly as the dashboard does
(the same readers, checks and last-good rules: :class:`layers.scene.SceneLoader`) and
writes each version it took here. Every feed has a table of its own, ``feed_<name>``, one
row per record, with its fields as typed columns, its location in ``geom`` (SRID 4326,
a GiST index) and the span of versions it belongs to (``since``, ``until``): a version
that appends rows adds only those rows, a rewrite closes the rows before it. A version
is any feed's row in ``pollwatch_versions`` (when it was taken, its file, digest and row
count), its problems rows of ``pollwatch_problems``. Each new version is announced with
``NOTIFY pollwatch, '<feed> <version>'``.

So the table ``feed_incidents`` is the incidents feed as any GIS tool reads it, and the
rows of any past version are ``since <= v AND (until IS NULL OR until > v)``.

psycopg (3): the maintained PostgreSQL driver for Python, with COPY for bulk rows.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from layers.core import growth
from layers.core.problems import Level, Problem
from layers.io.files import Signature
from layers.io.spec import FeedSpec, empty_frame
from layers.io.store import FeedVersion

log = logging.getLogger(__name__)
CHANNEL = "pollwatch"

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE IF NOT EXISTS pollwatch_versions (
    id BIGSERIAL PRIMARY KEY,
    feed TEXT NOT NULL,
    taken TIMESTAMPTZ NOT NULL DEFAULT now(),
    file TEXT,
    mtime TIMESTAMPTZ,
    digest TEXT,
    rows BIGINT NOT NULL,
    appended BOOLEAN NOT NULL,   -- its rows: those of the version before and these
    stale_copy BOOLEAN NOT NULL DEFAULT false  -- the newest file failed; older rows shown
);
CREATE INDEX IF NOT EXISTS pollwatch_versions_feed ON pollwatch_versions (feed, id);
CREATE TABLE IF NOT EXISTS pollwatch_problems (
    version BIGINT NOT NULL REFERENCES pollwatch_versions (id),
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    file TEXT,
    row_no BIGINT,
    column_name TEXT,
    message TEXT NOT NULL,
    fix TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pollwatch_problems_version ON pollwatch_problems (version);
CREATE TABLE IF NOT EXISTS pollwatch_scenario (
    taken TIMESTAMPTZ NOT NULL DEFAULT now(),
    label TEXT,
    synthetic BOOLEAN NOT NULL,
    time_shift_minutes DOUBLE PRECISION NOT NULL  -- already applied to the rows' times
);
"""
TYPES = {"int": "BIGINT", "float": "DOUBLE PRECISION", "time": "TIMESTAMPTZ", "bool": "BOOLEAN"}


@dataclass(frozen=True)
class Version:
    """One version of a feed as the database has it."""

    id: int
    feed: str
    file: str | None
    mtime: pd.Timestamp | None
    rows: int
    appended: bool
    stale_copy: bool


def table(feed: str) -> sql.Identifier:
    return sql.Identifier(f"feed_{feed}")


def _pg_type(spec: FeedSpec, column: str, values: pd.Series) -> str:
    """The column's type: its field's kind, else what its values are."""
    for f in spec.fields:
        if f.name == column:
            return TYPES.get(f.kind, "TEXT")
    if pd.api.types.is_bool_dtype(values):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(values):
        return "BIGINT"
    if pd.api.types.is_float_dtype(values):
        return "DOUBLE PRECISION"
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return "TIMESTAMPTZ"
    return "TEXT"


class Database:
    """The feeds' database at ``url`` (a PostgreSQL URL); its tables made when missing."""

    def __init__(self, url: str, make_schema: bool = True):
        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)
        if make_schema:  # the ingest's; a dashboard (maybe on a read-only standby) reads
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(4242)")  # one process makes it
                try:
                    cur.execute(SCHEMA)
                finally:
                    cur.execute("SELECT pg_advisory_unlock(4242)")
        self._columns: dict[str, set[str]] = {}

    @property
    def conn(self) -> psycopg.Connection:
        """The connection, made again when the server had dropped it."""
        if self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True)
        return self._conn

    def in_recovery(self) -> bool:
        """Whether this server is a standby (a copy that follows another)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery()")
            return bool(cur.fetchone()[0])  # type: ignore[index]

    def newest_versions(self) -> dict[str, int]:
        """Each feed's newest version id."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT feed, max(id) FROM pollwatch_versions GROUP BY feed")
            return {feed: int(v) for feed, v in cur.fetchall()}

    def link(self) -> tuple[bool, pd.Timestamp | None]:
        """On a standby: whether it streams from its primary now, and the time of the
        last change it replayed."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT status FROM pg_stat_wal_receiver) = 'streaming', "
                "pg_last_xact_replay_timestamp()"
            )
            streaming, replayed = cur.fetchone()  # type: ignore[misc]
        since = pd.Timestamp(replayed).tz_convert("UTC") if replayed is not None else None
        return bool(streaming), since

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor]:
        with self.conn.transaction(), self.conn.cursor() as cur:
            yield cur

    def _table_for(self, cur: psycopg.Cursor, spec: FeedSpec, frame: pd.DataFrame) -> list[str]:
        """Make the feed's table (or add the columns it lacks); the columns written."""
        name = spec.name
        columns = [c for c in frame.columns if c != frame.geometry.name and c != "source_row"]
        if name not in self._columns:
            cur.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (since BIGINT NOT NULL, until BIGINT, "
                    "row_id BIGINT NOT NULL, source_row BIGINT, geom geometry(Geometry, 4326))"
                ).format(table(name))
            )
            cur.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING GIST (geom)").format(
                    sql.Identifier(f"feed_{name}_geom"), table(name)
                )
            )
            cur.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (since, until)").format(
                    sql.Identifier(f"feed_{name}_span"), table(name)
                )
            )
            cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (f"feed_{name}",),
            )
            self._columns[name] = {r[0] for r in cur.fetchall()}
        for column in columns:
            if column not in self._columns[name]:
                cur.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                        table(name),
                        sql.Identifier(column),
                        sql.SQL(_pg_type(spec, column, frame[column])),
                    )
                )
                self._columns[name].add(column)
        return columns

    def publish(
        self,
        spec: FeedSpec,
        frame: gpd.GeoDataFrame,
        problems: Iterable[Problem],
        file: str | None,
        mtime: pd.Timestamp | None,
        digest: str | None,
        added: gpd.GeoDataFrame | None = None,
        stale_copy: bool = False,
    ) -> int:
        """Write a version of ``spec``'s feed: ``frame`` whole, or only ``added`` (its rows
        appended to the version before) and announce it; its id."""
        with self._transaction() as cur:
            columns = self._table_for(cur, spec, frame)
            cur.execute(
                "INSERT INTO pollwatch_versions (feed, file, mtime, digest, rows, appended, "
                "stale_copy) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (spec.name, file, mtime, digest, len(frame), added is not None, stale_copy),
            )
            version = int(cur.fetchone()[0])  # type: ignore[index]
            if added is None:
                cur.execute(
                    sql.SQL("UPDATE {} SET until = %s WHERE until IS NULL").format(
                        table(spec.name)
                    ),
                    (version,),
                )
                rows, first = frame, 0
            else:
                rows, first = added, len(frame) - len(added)
            self._copy(cur, spec.name, columns, rows, version, first)
            cur.executemany(
                "INSERT INTO pollwatch_problems VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (version, str(p.level.value), p.kind, p.file, p.row, p.column, p.message, p.fix)
                    for p in problems
                ],
            )
            cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{spec.name} {version}"))
        return version

    def _copy(
        self,
        cur: psycopg.Cursor,
        feed: str,
        columns: list[str],
        rows: gpd.GeoDataFrame,
        version: int,
        first: int,
    ) -> None:
        """The rows into the feed's table by COPY (row ids from ``first``)."""
        geoms = rows.geometry.to_numpy()
        wkb = shapely.to_wkb(geoms, hex=True, include_srid=False)
        source = rows["source_row"].to_numpy() if "source_row" in rows else None
        values = [_cells(rows[c]) for c in columns]
        names = [sql.Identifier(c) for c in ["since", "row_id", "source_row", "geom", *columns]]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            table(feed), sql.SQL(", ").join(names)
        )
        with cur.copy(statement) as copy:
            for i in range(len(rows)):
                geom = None if geoms[i] is None else f"SRID=4326;{wkb[i]}"
                copy.write_row(
                    (
                        version,
                        first + i,
                        None if source is None else int(source[i]),
                        geom,
                        *(column[i] for column in values),
                    )
                )

    def latest(self, feed: str) -> Version | None:
        """The feed's newest version (None: none written)."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT id, feed, file, mtime, rows, appended, stale_copy FROM "
                "pollwatch_versions WHERE feed = %s ORDER BY id DESC LIMIT 1",
                (feed,),
            )
            row = cur.fetchone()
        if row is None:
            return None
        mtime = pd.Timestamp(row[3]).tz_convert("UTC") if row[3] is not None else None
        return Version(row[0], row[1], row[2], mtime, row[4], row[5], row[6])

    def frame(self, spec: FeedSpec, version: int, after: int | None = None) -> gpd.GeoDataFrame:
        """The rows of ``spec``'s feed at ``version``, typed as the reader types them;
        with ``after``, only those added since that version."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_name = %s",
                (f"feed_{spec.name}",),
            )
            if cur.fetchone() is None:
                return empty_frame(spec)
            cur.execute(
                sql.SQL(
                    "SELECT *, ST_AsBinary(geom) AS wkb FROM {} WHERE since <= %s AND "
                    "since > %s AND (until IS NULL OR until > %s) ORDER BY row_id"
                ).format(table(spec.name)),
                (version, -1 if after is None else after, version),
            )
            names = [d.name for d in cur.description or ()]
            rows = cur.fetchall()
        data = pd.DataFrame(rows, columns=names)
        geoms = shapely.from_wkb(
            np.array([bytes(b) if b is not None else None for b in data["wkb"]], dtype=object)
        )
        data = data.drop(columns=["since", "until", "row_id", "geom", "wkb"])
        return typed(spec, data, geoms)

    def set_scenario(self, label: str | None, synthetic: bool, shift: pd.Timedelta) -> None:
        """The folder's scenario as the ingest read it (its times already moved)."""
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO pollwatch_scenario VALUES (now(), %s, %s, %s)",
                (label, synthetic, shift / pd.Timedelta(minutes=1)),
            )
            cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, "scenario 0"))

    def scenario(self) -> tuple[str | None, bool]:
        """The label and whether the data are synthetic (none written: no label)."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT label, synthetic FROM pollwatch_scenario ORDER BY taken DESC LIMIT 1"
            )
            row = cur.fetchone()
        return (None, False) if row is None else (row[0], bool(row[1]))

    def only_appended(self, feed: str, after: int, version: int) -> bool:
        """Whether every version of ``feed`` after ``after`` up to ``version`` appended."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT bool_and(appended) FROM pollwatch_versions WHERE feed = %s AND id > %s "
                "AND id <= %s",
                (feed, after, version),
            )
            row = cur.fetchone()
        return bool(row and row[0])

    def problems(self, version: int) -> list[Problem]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT level, kind, file, row_no, column_name, message, fix FROM "
                "pollwatch_problems WHERE version = %s",
                (version,),
            )
            found = cur.fetchall()
        return [
            Problem(
                feed="",
                file=file,
                row=row,
                column=column,
                message=message,
                fix=fix,
                level=Level(level),
                kind=kind,
            )
            for level, kind, file, row, column, message, fix in found
        ]


def _cells(values: pd.Series) -> list[object]:
    """A column's values as COPY takes them: None for missing, Python scalars."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        return [None if pd.isna(v) else v.to_pydatetime() for v in values]
    out = values.astype(object).where(values.notna(), None).tolist()
    if values.dtype == object:
        return [
            v
            if v is None or isinstance(v, str | bool | int | float)
            else json.dumps(v, default=str)
            for v in out
        ]
    return out


def typed(spec: FeedSpec, data: pd.DataFrame, geoms: np.ndarray) -> gpd.GeoDataFrame:
    """Rows read back from the database with the dtypes the reader gives them."""
    template = empty_frame(spec)
    out = pd.DataFrame(index=range(len(data)))
    for column in data.columns:
        values = data[column]
        if column in template.columns and column != template.geometry.name:
            dtype = template[column].dtype
            if isinstance(dtype, pd.DatetimeTZDtype):
                values = pd.to_datetime(values, utc=True).astype(dtype)
            elif str(dtype) in ("Int64", "boolean", "float64"):
                values = values.astype(dtype)
        out[column] = values.to_numpy() if not hasattr(values, "array") else values.array
    if "source_row" in out:
        out["source_row"] = out["source_row"].astype("int64")
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def version_text(version: Version) -> dict[str, object]:
    return asdict(version)


class DatabaseStore:
    """The feeds as the database has them, in the face the scene loader reads a folder's
    (:class:`layers.io.store.FeedStore`): each feed's newest version, looked up again only
    when the database announced one (``LISTEN``); rows appended to the version shown are
    the only ones fetched. Versions were checked and held back by the ingest."""

    def __init__(self, url: str, specs: dict[str, FeedSpec]):
        self.url = url
        self.specs = specs
        self.db = Database(url, make_schema=False)
        self._lock = threading.Lock()
        self._shown: dict[str, tuple[Version | None, FeedVersion[gpd.GeoDataFrame]]] = {}
        self._dirty: set[str] = set(specs)
        self.heard = threading.Event()  # set at each announcement (tests wait on it)
        # A standby (a site's copy of headquarters' database) cannot LISTEN: it is asked
        # for its newest versions at each look, and whether its link still streams.
        self.standby = self.db.in_recovery()
        self._closed = False
        self.link_lost: Problem | None = None
        if not self.standby:
            self._listener = threading.Thread(target=self._listen, name="pollwatch-listen")
            self._listener.daemon = True
            self._listener.start()

    def _listen(self) -> None:
        """Mark the feeds the database announces; on a lost connection, every feed (a
        missed announcement is caught up on the next look) and listen again."""
        while not self._closed:
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    with self._lock:
                        self._dirty |= set(self.specs)
                    while not self._closed:  # a look every 5 s: closed meanwhile?
                        for note in conn.notifies(timeout=5):
                            with self._lock:
                                self._dirty.add(note.payload.split(" ")[0])
                            self.heard.set()
            except psycopg.Error as err:
                if self._closed:
                    return
                log.warning("listening to the database: %s; again in 2 s", err)
                with self._lock:
                    self._dirty |= set(self.specs)
                time.sleep(2)

    def get(self, feed: str) -> FeedVersion[gpd.GeoDataFrame]:
        return self.get_all([feed])[feed]

    def get_all(self, feeds: Iterable[str]) -> dict[str, FeedVersion[gpd.GeoDataFrame]]:
        with self._lock:
            wanted = list(feeds)
            if self.standby:
                self._look_at_standby()
            for feed in [f for f in wanted if f in self._dirty or f not in self._shown]:
                self._dirty.discard(feed)
                self._shown[feed] = self._newest(feed)
            shown = {feed: self._shown[feed][1] for feed in wanted}
            if self.link_lost is not None:  # the last picture received, and said so
                lost = self.link_lost
                shown = {
                    feed: replace(
                        v, stale_copy=True, problems=[replace(lost, feed=feed), *v.problems]
                    )
                    for feed, v in shown.items()
                }
            return shown

    def _look_at_standby(self) -> None:
        """The feeds whose newest version changed on the standby, and its link's state."""
        try:
            newest = self.db.newest_versions()
            link = self.db.link()
        except psycopg.Error as err:
            log.warning("the standby could not be read: %s", err)
            self.link_lost = Problem(
                "",
                None,
                None,
                None,
                f"This site's database could not be read ({str(err)[:160]}): the last "
                "picture read is shown. It reads again by itself when the database is back.",
                "See that this site's PostgreSQL runs and POLLWATCH_DATABASE names it.",
                Level.ERROR,
                "database",
            )
            return
        for feed, version in newest.items():
            held = self._shown.get(feed)
            if held is None or held[0] is None or held[0].id != version:
                self._dirty.add(feed)
        streaming, since = link
        if streaming:
            self.link_lost = None
        elif self.link_lost is None or since is not None:
            when = f"{since:%d %b %H:%M:%S} UTC" if since is not None else "an unknown time"
            self.link_lost = Problem(
                "",
                None,
                None,
                None,
                f"Link to headquarters lost: this site shows the last picture it received "
                f"(data of {when}). It catches up by itself when the link returns.",
                "See to the link to headquarters' database (its replication).",
                Level.ERROR,
                "link_lost",
            )

    def _newest(self, feed: str) -> tuple[Version | None, FeedVersion[gpd.GeoDataFrame]]:
        spec = self.specs[feed]
        try:
            latest = self.db.latest(feed)
        except psycopg.Error as err:
            held = self._shown.get(feed)
            problem = Problem(
                feed, None, None, None, f"the database could not be read ({err})",
                "See that PostgreSQL runs and POLLWATCH_DATABASE names it; the last rows "
                "read stay on screen.", Level.ERROR, "database",
            )  # fmt: skip
            if held is None:
                return None, FeedVersion(feed, None, None, None, [problem])
            return held[0], replace(held[1], stale_copy=True, problems=[problem])
        held = self._shown.get(feed)
        if latest is None:
            return None, FeedVersion(feed, None, None, None, [])
        if held is not None and held[0] is not None and held[0].id == latest.id:
            return held
        before = held[1].data if held is not None else None
        if (
            held is not None
            and held[0] is not None
            and before is not None
            and self.db.only_appended(feed, held[0].id, latest.id)
        ):
            added = self.db.frame(spec, latest.id, after=held[0].id)
            frame = gpd.GeoDataFrame(
                pd.concat([before, added], ignore_index=True), geometry="geometry", crs=before.crs
            )
            growth.grew(frame, before)
        else:
            frame = self.db.frame(spec, latest.id)
        problems = [replace(p, feed=feed) for p in self.db.problems(latest.id)]
        mtime_ns = int(latest.mtime.value) if latest.mtime is not None else 0
        return latest, FeedVersion(
            feed,
            Path(latest.file) if latest.file else None,
            frame,
            Signature(mtime_ns, latest.id),  # the version id: what identifies it here
            problems,
            loaded_at=pd.Timestamp.now(tz="UTC"),
            stale_copy=latest.stale_copy,
            good_signature=Signature(mtime_ns, latest.id),
            content=f"database version {latest.id}",
        )

    def held(self) -> dict[str, Problem]:
        return {}  # versions are held back, and taken, by the ingest

    def close(self) -> None:
        """Stop listening and close the connection (a process that is done with it)."""
        self._closed = True
        self.db.close()

    def accept(self, feed: str) -> bool:
        return False
