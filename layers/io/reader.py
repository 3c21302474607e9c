"""The one routine that turns a raw table into a clean frame under a layer's declared spec.

:func:`build_frame` maps the file's columns onto the spec's fields (:mod:`layers.io.spec`),
converts and checks every value (:mod:`layers.io.values`) and location
(:mod:`layers.io.geometry`), and reports each problem with its row and column. Rows are
kept: a bad value becomes empty, a bad location an empty geometry; only a repeated id is
left out.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.core import growth
from layers.core.problems import Level, Problem
from layers.io.geometry import GeometryReader
from layers.io.raw import FeedError, RawTable, normalise_name
from layers.io.spec import (
    UNKNOWN,
    FeedSpec,
    Field,
    ReadContext,
    _dtype,
)
from layers.io.values import _map_distinct, as_text, parse_times, plain_text


def build_frame(
    raw: RawTable, spec: FeedSpec, ctx: ReadContext = ReadContext()
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Clean GeoDataFrame (EPSG:4326) of ``raw`` under ``spec``, and the problems found."""
    reader = _Reader(raw, spec, ctx)
    return reader.run()


class _Reader(GeometryReader):
    """Reads one raw table under one spec: values here, locations in GeometryReader."""

    def run(self) -> tuple[gpd.GeoDataFrame, list[Problem]]:
        n = len(self.raw.values)
        out: dict[str, object] = {"source_row": self.rows.astype("int64")}
        used: set[str] = set()
        for f in self.spec.fields:
            col = self.source_column((f.name, *f.aliases))
            if col is None:
                if f.required:
                    raise FeedError.whole(
                        self.spec.name,
                        self.raw.file,
                        f"the required column {f.name!r} is missing (also looked for "
                        f"{', '.join(f.aliases) or 'no other name'}).",
                        f"Add a {f.name!r} column; see docs/feeds.md.",
                        "missing_column",
                        column=f.name,
                    )
                out[f.name] = self.default_column(f, n)
                continue
            used.add(col)
            if col != f.name:
                self.report(
                    None,
                    col,
                    f"read column {col!r} as {f.name!r}.",
                    "",
                    Level.NOTICE,
                    "column_mapping",
                )
            out[f.name] = self.convert(f, col, self.raw.values[col])
        geometry = self.geometry(used)
        frame = pd.DataFrame(out, index=range(n))
        for col in self.raw.values.columns:
            if col not in used and col not in frame.columns and col != "geometry":
                frame[col] = self.raw.values[col].to_numpy()
        gdf = gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326"
        )
        gdf = self.drop_repeated_ids(gdf)
        return gdf.reset_index(drop=True), self.problems

    # ------------------------------------------------------------------ values

    def default_column(self, f: Field, n: int) -> pd.Series:
        if f.default is not None and n:
            self.report(
                None,
                f.name,
                f"no {f.name!r} column; every row takes the default {f.default!r}.",
                f"Add a {f.name!r} column to set it per row.",
                Level.NOTICE,
                "default_used",
            )
        value = f.default if f.default is not None else (UNKNOWN if f.kind == "choice" else None)
        return pd.Series([value] * n, dtype=_dtype(f))

    def convert(self, f: Field, col: str, values: pd.Series) -> pd.Series:
        text = as_text(values)
        if f.kind in ("int", "float"):
            return self.numbers(f, col, text)
        if f.kind == "time":
            return self.times(f, col, text)
        if f.kind == "choice":
            return self.choices(f, col, text)
        if f.kind == "bool":
            return self.booleans(f, col, text)
        return pd.Series(plain_text(text), index=text.index, dtype=object)

    def numbers(self, f: Field, col: str, text: pd.Series) -> pd.Series:
        unit = f" in {f.unit}" if f.unit else ""
        nums = self.read_numbers(
            text, col, f"Write {f.name} as a plain number{unit}.", Level.WARNING
        )
        low = nums < f.minimum if f.minimum is not None else pd.Series(False, index=nums.index)
        high = nums > f.maximum if f.maximum is not None else pd.Series(False, index=nums.index)
        for i in np.flatnonzero((low | high).to_numpy()):
            self.report(
                int(i),
                col,
                f"{nums.iloc[i]:g} is outside {f.minimum:g} to {f.maximum:g}"
                f"{' ' + f.unit if f.unit else ''}."
                if f.maximum is not None
                else f"{nums.iloc[i]:g} is below {f.minimum:g}.",
                f"Correct {f.name} in the source.",
                Level.WARNING,
                "out_of_range",
            )
        nums = nums.mask(low | high)
        if f.default is not None:
            filled = nums.isna()
            nums = nums.fillna(float(f.default))  # type: ignore[arg-type]
            if filled.any() and text.notna().any():
                for i in np.flatnonzero((filled & text.isna()).to_numpy()):
                    self.report(
                        int(i),
                        col,
                        f"{f.name} is empty; using {f.default}.",
                        f"Fill in {f.name}.",
                        Level.NOTICE,
                        "default_used",
                    )
        if f.kind == "int":
            return nums.round().astype("Int64")
        return nums.astype("float64")

    def times(self, f: Field, col: str, text: pd.Series) -> pd.Series:
        parsed = parse_times(text, self.ctx.timezone)
        bad = parsed.isna() & text.notna()
        for i in np.flatnonzero(bad.to_numpy()):
            self.report(
                int(i),
                col,
                f"{text.iloc[i]!r} is not a time.",
                "Write times as ISO 8601, e.g. 2026-10-11T14:05:00+00:00.",
                Level.WARNING,
                "bad_time",
            )
        return parsed + self.ctx.time_shift

    def choices(self, f: Field, col: str, text: pd.Series) -> pd.Series:
        lookup = {c: c for c in f.choices} | {normalise_name(k): v for k, v in f.synonyms.items()}
        mapped = _map_distinct(text, lambda v: lookup.get(normalise_name(v)))
        bad = mapped.isna() & text.notna()
        for i in np.flatnonzero(bad.to_numpy()):
            self.report(
                int(i),
                col,
                f"{text.iloc[i]!r} is not a known {f.name}.",
                f"Use one of: {', '.join(f.choices)}.",
                Level.WARNING,
                "unknown_value",
            )
        # An empty cell takes the default; a value we cannot read is 'unknown', never guessed.
        fill = f.default if f.default is not None else UNKNOWN
        fallback = pd.Series(
            np.where(bad.to_numpy(dtype=bool), UNKNOWN, str(fill)), index=mapped.index, dtype=object
        )
        return mapped.where(mapped.notna(), fallback).astype(object)

    def booleans(self, f: Field, col: str, text: pd.Series) -> pd.Series:
        truth = {
            "true": True,
            "yes": True,
            "y": True,
            "1": True,
            "t": True,
            "verified": True,
            "false": False,
            "no": False,
            "n": False,
            "0": False,
            "f": False,
            "unverified": False,
        }
        mapped = _map_distinct(text, lambda v: truth.get(normalise_name(v)))
        for i in np.flatnonzero((mapped.isna() & text.notna()).to_numpy()):
            self.report(
                int(i),
                col,
                f"{text.iloc[i]!r} is not yes or no.",
                "Write true or false.",
                Level.WARNING,
                "unknown_value",
            )
        return mapped.astype("boolean")

    def drop_repeated_ids(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Rows named by their row number when the feed has no ids; repeated ids left out."""
        key = self.spec.id_field
        if key is None or key not in gdf:
            return gdf
        if gdf[key].isna().all():
            gdf[key] = [f"row-{r}" for r in gdf["source_row"]]
            return gdf
        ids = gdf[key]
        repeated = ids.notna() & ids.duplicated(keep="first")
        earlier = self.raw.earlier  # rows read before these were appended
        known: dict[object, int] = {}
        if earlier is not None and key in earlier and len(earlier):
            known = _first_rows(earlier, key, self.spec.name)
            repeated |= np.fromiter((v in known for v in ids), dtype=bool, count=len(ids))
        if not repeated.any():
            return gdf
        first_row = {
            **known,
            **dict(zip(ids[~repeated], gdf["source_row"][~repeated], strict=True)),
        }
        for i in np.flatnonzero(repeated.to_numpy()):
            self.report(
                int(i),
                key,
                f"id {ids.iloc[i]!r} is already used at row "
                f"{first_row.get(ids.iloc[i])}; this row was left out.",
                "Give each record its own id.",
                Level.ERROR,
                "duplicate_id",
            )
        return gdf[~repeated]


def _first_rows(frame: pd.DataFrame, key: str, feed: str) -> dict[object, int]:
    """{id: source row} of a feed's rows (kept, and grown with appended rows)."""

    def of(rows: pd.DataFrame) -> dict[object, int]:
        return dict(zip(rows[key], rows["source_row"], strict=True))

    def grow(known: dict[object, int], added: pd.DataFrame) -> dict[object, int]:
        return {**of(added), **known}  # an id's first row wins

    return growth.kept(frame, f"{feed} ids", lambda: of(frame), grow)
