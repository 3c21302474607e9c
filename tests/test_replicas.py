"""Two dashboard replicas behind nginx, reading one PostgreSQL (all started here from
Debian's packages): a change ingested once shows on the sessions of both within one
refresh, and when a replica stops its sessions come back on the other by themselves."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import pytest

from browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOCAL,
    data_urls,
    free_port,
    http_status,
    map_frame,
    offline_page,
    require_chromium,
    running_app,
    screenshot,
)
from dashboard.deploy import running_site
from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.ingest import Ingest
from layers.io.database import Database
from layers.scene import SceneLoader
from postgres import fresh_database, postgres_cluster, postgres_server, standby_of

pytestmark = pytest.mark.browser

INCIDENTS = """() => {
    const tile = [...document.querySelectorAll('[data-testid="stMetric"]')]
        .find(t => t.innerText.startsWith('Incidents'));
    if (!tile) return null;
    const value = tile.querySelector('[data-testid="stMetricValue"]').innerText;
    return parseInt(value.split(' ')[0].replace(/,/g, ''), 10);
}"""


def test_two_replicas_share_one_picture_and_a_stopped_ones_sessions_move(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    require_chromium()
    require_nginx()
    with postgres_server() as url:
        sim = Simulator(tmp_path / "feeds")
        source = Settings.from_env({"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": "off"})
        ingest = Ingest(SceneLoader(source), Database(url))
        ingest.once()
        ports = [free_port(), free_port()]
        with running_site(replica_env(url, tmp_path), tmp_path / "site", ports, free_port()) as on:
            site = on.url
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages = {}  # replica port -> a page it serves
                for _ in range(12):  # browsers (each its own cookies) until both have one
                    context = browser.new_context(viewport={"width": 1300, "height": 900})
                    context.route(
                        "**/*",
                        lambda r: r.continue_() if r.request.url.startswith(LOCAL) else r.abort(),
                    )
                    page = context.new_page()
                    answer = page.goto(site + "/")
                    assert answer is not None
                    replica = int(answer.headers["x-pollwatch-replica"].rsplit(":", 1)[1])
                    pages.setdefault(replica, page)
                    if len(pages) == 2:
                        break
                assert sorted(pages) == sorted(ports)
                for page in pages.values():
                    page.wait_for_function(f"() => ({INCIDENTS})() !== null", timeout=90_000)
                shown = {port: page.evaluate(INCIDENTS) for port, page in pages.items()}
                assert len(set(shown.values())) == 1  # one picture on both
                before = next(iter(shown.values()))

                sim.step(seconds=1, incidents=5)
                changed = time.monotonic()
                ingest.once()
                for page in pages.values():
                    page.wait_for_function(
                        f"() => ({INCIDENTS})() === {before + 5}", timeout=30_000
                    )
                print(f"a change on both replicas' screens in {time.monotonic() - changed:.1f} s")

                gone, kept = ports
                on.replicas[gone].terminate()
                on.replicas[gone].wait(30)
                moved = pages[gone]
                sim.step(seconds=1, incidents=3)
                stopped = time.monotonic()
                ingest.once()
                # No reload, no click: the page reconnects through the proxy to the other.
                for page in (moved, pages[kept]):
                    page.wait_for_function(
                        f"() => ({INCIDENTS})() === {before + 8}", timeout=90_000
                    )
                print(f"the stopped replica's session back in {time.monotonic() - stopped:.1f} s")
                browser.close()


LINK_LOST = "() => document.body.innerText.includes('Link to headquarters lost')"


def test_a_sites_screen_says_the_link_to_headquarters_is_lost_and_catches_up(
    tmp_path: Path,
) -> None:
    require_chromium()
    with postgres_cluster() as primary, standby_of(primary) as standby:
        sim = Simulator(tmp_path / "feeds")
        source = Settings.from_env({"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": "off"})
        ingest = Ingest(SceneLoader(source), Database(primary.url))
        made = ingest.once()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the standby has the first versions
            try:
                if Database(standby.url, make_schema=False).newest_versions() == made:
                    break
            except psycopg.Error:
                pass
            time.sleep(0.3)
        env = {
            "POLLWATCH_DATABASE": standby.url,
            "POLLWATCH_FEEDS": str(tmp_path / "no-folder"),
            "POLLWATCH_TILES": "none",
            "POLLWATCH_REFRESH_S": "2",
            "POLLWATCH_HISTORY": "off",
        }
        with running_app(env, timeout=120) as url, offline_page(1300, 900) as (page, blocked):
            page.goto(url + "/")
            page.wait_for_function(f"() => ({INCIDENTS})() !== null", timeout=90_000)
            before = page.evaluate(INCIDENTS)
            assert not page.evaluate(LINK_LOST)
            ingest.db.close()
            primary.stop()  # the link to headquarters goes: the site says so, keeps its picture
            page.wait_for_function(LINK_LOST, timeout=60_000)
            assert page.evaluate(INCIDENTS) == before
            screenshot(page, "site_link_lost.png")
            primary.start()
            sim.step(seconds=1, incidents=2)
            Ingest(SceneLoader(source), Database(primary.url)).once()
            page.wait_for_function(f"() => ({INCIDENTS})() === {before + 2}", timeout=90_000)
            page.wait_for_function(f"() => !({LINK_LOST})()", timeout=30_000)
        assert blocked == []


SIGNED_IN = "Signed in as ops@m.example (operations)"


def test_sign_in_behind_the_proxy_holds_when_its_replica_stops(
    tmp_path: Path, postgres_url: str
) -> None:
    """Sign-in through a real OIDC provider, at the proxy's address: the role's data on
    the replica that served it and, once that replica stops, on the other, with the same
    cookie and no new sign-in; every replica's audit events in the database's one trail."""
    from oidc_provider_mock import run_server_in_thread
    from playwright.sync_api import sync_playwright
    from test_oidc import ROLES, auth_secrets, people, sign_in

    require_chromium()
    require_nginx()
    url = fresh_database(postgres_url)
    sim = Simulator(tmp_path / "feeds")
    ingest = Ingest.of(
        Settings.from_env({"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": "off"}), url
    )
    ingest.once()
    with run_server_in_thread(user_claims=people()) as provider:
        proxy_port = free_port()
        site = f"http://localhost:{proxy_port}"
        # one file for both replicas: either accepts the other's sign-in cookie
        secrets = auth_secrets(tmp_path / "secrets.toml", site, provider.server_port)
        roles = tmp_path / "roles.toml"
        roles.write_text(ROLES)
        env = {
            **replica_env(url, tmp_path),
            "POLLWATCH_ROLES": str(roles),
            "POLLWATCH_AUDIT": str(tmp_path / "audit-files"),
        }
        ports = [free_port(), free_port()]
        with running_site(env, tmp_path / "site", ports, proxy_port, secrets) as on:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1300, "height": 900})
                context.route(
                    "**/*",
                    lambda r: r.continue_() if r.request.url.startswith(LOCAL) else r.abort(),
                )
                page = context.new_page()
                data = data_urls(page)
                sign_in(page, site, "ops-1")
                page.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
                page.wait_for_function(f"() => ({INCIDENTS})() !== null", timeout=90_000)
                before = page.evaluate(INCIDENTS)
                map_frame(page, 90_000)
                page.wait_for_timeout(2000)
                mine = [u for u in data if "/pollwatch/data/operations/" in u]
                assert mine, data
                answer = page.request.get(mine[0])
                assert answer.status == 200  # the cookie names the proxy's address
                assert http_status(mine[0]) == 403  # no cookie, no data
                held = int(answer.headers["x-pollwatch-replica"].rsplit(":", 1)[1])

                on.replicas[held].terminate()
                on.replicas[held].wait(30)
                sim.step(seconds=1, incidents=4)
                ingest.once()
                page.wait_for_function(f"() => ({INCIDENTS})() === {before + 4}", timeout=90_000)
                assert page.get_by_text(SIGNED_IN).is_visible()  # no new sign-in
                again = page.request.get(mine[0])
                assert again.status == 200
                other = int(again.headers["x-pollwatch-replica"].rsplit(":", 1)[1])
                assert other != held
                screenshot(page, "replicas_signed_in_moved.png")
                browser.close()
    with psycopg.connect(url) as conn:
        events = conn.execute("SELECT who, event FROM pollwatch_audit").fetchall()
    assert ("ops@m.example", "sign-in") in events
    assert not (tmp_path / "audit-files").exists()  # the database took every event
    ingest.db.close()


def replica_env(url: str, tmp_path: Path) -> dict[str, str]:
    """A replica's settings: the database at ``url`` only (no folder, no history file),
    refreshing every 3 s."""
    return {
        "POLLWATCH_DATABASE": url,
        "POLLWATCH_FEEDS": str(tmp_path / "no-folder"),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_REFRESH_S": "3",
        "POLLWATCH_HISTORY": "off",
    }


def require_nginx() -> None:
    if not Path("/usr/sbin/nginx").exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run installs it")
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does)")
