"""Helpers for browser tests: run the app on a free port, drive Debian's Chromium offline."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from dashboard.deploy import streamlit_command
from layers.views.snapshot import HEADLESS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = HEADLESS
ARTIFACTS = ROOT / "artifacts"
LOCAL = ("http://localhost", "http://127.0.0.1", "data:", "blob:", "about:")


def require_chromium() -> None:
    """Skip on a machine without Chromium; in CI its absence is a failure."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(
    env: dict[str, str],
    timeout: float = 60.0,
    log_path: Path | None = None,
    args: Sequence[str] = (),
    port: int | None = None,
    script: Path = ROOT / "dashboard" / "app.py",
) -> Iterator[str]:
    """Start the dashboard with ``env`` added (and ``args`` to ``streamlit run``); yield
    its URL once its health check answers. Its output goes to ``log_path`` (default: a
    new temporary file). ``script``: another app to run (a benchmark's stock page)."""
    port = port or free_port()
    log = (
        open(log_path, "wb")  # noqa: SIM115 - closed with the process
        if log_path is not None
        else tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
    )
    proc = subprocess.Popen(
        streamlit_command(script, port, *args),
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def offline_page(width: int = 1400, height: int = 1000, cache: bool = False):  # type: ignore[no-untyped-def]
    """A Playwright page in Debian's Chromium where every request off this machine fails.

    Yields (page, blocked): ``blocked`` lists the URLs that were refused.
    ``cache``: the browser keeps what it fetched, as a wall PC's does. Playwright turns
    the HTTP cache off for a page whose requests it intercepts, so then requests off the
    machine go instead to a proxy that is not there (Chromium sends this machine's own
    addresses direct), and ``blocked`` lists those that failed.
    """
    from playwright.sync_api import sync_playwright

    require_chromium()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    blocked: list[str] = []
    with sync_playwright() as p:
        nowhere = ["--proxy-server=http://127.0.0.1:9"] if cache else []  # discard: refused
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, *nowhere],
            headless=True,
            viewport={"width": width, "height": height},
        )
        try:

            def route(r):  # type: ignore[no-untyped-def]
                if r.request.url.startswith(LOCAL):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            if cache:
                context.on(
                    "requestfailed",
                    lambda r: None if r.url.startswith(LOCAL) else blocked.append(r.url),
                )
            else:
                context.route("**/*", route)
            page = context.new_page()
            yield page, blocked
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


DATA_ROUTE = "/pollwatch/data/"


def data_urls(page) -> list[str]:  # type: ignore[no-untyped-def]
    """A list that fills with the URLs of the data route ``page`` fetches from now on."""
    urls: list[str] = []
    page.on("response", lambda r: urls.append(r.url) if DATA_ROUTE in r.url else None)
    return urls


def http_status(url: str, headers: dict[str, str] | None = None) -> int:
    """What the server answers a plain request (no browser, no cookie) for ``url``."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def map_frame(page, timeout_ms: int = 60_000):  # type: ignore[no-untyped-def]
    """The st_folium iframe's Frame, once Leaflet has drawn its container in it."""
    page.wait_for_selector(
        'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=timeout_ms
    )
    locator = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
    locator.locator(".leaflet-container").wait_for(timeout=timeout_ms)
    return next(f for f in page.frames if "streamlit_folium" in f.url)


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def simulated(folder: Path, interval: float) -> Iterator[Path]:
    """The exercise simulator writing live feeds into ``folder`` every ``interval`` s."""
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layers.exercise.simulator",
            str(folder),
            "--interval",
            str(interval),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (folder / "scenario.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        yield folder
    finally:
        sim.terminate()
        sim.wait(10)


@contextmanager
def live_app(folder: Path, every: float, refresh: float) -> Iterator[tuple[str, Any]]:
    """The dashboard on the simulator's feeds in ``folder`` (a change every ``every`` s,
    a refresh every ``refresh`` s, no tiles) and an offline page: yields (url, page)."""
    with simulated(folder, every) as live:
        env = {
            "POLLWATCH_FEEDS": str(live),
            "POLLWATCH_TILES": "none",
            "POLLWATCH_REFRESH_S": f"{refresh:g}",
        }
        with running_app(env) as url, offline_page() as (page, _):
            yield url, page
