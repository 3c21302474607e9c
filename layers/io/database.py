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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from layers.core.problems import Level, Problem
from layers.io.spec import FeedSpec, empty_frame

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

    def __init__(self, url: str):
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(4242)")  # one process makes the schema
            try:
                cur.execute(SCHEMA)
            finally:
                cur.execute("SELECT pg_advisory_unlock(4242)")
        self._columns: dict[str, set[str]] = {}

    def close(self) -> None:
        self.conn.close()

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

    def frame(self, spec: FeedSpec, version: int) -> gpd.GeoDataFrame:
        """The rows of ``spec``'s feed at ``version``, typed as the reader types them."""
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
                    "(until IS NULL OR until > %s) ORDER BY row_id"
                ).format(table(spec.name)),
                (version, version),
            )
            names = [d.name for d in cur.description or ()]
            rows = cur.fetchall()
        data = pd.DataFrame(rows, columns=names)
        geoms = shapely.from_wkb(
            np.array([bytes(b) if b is not None else None for b in data["wkb"]], dtype=object)
        )
        data = data.drop(columns=["since", "until", "row_id", "geom", "wkb"])
        return typed(spec, data, geoms)

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
