"""The data route on its own (Starlette's test client): who gets which role's files,
what a refusal looks like and leaves in the audit trail, and how files are kept on disk."""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit import config
from streamlit.testing.v1 import AppTest

from conftest import PROXY_HEADERS, ROOT, audit_events
from dashboard import datafiles
from layers.access.roles import Role
from layers.views.publish import gzipped

ROLES = '[users]\n"ops@m.example" = "operations"\n[groups]\n"nec-gis" = "commission"\n"eu-eom" = "partner"\n'
PEOPLE = {
    "operations": {"X-Remote-User": "ops@m.example"},
    "commission": {"X-Remote-User": "gis@nec.example", "X-Remote-Groups": "nec-gis"},
    "partner": {"X-Remote-User": "obs@eu.example", "X-Remote-Groups": "eu-eom"},
    "stranger": {"X-Remote-User": "who@else.example"},
    "nobody": {},
}


@pytest.fixture
def published() -> Iterator[dict[Role, str]]:
    """One dataset published for each role; the URL of each."""
    urls = {
        role: datafiles.publisher_for(role).publish(
            "stations", 1, lambda r=role: {"main": {"r": r}}
        )
        for role in Role
    }
    yield {role: u["main"] for role, u in urls.items()}
    datafiles.remove_data_folder()


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(Starlette(routes=datafiles.ROUTES)) as c:
        yield c


@pytest.fixture
def behind_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Sign-in by a proxy's headers, with a roles file; yields the audit folder."""
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES)
    monkeypatch.setenv("POLLWATCH_ROLES", str(roles))
    monkeypatch.setenv("POLLWATCH_AUDIT", str(tmp_path / "audit"))
    config.set_option("server.trustedUserHeaders", PROXY_HEADERS)
    yield tmp_path / "audit"
    config.set_option("server.trustedUserHeaders", {})


def test_without_sign_in_everything_is_served_with_private_caching(
    client: TestClient, published: dict[Role, str]
) -> None:
    for role, url in published.items():
        response = client.get(url)
        assert response.status_code == 200 and response.json() == {"r": role.value}
        assert response.headers["cache-control"] == datafiles.CACHING
        assert "access-control-allow-origin" not in response.headers
    assert client.get(f"{datafiles.URL}/operations/stations-main-0.json").status_code == 404
    assert client.get(f"{datafiles.URL}/admins/x.json").status_code == 404
    assert client.get(f"{datafiles.URL}/operations/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_a_large_dataset_goes_out_compressed_once_to_a_browser_that_takes_gzip(
    client: TestClient,
) -> None:
    rows = {"x": list(range(40_000)), "name": ["<b>text</b>"] * 1000}
    url = datafiles.publisher_for(Role.OPERATIONS).publish("stations", 2, lambda: {"main": rows})
    path = datafiles.data_folder() / "operations" / url["main"].rsplit("/", 1)[1]
    try:
        for _ in range(100):
            if gzipped(path).exists():
                break
            time.sleep(0.05)
        sent = client.get(url["main"], headers={"Accept-Encoding": "gzip"})
        assert sent.status_code == 200 and sent.json() == rows
        assert sent.headers["content-encoding"] == "gzip"
        assert sent.headers["content-type"] == "application/json"
        assert sent.headers["vary"] == "Accept-Encoding"
        assert sent.headers["x-content-type-options"] == "nosniff"
        assert int(sent.headers["content-length"]) == gzipped(path).stat().st_size
        plain = client.get(url["main"], headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.json() == rows
    finally:
        datafiles.remove_data_folder()


def test_the_maps_assets_are_kept_by_browsers_when_versioned_and_nothing_else_is_served(
    client: TestClient,
) -> None:
    from dashboard.common import ASSETS_VERSION
    from layers.map.basemap import ASSETS

    for asset in ASSETS:
        sent = client.get(f"{datafiles.STATIC_URL}/{asset}?v={ASSETS_VERSION}")
        assert sent.status_code == 200, asset
        assert sent.content == (datafiles.STATIC_DIR / asset).read_bytes()
        assert sent.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert sent.headers["x-content-type-options"] == "nosniff"
    script = client.get(f"{datafiles.STATIC_URL}/pollwatch/pollwatch.js")
    assert script.headers["cache-control"] == "no-cache"  # no version: checked each time
    assert script.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert (
        client.get(f"{datafiles.STATIC_URL}/leaflet-1.9.4/leaflet.css")
        .headers["content-type"]
        .startswith("text/css")
    )
    again = client.get(
        f"{datafiles.STATIC_URL}/pollwatch/pollwatch.js",
        headers={"If-None-Match": script.headers["etag"]},
    )
    assert again.status_code == 304
    for outside in ("..%2Fdatafiles.py", "../datafiles.py", "pollwatch", "nothing.js"):
        assert client.get(f"{datafiles.STATIC_URL}/{outside}").status_code == 404, outside


def test_each_role_reads_its_own_operations_read_all_others_get_403(
    client: TestClient, published: dict[Role, str], behind_proxy: Path
) -> None:
    def status(person: str, role: Role) -> int:
        return client.get(published[role], headers=PEOPLE[person]).status_code

    assert [status("operations", r) for r in Role] == [200, 200, 200]
    assert [status("commission", r) for r in Role] == [403, 200, 403]
    assert [status("partner", r) for r in Role] == [403, 403, 200]
    assert [status("stranger", r) for r in Role] == [403, 403, 403]
    assert [status("nobody", r) for r in Role] == [403, 403, 403]
    refused = [
        (e["who"], e["detail"]["path"])  # type: ignore[index]
        for e in audit_events(behind_proxy)
        if e["event"] == "refused-request"
    ]
    assert ("obs@eu.example", published[Role.OPERATIONS]) in refused
    assert len(refused) == 2 + 2 + 3 + 3


def test_the_files_are_for_this_user_only(published: dict[Role, str]) -> None:
    folder = datafiles.data_folder()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.rglob("*.json"))
    assert len(files) == 3
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    datafiles.remove_data_folder()
    assert not folder.exists()


