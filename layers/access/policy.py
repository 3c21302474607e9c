"""What each role may see, decided on the server: one table, applied before a page gets
the data (docs/roles.md shows the same table).

A role sees a feed in one of three ways (:class:`Sight`): its rows with the columns
listed (``ROWS``), only counts per area (``COUNTS``: the rows stay on the server, without
location, to be counted; no page shows one), or not at all (``NONE``: the feed is empty
for that role, as if it had not been provided). Columns are listed, never excluded, so a
column a feed gains later stays hidden until it is added here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

import geopandas as gpd

from layers.access.roles import Role
from layers.analysis.picture import Derived
from layers.io.spec import empty_frame
from layers.registry import REGISTRY
from layers.scene import Scene


class Sight(str, Enum):
    ROWS = "rows"  # the rows, with the columns listed
    COUNTS = "counts"  # counts per area only
    NONE = "none"  # nothing


ALL = None  # every column


@dataclass(frozen=True)
class View:
    """How one role sees one feed."""

    sight: Sight
    columns: frozenset[str] | None = ALL  # kept columns (``ALL``: every one)


STATION_PUBLIC = frozenset(
    {"id", "name", "admin1", "admin2", "admin3", "area", "registered_voters", "status"}
)
INCIDENT_FACTS = frozenset({"id", "time", "type", "sub_type", "category", "severity", "area"})
HIDDEN = View(Sight.NONE)

POLICY: Mapping[Role, Mapping[str, View]] = {
    Role.OPERATIONS: {name: View(Sight.ROWS) for name in REGISTRY},
    Role.COMMISSION: {
        "areas": View(Sight.ROWS),
        "polling_stations": View(
            Sight.ROWS,
            STATION_PUBLIC
            | {"materials_delivered", "staff_trained", "covered", "coverage_state"}
            | {"state", "day_share", "incidents_10km"},  # the coverage page's analysis
        ),
        "incidents": View(Sight.ROWS, INCIDENT_FACTS | {"admin1", "admin2"}),
        "patrols": HIDDEN,
        "convoy_routes": HIDDEN,
        "convoy_positions": HIDDEN,
        # Each station's delivery state; not counts, storage sites, convoys or signatories.
        "deliveries": View(
            Sight.ROWS, frozenset({"time", "station_id", "item_kind", "state", "area", "area2"})
        ),
        "training": View(Sight.ROWS),  # the commission trains its staff
    },
    Role.PARTNER: {
        "areas": View(Sight.ROWS),
        "polling_stations": View(Sight.ROWS, STATION_PUBLIC),
        "incidents": View(Sight.COUNTS, INCIDENT_FACTS - {"id", "sub_type"}),
        "patrols": HIDDEN,
        "convoy_routes": HIDDEN,
        "convoy_positions": HIDDEN,
    },
}

# What a role may do or be shown besides feeds.
CAN: Mapping[Role, frozenset[str]] = {
    Role.OPERATIONS: frozenset(
        {
            "view_as",  # see the page as another role sees it
            "audit",  # read the audit log
            "accept_feed",  # take a held-back version now
            "feed_details",  # the Feeds page: files, problems with row contents
            "alerts",  # new-incident toasts and at-risk lists
            "what_if_units",  # switch off bases by unit, radius per unit type
            "what_if",  # radius for all, proposed bases, suggestions
            "add_data",  # the Add data page: write a file into the feed folder
            "after_action",  # the after-action review: patrol units, convoys, feeds' outages
        }
    ),
    Role.COMMISSION: frozenset({"what_if", "alerts"}),
    Role.PARTNER: frozenset(),
}


def view(role: Role, feed: str) -> View:
    """How ``role`` sees ``feed``; a feed this table does not name is hidden from every
    role but operations."""
    return POLICY[role].get(feed, View(Sight.ROWS) if role is Role.OPERATIONS else HIDDEN)


def may(role: Role, what: str) -> bool:
    return what in CAN[role]


def may_read(role: Role, audience: Role) -> bool:
    """Whether ``role`` may be given what was made for ``audience``: its own, and, for
    operations, every role's (an operations user viewing as a partner)."""
    return role is audience or role is Role.OPERATIONS


