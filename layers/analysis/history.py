"""A feed of the past: what to say when the chosen window holds none of its records, and how
to write a time range so that its years are never lost.

An ACLED export of 2017-2020 opened on an empty map ("Incidents 0", the window being the
last 24 hours) with no hint that it holds 3,314 incidents; its range read "01 Jan 00:00 to
01 Jan 00:00" for four years. Here: the note beside the figures, the range a click shows
instead, and the one way ranges are written.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

LOOK_BACK = pd.Timedelta(days=7)  # what the one-click range shows: the feed's last days


@dataclass(frozen=True)
class OldFeed:
    """A feed none of whose records lie in the window, all of them before it."""

    note: str  # "Incidents: newest 31 Dec 2020; none in the last 24 h."
    start: pd.Timestamp  # the feed's last LOOK_BACK, to show instead
    end: pd.Timestamp
    oldest: pd.Timestamp
    newest: pd.Timestamp
    records: int


def old_feed(
    times: pd.Series, window: tuple[pd.Timestamp, pd.Timestamp], title: str, window_words: str
) -> OldFeed | None:
    """An :class:`OldFeed` when ``times`` (a feed's record times) has records, none in
    ``window`` (start, end], and its newest is before the window's start; else None."""
    known = times.dropna()
    if not len(known):
        return None
    start, end = window
    if ((known > start) & (known <= end)).any():
        return None
    newest, oldest = known.max(), known.min()
    if newest > start:  # records after the window (a range in the past): not this case
        return None
    span = day_span(oldest, newest)
    return OldFeed(
        note=f"{title}: newest {newest:%d %b %Y}; none in {window_words}. The feed holds "
        f"{len(known):,} records, {span}.",
        start=(newest - LOOK_BACK).floor("min"),
        end=newest.floor("min") + pd.Timedelta(minutes=1),
        oldest=oldest,
        newest=newest,
        records=len(known),
    )


def span_text(start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp | None = None) -> str:
    """'11 Oct 08:00 to 11 Oct 14:00 UTC', with the years whenever the range crosses a
    year or lies in another year than ``now``: '31 Dec 2019 22:00 to 01 Jan 2020 02:00 UTC'."""
    years = start.year != end.year or (now is not None and end.year != now.year)
    fmt = "%d %b %Y %H:%M" if years else "%d %b %H:%M"
    return f"{start:{fmt}} to {end:{fmt}} UTC"


def time_text(value: pd.Timestamp, now: pd.Timestamp) -> str:
    """A time as a list shows it: '11 Oct 14:05', with the year when it is not ``now``'s."""
    return f"{value:%d %b %Y %H:%M}" if value.year != now.year else f"{value:%d %b %H:%M}"


def day_span(first: pd.Timestamp, last: pd.Timestamp) -> str:
    """'from 01 Jan 2017 to 31 Dec 2020' (days: a feed's extent)."""
    if first.normalize() == last.normalize():
        return f"all on {first:%d %b %Y}"
    return f"from {first:%d %b %Y} to {last:%d %b %Y}"
