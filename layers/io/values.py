"""Cell text to values: plain text, numbers, times."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from layers.io.raw import stripped_text


def plain_text(values: pd.Series) -> np.ndarray:
    """Each present value as text without surrounding whitespace; None when missing or
    blank. Vectorised (Arrow) when the values are text already, as they mostly are."""
    array = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(array, skipna=True) not in ("string", "empty"):
        array = np.array([None if v is None else str(v) for v in array], dtype=object)
    return stripped_text(array)


def _map_distinct(text: pd.Series, func: Callable[[object], object]) -> pd.Series:
    """``func`` of each present value, computed once per distinct value; None where missing."""
    distinct = {v: func(v) for v in pd.unique(text[text.notna()])}
    return pd.Series(
        [distinct.get(v) if v is not None else None for v in text], index=text.index, dtype=object
    )


def as_text(values: pd.Series) -> pd.Series:
    """Object series of the values with every missing one (NaN, NA, '') as None."""
    present = (values.notna() & (values.astype(object) != "")).to_numpy(dtype=bool)
    return pd.Series(
        np.where(present, values.to_numpy(dtype=object), None), index=values.index, dtype=object
    )


def to_numbers(text: pd.Series) -> pd.Series:
    """Numbers from text; a decimal comma ('6,31') is accepted."""
    nums = pd.to_numeric(text, errors="coerce")
    retry = nums.isna() & text.notna()
    if retry.any():
        fixed = text[retry].astype(str).str.strip()
        fixed = fixed.where(~fixed.str.fullmatch(r"-?\d+,\d+"), fixed.str.replace(",", "."))
        nums[retry] = pd.to_numeric(fixed, errors="coerce")
    return nums.astype("float64")


_ZONED = re.compile(r"(Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)
_DAY_FIRST = (
    "%d %B %Y",
    "%d %b %Y",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d/%m/%Y %H:%M",
    "%d %B %Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%y",
    # Two-digit years with slashes: month first, as US tools (Ushahidi, Excel) write them.
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
)


def parse_times(text: pd.Series, timezone: str = "UTC") -> pd.Series:
    """UTC times from ISO 8601 text; naive times are read in ``timezone``.

    Also reads the day-first styles exports use ('31 December 2020', '31/12/2020'), and
    month-first dates with two-digit years ('10/25/15 15:00', Ushahidi's).
    """
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    s = pd.Series(plain_text(as_text(text)), index=text.index, dtype=object)
    present = s.notna()
    # One Arrow pass over the texts (RE2 reads this pattern as Python's re does).
    marked = pc.match_substring_regex(
        pa.array(s.to_numpy(), type=pa.string(), from_pandas=True),
        _ZONED.pattern,
        ignore_case=True,
    )
    zoned = present & pd.Series(
        marked.fill_null(False).to_numpy(zero_copy_only=False), index=text.index, dtype=bool
    )
    if zoned.any():
        out[zoned] = pd.to_datetime(s[zoned], format="ISO8601", errors="coerce", utc=True)
    naive = present & ~zoned
    if naive.any():
        local = pd.to_datetime(s[naive], format="ISO8601", errors="coerce")
        for fmt in _DAY_FIRST:
            missing = local.isna()
            if not missing.any():
                break
            local[missing] = pd.to_datetime(s[naive][missing], format=fmt, errors="coerce")
        local = pd.DatetimeIndex(local).tz_localize(
            timezone, ambiguous="NaT", nonexistent="shift_forward"
        )
        out[naive] = local.tz_convert("UTC")
    return out
