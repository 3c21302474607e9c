"""The map of a view as a picture: the page's own map drawn by Chromium, headless.

The map in a briefing pack or on a slide must look like the screen: the same folium map,
the same pollwatch.js styles and clustering, the same published data. So the page's map
is written out as one HTML file, served with the files it may load (its scripts and the
role's datasets, nothing else) by a small file server on 127.0.0.1 for the few seconds it
takes, and drawn by Debian's Chromium, kept warm and driven by Playwright. Nothing leaves
the machine: every request off 127.0.0.1 is refused, every host name but 127.0.0.1
resolves to nothing, and the basemap is blank unless the tiles are served on this machine.
"""

from __future__ import annotations

import html
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import branca
import folium

log = logging.getLogger(__name__)
CHROMIUM = os.environ.get("POLLWATCH_CHROMIUM", "/usr/bin/chromium")
HEADLESS = [  # Chromium with no window, no sandbox, nothing fetched for itself
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_S = 60.0
ONLY_THIS_MACHINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
LOCAL = ("http://127.0.0.1:", "http://127.0.0.1/")  # the map's files, local tiles

# An arrow in the top right corner: maps on paper are read without a compass rose.
NORTH_ARROW = """
<div style="position:absolute;top:12px;right:12px;z-index:1000;background:rgba(255,255,255,.85);
 border-radius:4px;padding:4px 8px;font:bold 16px sans-serif;text-align:center;line-height:1">
 <svg width="22" height="30" viewBox="0 0 22 30"><path d="M11 0 L22 30 L11 22 L0 30 Z"
 fill="#222"/></svg><br>N</div>
"""


class SnapshotFailed(RuntimeError):
    """The map could not be drawn; the message says why."""


@dataclass(frozen=True)
class Size:
    """The picture's size in CSS pixels and its scale (device pixels per CSS pixel)."""

    width: int
    height: int
    scale: float = 1.0

    @property
    def pixels(self) -> tuple[int, int]:
        return round(self.width * self.scale), round(self.height * self.scale)


SLIDE = Size(1920, 1080)
SLIDE_4K = Size(1920, 1080, 2.0)
# A4 landscape less its margins and header (25.7 x 14.5 cm) at 220 dpi.
PRINT = Size(1400, 790, 1.6)


def standalone(fig: folium.Map, groups: list[folium.FeatureGroup], note: str) -> str:
    """The page's map as one HTML page: its layers on, the layer control off (the legend
    says what is shown), a north arrow, and ``note`` (sources) as attribution."""
    fig.options["zoom_snap"] = 0.1  # the view's frame fills the picture (screens snap to 1)
    for group in groups:
        group.add_to(fig)
    root = fig.get_root()
    assert isinstance(root, branca.element.Figure)
    root.html.add_child(folium.Element(NORTH_ARROW))
    root.header.add_child(
        folium.Element(
            "<style>html,body{margin:0}.leaflet-control-attribution{font-size:13px}"
            ".leaflet-control-zoom{display:none}"  # nothing to click on paper
            ".pollwatch-legend{max-height:none!important;overflow:visible!important}</style>"
            # Nothing to click either: no popup details fetched (23 MB at national scale).
            "<script>window.pollwatch_still = true;</script>"
        )
    )
    attribution = (
        f"<script>{fig.get_name()}.attributionControl.setPrefix(false)"
        f".addAttribution({_js_text(note)});</script>"
    )
    page = root.render()
    at = page.rindex("</html>")  # after the map's own script, which makes the map
    return page[:at] + attribution + page[at:]


def _js_text(text: str) -> str:
    """``text`` as a JavaScript string that Leaflet shows as text (no HTML from data)."""
    return json.dumps(html.escape(text))


def map_image(
    page: str,
    routes: Mapping[str, Path],
    size: Size,
    chromium: str = CHROMIUM,
    kind: str = "png",
) -> bytes:
    """A picture of ``page`` (HTML) at ``size``, as PNG or (``kind="jpeg"``, for a PDF,
    which keeps a JPEG as it is) JPEG; the URLs it asks for are files under ``routes``
    (URL prefix: folder, e.g. ``/app/static`` -> dashboard/static), nothing else."""
    work = Path(tempfile.mkdtemp(prefix="pollwatch-snapshot-"))
    try:
        (work / "snapshot").mkdir()
        (work / "snapshot" / "map.html").write_text(page, encoding="utf-8")
        for prefix, folder in routes.items():  # each route's folder at its URL, and no more
            link = work / prefix.strip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(Path(folder).resolve(), target_is_directory=True)
        with _Files(work) as files:
            picture = _browser(chromium).draw(f"{files.origin}/snapshot/map.html", size, kind)
            # What the picture was drawn from, to check it holds only what it may.
            log.info("map drawn from %s", " ".join(files.served()))
        return picture
    except OSError as error:  # the page's folder, its links or its file server
        raise SnapshotFailed(f"the map's files could not be served: {error}") from error
    finally:
        shutil.rmtree(work, ignore_errors=True)


# The map is drawn when the page has loaded, pollwatch.js has no dataset left to fetch and
# every layer of it is ready (a layer that waits for another counts as not ready), and
# every basemap tile shown has come.
DRAWN = """() => document.readyState === "complete"
    && (typeof pollwatch === "undefined"
        || (pollwatch.loading === 0
            && Object.values(pollwatch.layers).every(layer => layer.ready)))
    && [...document.querySelectorAll("img.leaflet-tile")].every(tile => tile.complete)"""
PAINTED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


class _Browser:
    """One headless Chromium, started once and kept, that draws one map at a time.

    Driven by Playwright (the well-kept driver our browser tests use, here with Debian's
    Chromium, never a downloaded one): it waits for the map to be drawn rather than for a
    fixed time, and a warm browser spares each map Chromium's start (about 1 s). Playwright's
    synchronous objects belong to the thread that made them, so a thread of its own owns
    the browser and takes the maps from a queue."""

    def __init__(self, chromium: str) -> None:
        self.chromium = chromium
        self._jobs: queue.Queue[tuple[str, Size, str, Future[bytes]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="pollwatch-snapshot", daemon=True
                )
                self._thread.start()

    def draw(self, url: str, size: Size, kind: str) -> bytes:
        self.start()
        done: Future[bytes] = Future()
        self._jobs.put((url, size, kind, done))
        try:
            return done.result(timeout=TIMEOUT_S)
        except TimeoutError as error:
            done.cancel()
            raise SnapshotFailed(f"Chromium drew no map within {TIMEOUT_S:g} s") from error

    def _run(self) -> None:
        """Draw the maps asked for until the browser goes; then fail the maps still waiting
        with why (the next map starts a browser again)."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        why = "Chromium stopped"
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(
                    executable_path=self.chromium,
                    headless=True,
                    args=[
                        *(flag for flag in HEADLESS if flag != "--headless"),
                        "--hide-scrollbars",
                        ONLY_THIS_MACHINE,
                    ],
                )
                while browser.is_connected():
                    url, size, kind, done = self._jobs.get()
                    if not done.set_running_or_notify_cancel():
                        continue
                    try:
                        done.set_result(_shot(browser, url, size, kind))
                    except PlaywrightError as error:
                        done.set_exception(
                            SnapshotFailed(f"Chromium could not draw the map: {error.message}")
                        )
        except PlaywrightError as error:
            why = f"Chromium ({self.chromium}) could not start: {error.message}"
            log.error("%s", why)
        finally:
            while not self._jobs.empty():
                *_, done = self._jobs.get_nowait()
                if done.set_running_or_notify_cancel():
                    done.set_exception(SnapshotFailed(why))


def _shot(browser: Any, url: str, size: Size, kind: str) -> bytes:
    """``url`` drawn at ``size`` in a fresh context of ``browser``; any request off this
    machine is refused."""
    context = browser.new_context(
        viewport={"width": size.width, "height": size.height}, device_scale_factor=size.scale
    )
    try:
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(LOCAL)
                else route.abort("blockedbyclient")
            ),
        )
        page = context.new_page()
        page.goto(url, wait_until="load", timeout=TIMEOUT_S * 1000)
        page.wait_for_function(DRAWN, polling=100, timeout=TIMEOUT_S * 1000)
        page.evaluate(PAINTED)
        if kind == "jpeg":
            return bytes(page.screenshot(type="jpeg", quality=92))
        return bytes(page.screenshot(type="png"))
    finally:
        context.close()


_browsers: dict[str, _Browser] = {}
_browsers_lock = threading.Lock()


def _browser(chromium: str) -> _Browser:
    with _browsers_lock:
        return _browsers.setdefault(chromium, _Browser(chromium))


class _Files:
    """A static file server of ``folder`` on 127.0.0.1, in a process of its own (served
    from this one, the server's other threads slowed the 4 MB a national map loads from
    0.4 to 1.4 s), for as long as the ``with`` lasts; its origin, and the paths it served."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._log = folder / "served.log"

    def __enter__(self) -> _Files:
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"],
            cwd=self.folder,
            stdout=subprocess.PIPE,
            stderr=self._log.open("wb"),
            text=True,
        )
        assert self._process.stdout is not None
        said = self._process.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (...)"
        port = re.search(r" port (\d+) ", said)
        if port is None:
            self._process.kill()
            raise SnapshotFailed(f"the map's file server did not start: {said.strip()!r}")
        self.origin = f"http://127.0.0.1:{port[1]}"
        return self

    def served(self) -> list[str]:
        found = re.findall(r'"GET (\S+) HTTP/[\d.]+" 200', self._log.read_text(errors="replace"))
        return sorted({path.split("?", 1)[0] for path in found})

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
        if self._process.stdout is not None:
            self._process.stdout.close()
