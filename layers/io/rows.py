"""Reading a raw table row by row under a spec: the problems found, named by the row a
person finds the record by, and the file's column for each declared field."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.core.problems import Level, Problem
from layers.io.raw import RawTable, normalise_name
from layers.io.spec import FeedSpec, ReadContext
from layers.io.values import to_numbers


class RowReader:
    """What the value and location readers share: the table, the spec, the problems."""

    def __init__(self, raw: RawTable, spec: FeedSpec, ctx: ReadContext):
        self.raw, self.spec, self.ctx = raw, spec, ctx
        self.problems: list[Problem] = []
        self.rows = raw.rows

    def report(
        self,
        index: int | None,
        column: str | None,
        message: str,
        fix: str,
        level: Level = Level.ERROR,
        kind: str = "other",
    ) -> None:
        row = int(self.rows[index]) if index is not None else None
        self.problems.append(
            Problem(self.spec.name, self.raw.file, row, column, message, fix, level, kind)
        )

    def source_column(self, names: tuple[str, ...]) -> str | None:
        cols = list(self.raw.values.columns)
        wanted = [normalise_name(n) for n in names]
        for w in wanted:
            if w in cols:
                return w
        for col, tag in self.raw.hxl.items():
            if tag in wanted or any(tag.startswith(w + "+") for w in wanted if w.startswith("#")):
                return col
        return None

    def read_numbers(self, text: pd.Series, col: str, fix: str, level: Level) -> pd.Series:
        """Numbers of ``text``; each value that is present but not a number is reported."""
        nums = to_numbers(text)
        for i in np.flatnonzero((nums.isna() & text.notna()).to_numpy()):
            self.report(
                int(i), col, f"{text.iloc[i]!r} is not a number.", fix, level, "not_a_number"
            )
        return nums