def shown_feeds(role: Role) -> list[str]:
    """The feeds whose rows ``role`` sees (drawn on its map, listed in its tables)."""
    return [name for name in REGISTRY if view(role, name).sight is Sight.ROWS]


def seen_feeds(role: Role) -> list[str]:
    """The feeds ``role`` sees anything of (rows or counts): its banner and problems."""
    return [name for name in REGISTRY if view(role, name).sight is not Sight.NONE]


def restrict_frame(frame: gpd.GeoDataFrame, feed: str, role: Role) -> gpd.GeoDataFrame:
    """``frame`` of ``feed`` as ``role`` may have it (a new frame; the input untouched)."""
    seen = view(role, feed)
    if seen.sight is Sight.NONE:
        return empty_frame(REGISTRY[feed].SPEC)
    if seen.columns is ALL:
        return frame
    kept = [c for c in frame.columns if c in seen.columns or c == "source_row"]
    out = gpd.GeoDataFrame(frame[kept].copy(), geometry=None)
    if seen.sight is Sight.ROWS:
        out = gpd.GeoDataFrame(out, geometry=frame.geometry.copy(), crs=frame.crs)
    else:  # counts: no location at all
        out = gpd.GeoDataFrame(
            out, geometry=gpd.GeoSeries([None] * len(out), index=out.index), crs=frame.crs
        )
    return out


def restrict_scene(
    scene: Scene, role: Role, frames: dict[str, gpd.GeoDataFrame] | None = None
) -> Scene:
    """``scene`` as ``role`` may see it: frames per :func:`restrict_frame` (or ``frames``,
    already restricted); a hidden feed stays only as its version's signature (caches stay
    keyed by versions), without data, file name or problems (they quote rows), and is
    shown nowhere (``Scene.hidden``)."""
    if role is Role.OPERATIONS:
        return scene
    if frames is None:
        frames = {name: restrict_frame(f, name, role) for name, f in scene.frames.items()}
    hidden = frozenset(n for n in scene.versions if view(role, n).sight is Sight.NONE)
    versions = {
        name: replace(version, data=frames[name], problems=[], path=None)
        if name in hidden
        else replace(version, data=frames[name])
        for name, version in scene.versions.items()
    }
    return replace(scene, frames=frames, versions=versions, hidden=hidden)


class Restricted:
    """Each role's picture, shared by every session of that role: each frame is restricted
    once per version (kept by the frame it came from); a new run only wraps them anew
    (its scene's time and versions)."""

    def __init__(self) -> None:
        # (role, "derived" | "scene", feed) -> (the frame restricted, what it gave)
        self._frames: dict[tuple[Role, str, str], tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]] = {}
        self._last: dict[Role, tuple[Derived, Derived]] = {}  # role -> (from, made)
        self._lock = threading.Lock()

    def picture(self, derived: Derived, role: Role) -> Derived:
        if role is Role.OPERATIONS:
            return derived
        with self._lock:
            last = self._last.get(role)
            if last is not None and last[0] is derived:
                return last[1]
            frames = {n: self._frame(f, n, role, "derived") for n, f in derived.items()}
            raw = {n: self._frame(f, n, role, "scene") for n, f in derived.scene.frames.items()}
            made = Derived(frames, restrict_scene(derived.scene, role, raw), {}, {})
            made.failures = {n: p for n, p in derived.failures.items() if n in seen_feeds(role)}
            self._last[role] = (derived, made)
            return made

    def _frame(self, frame: gpd.GeoDataFrame, feed: str, role: Role, kind: str) -> gpd.GeoDataFrame:
        held = self._frames.get((role, kind, feed))
        if held is not None and held[0] is frame:
            return held[1]
        made = restrict_frame(frame, feed, role)
        self._frames[(role, kind, feed)] = (frame, made)
        return made
