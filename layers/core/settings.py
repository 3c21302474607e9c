"""Settings read from the environment (``POLLWATCH_*``), with their defaults."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

SAMPLE_FEEDS = Path(__file__).resolve().parents[2] / "data" / "sample"


# How old a feed's file may be before the dashboard calls it stale (areas: never).
STALE_AFTER = {
    "incidents": pd.Timedelta(minutes=10),
    "convoy_positions": pd.Timedelta(minutes=5),
    "patrols": pd.Timedelta(hours=6),
    "convoy_routes": pd.Timedelta(hours=24),
    "polling_stations": pd.Timedelta(hours=24),
}


@dataclass(frozen=True)
class Settings:
    """Where the feeds are and how to read them.

    ``POLLWATCH_FEEDS``: feed folder (default: the bundled sample scenario).
    ``POLLWATCH_TZ``: IANA zone for times written without a zone (default UTC).
    ``POLLWATCH_TILES``: 'offline' (default: the basemap that needs no internet,
    layers/map/offline.py), 'osm' (OpenStreetMap's tile server, over the internet),
    'none', or a local tile URL template such as ``http://tiles.local/{z}/{x}/{y}.png``.
    ``POLLWATCH_POLLING_HOURS``: opening and closing, local time (default ``07:00-18:00``).
    ``POLLWATCH_POLLING_DAY``: the polling day, ``YYYY-MM-DD`` (default: today, local).
    ``POLLWATCH_STALE_AFTER``: per feed, how old its file may be before it shows as stale,
    e.g. ``incidents=10min,convoy_positions=5min`` (merged into :data:`STALE_AFTER`).
    ``POLLWATCH_REFRESH_S``: seconds between automatic refreshes of the picture (default
    15; 0 turns it off).
    ``POLLWATCH_MAX_FEED_MB``: the largest feed file read, in MB (default 256); a larger
    one is refused with a message, not read.
    ``POLLWATCH_SETTLE_S``: a file changed less than this many seconds ago is looked at
    twice, that long apart, and read only when it did not move (default 1).
    ``POLLWATCH_HOLD_S``: a held-back version (a growing feed that shrank or changed rows
    already shown, another feed that lost rows) is taken once it stayed unchanged this
    long (default 120; 0 holds nothing back; an operations user can accept it sooner on
    the Feeds page).
    ``POLLWATCH_MAX_DROP``: the share of rows another feed may lose from one version to
    the next before the new version is held back (default 0.2).
    ``POLLWATCH_LAYERS``: per feed, the layer to read from a file with several
    (GeoPackage, KML, GPX), e.g. ``areas=admin1,convoy_routes=Main roads``.
    ``POLLWATCH_CRS``: per feed, the coordinate system of a CSV's coordinates when they
    are not WGS84 degrees, e.g. ``polling_stations=EPSG:27700`` (a ``.prj`` beside the
    CSV says the same).
    ``POLLWATCH_CACHE``: a private folder where parsed feeds and the basemap's region are
    kept between restarts (:mod:`layers.core.ondisk`; default ``$XDG_CACHE_HOME/pollwatch``
    or ``~/.cache/pollwatch``; ``off``: kept in memory only).
    ``POLLWATCH_HISTORY``: the folder of the history store, every version of every feed
    taken (:mod:`layers.io.history`; default ``$XDG_DATA_HOME/pollwatch`` or
    ``~/.local/share/pollwatch``; ``off``: none kept).
    ``POLLWATCH_DATABASE``: a PostgreSQL URL (``postgresql://user@host:5432/db``): the
    feeds as the ingest (:mod:`layers.ingest`) wrote them there, instead of the folder.
    """

    feeds: Path
    timezone: str = "UTC"
    tiles: str = "offline"
    polling_hours: tuple[dt.time, dt.time] = (dt.time(7, 0), dt.time(18, 0))
    polling_day: dt.date | None = None
    stale_after: tuple[tuple[str, pd.Timedelta], ...] = ()
    refresh_s: float = 15.0
    max_feed_mb: float = 256.0
    settle_s: float = 1.0
    hold_s: float = 120.0
    max_drop: float = 0.2
    layers: tuple[tuple[str, str], ...] = ()
    crs: tuple[tuple[str, str], ...] = ()
    cache: Path | None = None
    history: Path | None = None
    replay_at: pd.Timestamp | None = None  # a replay's time: the feeds as they were then
    database: str | None = None  # a PostgreSQL URL: feeds from there (layers.io.database)

    def staleness(self, feed: str) -> pd.Timedelta | None:
        """How old ``feed``'s file may be before it is stale (None: never)."""
        return {**STALE_AFTER, **dict(self.stale_after)}.get(feed)

    def polling_date(self, now: pd.Timestamp) -> dt.date:
        """The polling day: the configured one, else ``now``'s local date."""
        return self.polling_day or now.tz_convert(self.timezone).date()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Settings from environment variables, with defaults."""
        env = os.environ if environ is None else environ
        tz = env.get("POLLWATCH_TZ", "UTC") or "UTC"
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"POLLWATCH_TZ={tz!r} is not an IANA time zone such as 'Africa/Monrovia'"
            ) from err
        hours_text = env.get("POLLWATCH_POLLING_HOURS", "") or "07:00-18:00"
        day_text = env.get("POLLWATCH_POLLING_DAY", "")
        try:
            opening, closing = (dt.time.fromisoformat(t.strip()) for t in hours_text.split("-"))
        except ValueError as err:
            raise ValueError(
                f"POLLWATCH_POLLING_HOURS={hours_text!r} is not like '07:00-18:00'"
            ) from err
        if closing <= opening:
            raise ValueError(f"POLLWATCH_POLLING_HOURS={hours_text!r}: polls close before opening")
        try:
            day = dt.date.fromisoformat(day_text) if day_text else None
        except ValueError as err:
            raise ValueError(f"POLLWATCH_POLLING_DAY={day_text!r} is not like 2026-10-11") from err
        stale_text = env.get("POLLWATCH_STALE_AFTER", "")
        stale: list[tuple[str, pd.Timedelta]] = []
        for item in filter(None, (t.strip() for t in stale_text.split(","))):
            feed, _, age = item.partition("=")
            try:
                stale.append((feed.strip(), pd.Timedelta(age.strip())))
            except ValueError as err:
                raise ValueError(
                    f"POLLWATCH_STALE_AFTER: {item!r} is not like 'incidents=10min'"
                ) from err
        refresh_text = env.get("POLLWATCH_REFRESH_S", "") or "15"
        try:
            refresh = float(refresh_text)
        except ValueError as err:
            raise ValueError(f"POLLWATCH_REFRESH_S={refresh_text!r} is not a number") from err
        if refresh < 0:
            raise ValueError(f"POLLWATCH_REFRESH_S={refresh_text!r}: use 0 to turn refresh off")
        return cls(
            Path(env.get("POLLWATCH_FEEDS") or SAMPLE_FEEDS),
            tz,
            env.get("POLLWATCH_TILES", "offline") or "offline",
            (opening, closing),
            day,
            tuple(stale),
            refresh,
            _number(env, "POLLWATCH_MAX_FEED_MB", 256.0, low=0.001),
            _number(env, "POLLWATCH_SETTLE_S", 1.0, low=0.0, high=10.0),
            _number(env, "POLLWATCH_HOLD_S", 120.0, low=0.0),
            _number(env, "POLLWATCH_MAX_DROP", 0.2, low=0.0, high=1.0),
            _per_feed(env, "POLLWATCH_LAYERS", "areas=admin1"),
            _per_feed(env, "POLLWATCH_CRS", "polling_stations=EPSG:27700"),
            _cache_folder(env),
            _history_file(env),
            database=(env.get("POLLWATCH_DATABASE", "") or "").strip() or None,
        )


def _cache_folder(env: os._Environ[str] | dict[str, str]) -> Path | None:
    """``POLLWATCH_CACHE``: None for ``off``; unset, the user's cache folder."""
    text = (env.get("POLLWATCH_CACHE", "") or "").strip()
    if text.lower() in ("off", "none", "no", "0"):
        return None
    if text:
        return Path(text).expanduser()
    base = env.get("XDG_CACHE_HOME", "") or str(Path.home() / ".cache")
    return Path(base) / "pollwatch"


def _history_file(env: os._Environ[str] | dict[str, str]) -> Path | None:
    """``POLLWATCH_HISTORY``: the folder of the history store (None for ``off``); unset,
    the user's data folder."""
    text = (env.get("POLLWATCH_HISTORY", "") or "").strip()
    if text.lower() in ("off", "none", "no", "0"):
        return None
    base = (
        Path(text).expanduser()
        if text
        else (
            Path(env.get("XDG_DATA_HOME", "") or str(Path.home() / ".local" / "share"))
            / "pollwatch"
        )
    )
    return base / "history.sqlite"


def _per_feed(
    env: os._Environ[str] | dict[str, str], name: str, example: str
) -> tuple[tuple[str, str], ...]:
    """``feed=value,feed=value`` as pairs (a value may hold spaces, not commas)."""
    pairs = []
    for item in (env.get(name, "") or "").split(","):
        if not item.strip():
            continue
        feed, sep, value = item.partition("=")
        if not sep or not feed.strip() or not value.strip():
            raise ValueError(f"{name}: {item!r} is not like {example!r}")
        pairs.append((feed.strip(), value.strip()))
    return tuple(pairs)


def _number(
    env: os._Environ[str] | dict[str, str],
    name: str,
    default: float,
    low: float,
    high: float | None = None,
) -> float:
    """A number setting, ``default`` when unset, refused with its range when outside it."""
    text = env.get(name, "") or str(default)
    try:
        value = float(text)
    except ValueError as err:
        raise ValueError(f"{name}={text!r} is not a number") from err
    if value < low or (high is not None and value > high):
        top = f" and {high:g}" if high is not None else ""
        raise ValueError(f"{name}={text!r}: use a number between {low:g}{top}")
    return value
