"""Every byte a role's browser receives (HTTP bodies and websocket frames), scanned for
what only operations may see: patrol base and convoy positions (as the page rounds them,
as text or as binary doubles), unit names and convoy cargo. Sign-in by a proxy's headers
(``server.trustedUserHeaders``), as behind an authenticating reverse proxy."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from browser import DATA_ROUTE, http_status, map_frame, offline_page, running_app
from conftest import PROXY_PEOPLE, audit_events, proxied_env
from layers.analysis.picture import DerivedCache
from layers.core.settings import Settings
from layers.scene import SceneLoader

pytestmark = pytest.mark.browser

PEOPLE = PROXY_PEOPLE
Secrets = list[tuple[str, list[list[bytes]]]]
PAGES = {"operations": ["/", "/coverage"], "commission": ["/", "/coverage"], "partner": ["/"]}


@pytest.fixture(scope="module")
def audit_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit")


@pytest.fixture(scope="module")
def app(
    sample_folder: Path, tmp_path_factory: pytest.TempPathFactory, audit_folder: Path
) -> Iterator[str]:
    env = proxied_env(sample_folder, audit_folder, tmp_path_factory)
    with running_app(env, 120) as url:
        yield url


class Number(bytes):
    """A coordinate as JSON text: a whole number in the data, not part of a longer one."""


NUMBER = re.compile(rb"-?[0-9][0-9.]*")


def forms(value: float) -> list[bytes]:
    """How a coordinate can travel: as JSON text (5 decimals, as the map rounds it) or as
    a little-endian double (Arrow, protobuf)."""
    rounded = round(value, 5)
    return [Number(repr(rounded).encode()), struct.pack("<d", rounded), struct.pack("<d", value)]


class Scan:
    """The data received, with its numbers found once (a search per secret took minutes)."""

    def __init__(self, data: bytes):
        self.data = data
        found = set(NUMBER.findall(data))
        self.numbers = found | {n[1:] for n in found if n.startswith(b"-")}

    def has(self, form: bytes) -> bool:
        return form in self.numbers if isinstance(form, Number) else form in self.data


@pytest.fixture(scope="module")
def secrets_of(sample_folder: Path) -> dict[str, Secrets]:
    """Per kind, each secret with the byte forms that would reveal it (all must appear)."""
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(sample_folder)})
    derived = DerivedCache().derive(SceneLoader(settings).load())
    found: dict[str, Secrets] = {}
    bases, convoys = derived.scene["patrols"], derived["convoy_positions"]  # points
    for kind, frame in (("base", bases), ("convoy", convoys)):
        # Points (3 of the sample's 60 bases are patrol areas: their corners are drawn as
        # a polygon's, in other units; they are not scanned).
        corners = [(g.x, g.y) for g in frame.geometry if g is not None and g.geom_type == "Point"]
        found[kind] = [(f"{y:.5f},{x:.5f}", [forms(y), forms(x)]) for x, y in corners]
    found["unit"] = [(u, [[u.encode()]]) for u in sorted(set(derived["patrols"]["unit"].dropna()))]
    found["cargo"] = [
        (c, [[c.encode()]]) for c in sorted(set(derived["convoy_routes"]["cargo"].dropna()))
    ]
    return found


@dataclass
class Visit:
    data: bytes  # every byte received
    datasets: dict[str, dict[str, str]]  # data route URL -> its response headers


def received(url: str, role: str) -> Visit:
    """Everything the browser of ``role`` received on its pages."""
    who, groups = PEOPLE[role]
    chunks: list[bytes] = []
    datasets: dict[str, dict[str, str]] = {}
    with offline_page() as (page, blocked):
        page.set_extra_http_headers({"X-Remote-User": who, "X-Remote-Groups": groups})

        def on_response(response) -> None:  # type: ignore[no-untyped-def]
            if DATA_ROUTE in response.url:
                datasets[response.url] = {**response.headers, "status": str(response.status)}
            try:
                chunks.append(response.body())
            except Exception as err:  # noqa: BLE001 - redirects, aborted requests: no body
                chunks.append(f"(no body: {err})".encode())

        def on_socket(ws) -> None:  # type: ignore[no-untyped-def]
            ws.on(
                "framereceived",
                lambda payload: chunks.append(
                    payload if isinstance(payload, bytes) else payload.encode()
                ),
            )

        page.on("response", on_response)
        page.on("websocket", on_socket)
        for path in PAGES[role]:
            page.goto(url + path)
            frame = map_frame(page, 90_000)
            frame.wait_for_function("() => typeof pollwatch !== 'undefined'", timeout=60_000)
            page.wait_for_timeout(2500)  # every layer's data fetched and drawn
        assert blocked == []
    return Visit(b"\n".join(chunks), datasets)


@pytest.fixture(scope="module")
def visits(app: str) -> dict[str, Visit]:
    """Each role's visit, made once for the module."""
    return {role: received(app, role) for role in PEOPLE}


def leaks(scan: Scan, secrets: Secrets) -> list[str]:
    return [name for name, parts in secrets if all(any(scan.has(f) for f in p) for p in parts)]


@pytest.mark.parametrize("role", ["commission", "partner"])
def test_a_role_receives_no_unit_or_convoy_position_name_or_cargo(
    visits: dict[str, Visit], role: str, secrets_of: dict[str, Secrets]
) -> None:
    data = visits[role].data
    assert len(data) > 100_000  # the pages really came (stations, areas, charts)
    scan = Scan(data)
    for kind, secrets in secrets_of.items():
        assert leaks(scan, secrets) == [], f"{role} received {kind}s"


def test_operations_receive_them_all_so_the_scan_can_fail(
    visits: dict[str, Visit], secrets_of: dict[str, Secrets]
) -> None:
    scan = Scan(visits["operations"].data)
    for kind, secrets in secrets_of.items():
        missing = sorted({n for n, _ in secrets} - set(leaks(scan, secrets)))
        assert missing == [], f"operations did not receive {len(missing)} {kind}s: {missing[:3]}"


def as_person(role: str) -> dict[str, str]:
    who, groups = PEOPLE[role]
    return {"X-Remote-User": who, "X-Remote-Groups": groups}


def test_data_urls_are_served_only_to_the_roles_they_were_made_for(
    visits: dict[str, Visit], app: str, audit_folder: Path
) -> None:
    ops = visits["operations"].datasets
    assert len(ops) >= 5 and all(h["status"] == "200" for h in ops.values())
    for headers in ops.values():  # cached by the browser, for this person only; no CORS
        assert headers["cache-control"].startswith("private")
        assert "access-control-allow-origin" not in headers
    for role in ("partner", "commission"):
        mine = visits[role].datasets  # the partner's map is a choropleth in the page
        assert all(f"/pollwatch/data/{role}/" in u for u in mine)
        asked = {u: http_status(u, as_person(role)) for u in ops}
        assert set(asked.values()) <= {403, 404} and 403 in asked.values(), asked
        assert all(http_status(u, as_person(role)) == 200 for u in mine)
    commission = list(visits["commission"].datasets)
    assert len(commission) >= 3
    assert all(http_status(u, as_person("partner")) == 403 for u in commission)
    assert all(http_status(u, {}) == 403 for u in commission)  # no user: nothing
    assert all(http_status(u, as_person("operations")) == 200 for u in commission)  # view as
    refused = [e for e in audit_events(audit_folder) if e["event"] == "refused-request"]
    assert {r["who"] for r in refused} >= {"obs@eu.example", "gis@nec.example"}
