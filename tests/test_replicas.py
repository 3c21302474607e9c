"""Two dashboard replicas behind nginx, reading one PostgreSQL (all started here from
Debian's packages): a change ingested once shows on the sessions of both within one
refresh, and when a replica stops its sessions come back on the other by themselves."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, LOCAL, free_port, require_chromium
from dashboard.deploy import start_nginx, start_replica, wait_healthy
from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.ingest import Ingest
from layers.io.database import Database
from layers.scene import SceneLoader
from postgres import postgres_server

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
    if not Path("/usr/sbin/nginx").exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run installs it")
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does)")
    with postgres_server() as url:
        sim = Simulator(tmp_path / "feeds")
        source = Settings.from_env({"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": "off"})
        ingest = Ingest(SceneLoader(source), Database(url))
        ingest.once()
        env = {
            "POLLWATCH_DATABASE": url,
            "POLLWATCH_FEEDS": str(tmp_path / "no-folder"),
            "POLLWATCH_TILES": "none",
            "POLLWATCH_REFRESH_S": "3",
            "POLLWATCH_HISTORY": "off",
        }
        ports = [free_port(), free_port()]
        replicas = {p: start_replica(p, env, tmp_path / f"replica-{p}.log") for p in ports}
        proxy = None
        try:
            for port in ports:
                wait_healthy(f"http://127.0.0.1:{port}")
            proxy_port = free_port()
            proxy = start_nginx(tmp_path / "nginx", proxy_port, ports)
            site = f"http://127.0.0.1:{proxy_port}"
            wait_healthy(site)
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
                replicas[gone].terminate()
                replicas[gone].wait(30)
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
        finally:
            if proxy is not None:
                proxy.terminate()
            for proc in replicas.values():
                proc.terminate()
