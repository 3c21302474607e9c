"""The after-action review as people read it: its tables with their times in local time
and named columns (the page and the PDF show the same), and as a PDF."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from layers.analysis.after_action import Review
from layers.views import pack

MARKING = "RESTRICTED - mission internal: patrol units and convoys"
PDF_ROWS = 400  # of each table in the PDF; the page shows every row


def _local(times: pd.Series, timezone: str) -> pd.Series:
    """Times as 'HH:MM' local, with the date when it is not the review's day."""
    local = pd.to_datetime(times, utc=True).dt.tz_convert(timezone)
    return local.dt.strftime("%d %b %H:%M").fillna("")


def sections(r: Review) -> list[tuple[str, pd.DataFrame]]:
    """The review's tables, titled, in reading order."""
    tz = r.timezone
    serious = r.serious
    if len(serious):
        reaches = serious["reaches"].map({True: "yes", False: "no"})
        serious = serious.assign(time=_local(serious["time"], tz), reaches=reaches)
    convoys = r.convoys
    if len(convoys):
        times = ("planned_departure", "departed", "planned_arrival", "arrived")
        convoys = convoys.assign(**{c: _local(convoys[c], tz) for c in times})
    coverage = r.coverage.drop(columns="time", errors="ignore")
    opened = (
        r.opened_short.assign(opens=_local(r.opened_short["opens"], tz))
        if len(r.opened_short)
        else r.opened_short
    )
    outages = r.outages
    if len(outages):
        outages = outages.assign(
            since=_local(outages["since"], tz), until=_local(outages["until"], tz)
        )
    feeds = r.feeds
    if len(feeds):
        feeds = feeds.assign(first=_local(feeds["first"], tz), last=_local(feeds["last"], tz))
        feeds = feeds.drop(columns="bytes")
    return [
        ("Incidents by area and severity", r.by_area),
        ("Serious incidents and the nearest patrol base on duty then", serious),
        ("Convoys: planned and actual times, alerts raised", convoys),
        ("Coverage at each hour of polling", coverage),
        ("Stations that opened without all materials or with untrained staff", opened),
        ("Feed outages and stale periods, as the screens showed them", outages),
        ("Versions the history kept this day", feeds),
    ]


def pdf(r: Review, made_by: str, charts: Sequence[tuple[str, bytes]], paper: str = "A4") -> bytes:
    """The review as a PDF (the briefing pack's layout: :mod:`layers.views.pack`)."""
    tables = sections(r)
    return pack.pdf(
        pack.Pack(
            title=f"After-action review, {r.day:%d %b %Y}",
            marking=MARKING,
            made_by=made_by,
            picture_time=f"{r.day:%d %b %Y} ({r.timezone}), up to {r.end:%d %b %H:%M} UTC",
            view=f"Polls {r.polls[0]:%H:%M}-{r.polls[1]:%H:%M} UTC; figures from the history "
            "store, as the dashboard had each feed at the time",
            figures=r.figures,
            feeds=tables[-1][1],
            areas=pd.DataFrame(),
            charts=charts,
            tables=tables[:-1],
            quality=r.notes,
            exercise=r.label,
            table_rows=PDF_ROWS,
        ),
        paper,
    )