def test_as_the_server_starts_each_role_gets_its_first_picture_published(
    sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lifespan's warm-up: the feeds read and every role's default datasets and
    basemap written before the first viewer asks, each role in its own folder."""
    from layers.access.policy import shown_feeds

    monkeypatch.setenv("POLLWATCH_FEEDS", str(sample_folder))
    try:
        datafiles.warm()
        for role in Role:
            folder = datafiles.data_folder() / role.value
            names = {p.name.split("-")[0] for p in folder.glob("*.json")}
            assert "basemap" in " ".join(names), (role, sorted(names))
            # the role's own layers only: never a layer its role may not see
            assert ("patrols" in " ".join(names)) == ("patrols" in shown_feeds(role)), names
        # The Coverage page's first run finds its analysis made.
        from dashboard import coverage_analysis

        def analysed_again(*args: object, **kwargs: object) -> None:
            raise AssertionError("the coverage was measured again")

        monkeypatch.setattr(coverage_analysis, "analyse", analysed_again)
        at = AppTest.from_file(str(ROOT / "dashboard" / "coverage.py"), default_timeout=120)
        at.run()
        assert not at.exception, at.exception
        assert any("Not covered all polling hours" in s.value for s in at.subheader)
    finally:
        datafiles.remove_data_folder()


def test_the_warm_up_gives_way_to_a_page_run_under_way() -> None:
    """After a restart the first screen's run gets the cores: the warm-up's next step
    waits until no page has run for a moment (its browser is fetching the datasets), at
    most its limit, then goes on."""
    from dashboard import datafiles as common

    started, release = threading.Event(), threading.Event()

    def screen() -> None:
        with common.page_run():
            started.set()
            release.wait(5)

    page = threading.Thread(target=screen)
    page.start()
    assert started.wait(5)
    waited = threading.Thread(target=common.give_way, args=(10.0, 0.5))
    waited.start()
    waited.join(0.3)
    assert waited.is_alive()  # the page still runs: the warm-up waits
    release.set()
    ended = time.perf_counter()
    waited.join(5)
    page.join(5)
    assert not waited.is_alive() and 0.4 < time.perf_counter() - ended < 3
    t0 = time.perf_counter()
    with common.page_run():  # a page that never ends holds the warm-up back no longer
        common.give_way(0.2)  # than the limit
    assert 0.15 < time.perf_counter() - t0 < 2


def test_the_warm_up_also_gives_way_while_a_browser_fetches_datasets(
    client: TestClient, published: dict[Role, str]
) -> None:
    """After its page run, a reconnected screen's browser fetches the datasets: each one
    sent holds the warm-up's next step back until the route has been quiet a moment."""
    datafiles.give_way(0.0)  # no wait: nothing to give way to, beyond the limit
    assert client.get(published[Role.OPERATIONS]).status_code == 200
    t0 = time.perf_counter()
    datafiles.give_way(10.0, 0.5)
    assert 0.4 < time.perf_counter() - t0 < 3  # the send just ended: quiet for 0.5 s first
    t0 = time.perf_counter()
    datafiles.give_way(10.0, 0.5)
    assert time.perf_counter() - t0 < 0.1  # nothing sent since: no wait
