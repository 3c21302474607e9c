"""The wall view's parts, readable across a room: the headline strip, a chip per feed
with its age, the ticker of the latest serious incidents, and the clock.

HTML of our own making: every value from a feed (types, areas, feed names) or from the
link (a time zone) is escaped, so it shows as text and never runs. Sizes follow the
screen's height: the figures' numbers are at least 48 px high on a 1080p wall and twice
that on a 4K one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from layers.analysis.filters import NO_AREA, Filters
from layers.core.predicates import at_least

# freshness() states -> the chip's tone
TONES = {
    "fresh": "ok",
    "exercise": "ok",
    "stale": "warn",
    "reading": "warn",
    "failed": "bad",
    "missing": "bad",
}
# A feed's name on a wall chip: short, so that every feed's chip fits on one line at
# 1080p (a feed not named here keeps its title).
CHIP_NAMES = {
    "Polling stations": "Stations",
    "Patrol bases": "Bases",
    "Convoy routes": "Routes",
    "Convoy positions": "Convoys",
    "Storage sites": "Stores",
}
TICKER_ITEMS = 6
TICKER_SEVERITY = "high"


@dataclass(frozen=True)
class Chip:
    """One feed's state on the wall: ``tone`` 'ok', 'warn' or 'bad'."""

    feed: str
    state: str
    tone: str
    text: str


def chips(table: pd.DataFrame) -> list[Chip]:
    """A chip per feed of :func:`layers.analysis.freshness.freshness`'s table, but the
    optional feeds not provided: 'Incidents 3 min', 'Bases STALE 45 min', 'Routes
    FAILED'; an exercise's feeds by name alone (the strip says EXERCISE; their files'
    age says nothing)."""
    out = []
    for row in table.itertuples():
        if row.state not in TONES:
            continue
        age = "" if pd.isna(row.age_min) else _age(float(row.age_min))
        if row.state == "exercise":  # its files do not change: their age says nothing
            words = ""
        elif row.state == "fresh":
            words = age or "fresh"
        else:
            words = f"{str(row.state).upper()} {age}".strip()
        name = CHIP_NAMES.get(str(row.feed), str(row.feed))
        out.append(Chip(name, str(row.state), TONES[str(row.state)], words))
    return out


def _age(minutes: float) -> str:
    if minutes < 1:
        return "now"
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} h"
    return f"{minutes / 1440:.0f} d"


def zone(name: str | None) -> tuple[ZoneInfo, str | None]:
    """The clock's time zone from the link's ``tz`` (an IANA name such as
    'Africa/Monrovia'), and a note when it is not one (the clock then shows UTC)."""
    if not name:
        return ZoneInfo("UTC"), None
    try:
        return ZoneInfo(name), None
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC"), f"Unknown time zone {name!r}: the clock shows UTC."


@dataclass(frozen=True)
class TickerItem:
    time: str
    type: str
    severity: str
    area: str


def ticker(
    incidents: pd.DataFrame, tz: ZoneInfo, minimum: str = TICKER_SEVERITY, n: int = TICKER_ITEMS
) -> list[TickerItem]:
    """The ``n`` newest incidents of at least ``minimum`` severity among ``incidents``
    (those the view keeps), newest first, their times in ``tz``."""
    if not len(incidents) or "severity" not in incidents:
        return []
    serious = incidents[at_least(incidents["severity"], minimum)]
    serious = serious[serious["time"].notna()].sort_values("time", ascending=False).head(n)
    area = serious["area"] if "area" in serious else pd.Series("", index=serious.index)
    return [
        TickerItem(
            pd.Timestamp(t).tz_convert(tz).strftime("%H:%M"),
            "" if pd.isna(k) else str(k),
            str(s),
            "" if pd.isna(a) else str(a),
        )
        for t, k, s, a in zip(
            serious["time"], serious["type"], serious["severity"], area, strict=True
        )
    ]


STYLE = """
.pw-wall { --pw-bg:#f4f5f7; --pw-fg:#111; --pw-dim:#555; --pw-panel:#fff;
  font-family: "Source Sans Pro", "Source Sans 3", sans-serif; color: var(--pw-fg); }
.pw-wall.pw-dark { --pw-bg:#0b0f14; --pw-fg:#f2f4f7; --pw-dim:#a9b1bd; --pw-panel:#151b23; }
.pw-strip { display:flex; align-items:flex-end; gap:2.2vw; background:var(--pw-panel);
  padding:0.6vh 1.2vw; border-radius:6px; }
.pw-figure { display:flex; flex-direction:column; min-width:0; }
.pw-label { font-size:max(20px, 1.9vh); color:var(--pw-dim); white-space:nowrap; }
.pw-value { font-size:max(48px, 5vh); line-height:1.05; font-weight:700;
  font-variant-numeric: tabular-nums; white-space:nowrap; }
.pw-right { margin-left:auto; text-align:right; }
.pw-clock { font-size:max(48px, 5vh); line-height:1.05; font-weight:700;
  font-variant-numeric: tabular-nums; white-space:nowrap; }
.pw-exercise { align-self:center; background:#7a5a00; color:#fff; font-weight:700;
  font-size:max(22px, 2.1vh); padding:0.4vh 0.8vw; border-radius:4px; }
.pw-chips { display:flex; flex-wrap:wrap; gap:0.6vw; align-items:center; }
.pw-chip { font-size:max(20px, 1.9vh); font-weight:600; padding:0.25vh 0.7vw;
  border-radius:999px; color:#fff; white-space:nowrap; }
.pw-chip.pw-ok { background:#1b7f3b; }
.pw-chip.pw-warn { background:#b26a00; }
.pw-chip.pw-bad { background:#b3261e; }
.pw-note { font-size:max(20px, 1.9vh); color:var(--pw-dim); }
.pw-ticker { display:flex; gap:2vw; overflow:hidden; white-space:nowrap;
  font-size:max(24px, 2.3vh); background:var(--pw-panel); padding:0.4vh 1.2vw;
  border-radius:6px; }
.pw-ticker b { color:#e5484d; }
.pw-sev-critical { background:#b3261e; color:#fff; padding:0 0.4vw; border-radius:3px; }
"""


