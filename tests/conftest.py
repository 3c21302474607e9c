"""Shared fixtures: feed folders written by the tests, the real public data, a sample scene."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from layers.core.problems import Problem
from layers.exercise.simulator import Simulator
from layers.io.files import read_whole
from layers.io.history import History
from layers.io.parsing import parse
from layers.io.spec import ReadContext
from layers.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
ANCHOR = pd.Timestamp("2026-10-11T12:00:00Z")
# The apps the tests start keep their audit trail apart from the repository's folder.
os.environ.setdefault("POLLWATCH_AUDIT", tempfile.mkdtemp(prefix="pollwatch-audit-"))
# ... and the parsed feeds they keep between restarts (layers/core/ondisk.py) theirs.
os.environ.setdefault("POLLWATCH_CACHE", tempfile.mkdtemp(prefix="pollwatch-kept-"))
os.environ.setdefault("POLLWATCH_HISTORY", tempfile.mkdtemp(prefix="pollwatch-history-"))


@pytest.fixture
def shared_data() -> Path:
    """The real public files beside the checkout; tests using them skip on a user's machine."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it is present in CI)")
    return SHARED_DATA


def load_text(feed: str, name: str, text: str | bytes, ctx: ReadContext = ReadContext()):
    """Parse and load one feed file given as text: (frame, problems)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    raw = parse(feed, Path(name), data, spec=REGISTRY[feed].SPEC)
    frame, problems = REGISTRY[feed].load(raw, ctx)
    return frame, [*raw.problems, *problems]


def load_path(feed: str, path: Path, ctx: ReadContext = ReadContext()):
    """Parse and load one feed file from disk: (frame, problems)."""
    raw = parse(feed, path, read_whole(path)[0], spec=REGISTRY[feed].SPEC)
    frame, problems = REGISTRY[feed].load(raw, ctx)
    return frame, [*raw.problems, *problems]


def shown(markdown: str) -> str:
    """What a reader sees of Markdown escaped with backslashes (feed text on a page; the
    invisible word joiners that keep links from forming left out)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def kinds(problems: list[Problem]) -> Counter:
    """How many problems of each kind."""
    return Counter(p.kind for p in problems)


def geojson(features: list[dict]) -> str:
    """A FeatureCollection as text."""
    return json.dumps({"type": "FeatureCollection", "features": features})


def point(lon: float, lat: float, **props: object) -> dict:
    """A Point feature."""
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


@pytest.fixture(scope="session")
def sample_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample scenario generated with a fixed anchor time."""
    from layers.exercise.scenario import generate

    folder = tmp_path_factory.mktemp("sample")
    generate(folder, "sample", anchor=ANCHOR)
    return folder


@pytest.fixture(scope="session")
def derived(sample_folder: Path):  # type: ignore[no-untyped-def]
    """The sample scenario loaded and every layer derived (read-only: shared)."""
    from layers.analysis.picture import DerivedCache
    from layers.core.settings import Settings
    from layers.scene import SceneLoader

    settings = Settings.from_env({"POLLWATCH_FEEDS": str(sample_folder)})
    return DerivedCache().derive(SceneLoader(settings).load())


# server.trustedUserHeaders as the tests' "proxy" sends them
PROXY_HEADERS = {"X-Remote-User": "email", "X-Remote-Groups": "groups"}
# The roles file of the tests signed in by the proxy, and who signs in as each role
PROXY_ROLES = '[users]\n"ops@m.example" = "operations"\n[groups]\n"nec-gis" = "commission"\n"eu-eom" = "partner"\n'
PROXY_PEOPLE = {  # role: (X-Remote-User, X-Remote-Groups)
    "operations": ("ops@m.example", ""),
    "commission": ("gis@nec.example", "nec-gis"),
    "partner": ("obs@eu.example", "eu-eom"),
}


def proxied_env(
    feeds: Path, audit: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment of a dashboard that signs people in by the proxy's headers
    (:data:`PROXY_HEADERS`), with the roles of :data:`PROXY_ROLES`."""
    roles = tmp_path_factory.mktemp("roles") / "roles.toml"
    roles.write_text(PROXY_ROLES)
    return {
        "POLLWATCH_AUDIT": str(audit),
        "POLLWATCH_FEEDS": str(feeds),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_ROLES": str(roles),
        "STREAMLIT_SERVER_TRUSTED_USER_HEADERS": json.dumps(PROXY_HEADERS),
    }


@pytest.fixture(scope="session")
def operations_only(sample_folder: Path) -> dict[str, list[str]]:
    """Text only operations may see, from the sample's files: unit names, cargo, convoys."""
    import geopandas as gpd

    bases = gpd.read_file(sample_folder / "patrols.geojson")
    routes = gpd.read_file(sample_folder / "convoy_routes.geojson")
    stores = gpd.read_file(sample_folder / "storage_sites.geojson")
    deliveries = pd.read_csv(sample_folder / "deliveries.csv", dtype=str)
    return {
        "unit": sorted(set(bases["unit"].dropna().astype(str))),
        "cargo": sorted(set(routes["cargo"].dropna().astype(str))),
        "convoy": sorted(set(routes["convoy_id"].dropna().astype(str))),
        "guard": sorted(set(stores["guard_unit"].dropna().astype(str))),
        "store": sorted(set(stores["name"].dropna().astype(str))),
        "truck": sorted(set(deliveries["convoy_id"].dropna())),
        "signatory": sorted(set(deliveries["signed_by"].dropna()))[:200],
    }


def audit_events(folder: Path) -> list[dict[str, object]]:
    """Every event of the last two days in the audit trail at ``folder``, read as the
    Audit page reads it."""
    import datetime as dt

    from layers.access.audit import AuditLog

    today = dt.datetime.now(dt.UTC).date()
    events = AuditLog(folder).read(today - dt.timedelta(days=1), today).events
    return events.to_dict("records")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL with PostGIS (tests/postgres.py), one for the session."""
    from postgres import postgres_server  # noqa: PLC0415 - only for tests that ask

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def history_at(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a history store is kept: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "h" / "history.sqlite"
    from postgres import fresh_database  # noqa: PLC0415

    return fresh_database(request.getfixturevalue("postgres_url"))


def history_of_a_day(
    root: Path, start: pd.Timestamp, steps: int, step_s: float
) -> tuple[Simulator, History]:
    """The simulator stepped ``steps`` times from ``start`` in ``root``/feeds, each step
    kept in the history (``root``/history.sqlite) at its own time, as the dashboard's
    feed store keeps each file that changed when it looks."""
    sim = Simulator(root / "feeds", start=start)
    history = History(root / "history.sqlite")
    last: dict[str, bytes] = {}

    def keep(taken: float) -> None:
        for path in sorted(sim.out.iterdir()):
            if path.name.startswith("."):
                continue
            feed = "scenario" if path.name == "scenario.json" else path.stem
            data = path.read_bytes()
            if last.get(feed) != data:
                history.record(
                    feed, taken, path.name, path.stat().st_mtime_ns, data, last.get(feed)
                )
                last[feed] = data

    keep(start.timestamp())
    for _ in range(steps):
        sim.step(step_s)
        keep(sim.now.timestamp())
    history.flush()
    return sim, history