def strip_html(
    figures: list[tuple[str, str]],
    clock_text: str,
    zone_name: str,
    exercise: str | None,
    dark: bool,
) -> str:
    """The headline strip: the figures, the exercise label, the clock."""
    cells = "".join(
        f'<div class="pw-figure"><span class="pw-label">{escape(label)}</span>'
        f'<span class="pw-value">{escape(value)}</span></div>'
        for label, value in figures
    )
    badge = f'<div class="pw-exercise">{escape(exercise)}</div>' if exercise else ""
    clock = (
        f'<div class="pw-figure pw-right"><span class="pw-label">{escape(zone_name)}</span>'
        f'<span class="pw-clock" id="pollwatch-clock" data-zone="{escape(zone_name)}">'
        f"{escape(clock_text)}</span></div>"
    )
    return _wall(dark, f'<div class="pw-strip">{cells}{badge}{clock}</div>')


def chips_html(shown: list[Chip], notes: list[str], dark: bool) -> str:
    """A chip per feed, then any notes (a link's unknown filters or time zone)."""
    spans = "".join(
        f'<span class="pw-chip pw-{c.tone}" data-state="{escape(c.state)}">'
        f"{escape(c.feed)}{f' · {escape(c.text)}' if c.text else ''}</span>"
        for c in shown
    )
    said = "".join(f'<span class="pw-note">{escape(n)}</span>' for n in notes)
    return _wall(dark, f'<div class="pw-chips">{spans}{said}</div>')


def ticker_html(items: list[TickerItem], empty: str, dark: bool) -> str:
    """The latest serious incidents on one line, newest first; ``empty`` when none."""
    if not items:
        return _wall(dark, f'<div class="pw-ticker"><span>{escape(empty)}</span></div>')
    parts = "".join(
        f"<span><b>{escape(i.time)}</b> {escape(i.type)}"
        + (f" · {escape(i.area)}" if i.area else "")
        + f' · <span class="pw-sev-{escape(i.severity)}">{escape(i.severity)}</span></span>'
        for i in items
    )
    return _wall(dark, f'<div class="pw-ticker">{parts}</div>')


def _wall(dark: bool, inner: str) -> str:
    return f'<div class="pw-wall{" pw-dark" if dark else ""}">{inner}</div>'


ROTATE_MIN_S = 5.0
TOP_AREAS = 3


@dataclass(frozen=True)
class WallView:
    """One view of a rotating wall: a filter set, the layers drawn (None: all the role
    sees) and why it is shown. The map frames its filters (an area: the area)."""

    name: str
    why: str
    filters: Filters
    layers: tuple[str, ...] | None = None


def rotation(
    incidents: pd.DataFrame, filters: Filters, now: pd.Timestamp, top: int = TOP_AREAS
) -> list[WallView]:
    """The views a rotating wall cycles through: the link's own; each of the ``top``
    areas with the most incidents in the last hour (none when the hour had none); the
    coverage (stations and patrol radii, no incidents)."""
    views = [WallView("The whole picture", filters.sentence(now), filters)]
    if len(incidents) and "area" in incidents:
        recent = incidents[(incidents["time"] > now - pd.Timedelta(hours=1))]
        areas = recent["area"].dropna()
        counts = areas[areas != NO_AREA].value_counts()
        for area, n in counts.head(top).items():
            views.append(
                WallView(
                    str(area),
                    f"{n} incident{'s' if n != 1 else ''} in the last hour",
                    replace(filters, areas=(str(area),), sub_areas=()),
                )
            )
    views.append(
        WallView(
            "Coverage",
            "polling stations and patrol radii",
            filters,
            ("areas", "patrols", "polling_stations"),
        )
    )
    return views


def every(value: str | None) -> tuple[float | None, str | None]:
    """The link's ``rotate`` (seconds per view), and a note when it cannot be used."""
    if not value:
        return None, None
    try:
        seconds = float(value)
    except ValueError:
        return None, f"rotate={value!r} is not a number of seconds: not rotating."
    if not seconds >= ROTATE_MIN_S:  # also NaN
        return None, f"rotate={value!r}: at least {ROTATE_MIN_S:g} s per view; not rotating."
    return seconds, None


def turn(views: list[WallView], seconds: float, clock_s: float) -> int:
    """Which view shows at ``clock_s`` (seconds since the epoch): every wall on the same
    link shows the same view at the same time."""
    return int(clock_s // seconds) % len(views)
