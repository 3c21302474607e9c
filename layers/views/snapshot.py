"""The map of a view as a picture: the page's own map drawn by Chromium, headless.

The map in a briefing pack or on a slide must look like the screen: the same folium map,
the same pollwatch.js styles and clustering, the same published data. So the page's map
is written out as one HTML file, served with the data and assets it asks for by a small
HTTP server on 127.0.0.1 for the few seconds it takes, and Debian's Chromium takes the
screenshot. Nothing leaves the machine: every host name resolves to nothing but
127.0.0.1, and the basemap is blank unless the tiles are local.
"""

from __future__ import annotations

import html
import http.server
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

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
SETTLE_MS = 20_000  # virtual time Chromium gives the page to fetch and draw
TIMEOUT_S = 60.0

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


def map_png(page: str, routes: Mapping[str, Path], size: Size, chromium: str = CHROMIUM) -> bytes:
    """A PNG of ``page`` (HTML) at ``size``, its URLs served from ``routes`` (URL prefix:
    folder, e.g. ``/app/static`` -> dashboard/static)."""
    work = Path(tempfile.mkdtemp(prefix="pollwatch-snapshot-"))
    try:
        (work / "map.html").write_text(page, encoding="utf-8")
        served: list[str] = []
        handler = partial(_Handler, routes={"/snapshot": work, **routes}, served=served)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            out = work / "map.png"
            url = f"http://127.0.0.1:{server.server_port}/snapshot/map.html"
            done = subprocess.run(
                [
                    chromium,
                    *HEADLESS,
                    "--hide-scrollbars",
                    f"--user-data-dir={work / 'profile'}",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # only this machine
                    f"--window-size={size.width},{size.height}",
                    f"--force-device-scale-factor={size.scale:g}",
                    f"--virtual-time-budget={SETTLE_MS}",
                    f"--screenshot={out}",
                    url,
                ],
                capture_output=True,
                timeout=TIMEOUT_S,
            )
            if not out.exists():
                said = [
                    line
                    for line in done.stderr.decode(errors="replace").splitlines()
                    if "dbus" not in line
                ]
                raise SnapshotFailed(
                    f"Chromium ({chromium}) drew no map (exit {done.returncode}): "
                    + " ".join(said[-2:])
                )
            # What the picture was drawn from, to check it holds only what it may.
            log.info("map drawn from %s", " ".join(sorted(set(served))))
            return out.read_bytes()
        except (OSError, subprocess.SubprocessError) as error:
            raise SnapshotFailed(
                f"Chromium ({chromium}) could not draw the map: {error}"
            ) from error
        finally:
            server.shutdown()
            server.server_close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files under each route's folder; nothing else (no listing, no parent folders)."""

    def __init__(
        self, *args: object, routes: Mapping[str, Path], served: list[str], **kwargs: object
    ) -> None:
        self.routes, self.served = routes, served
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, folder in self.routes.items():
            if path.startswith(prefix.rstrip("/") + "/"):
                rest = path[len(prefix.rstrip("/")) + 1 :]
                target = (Path(folder) / rest).resolve()
                if target.is_relative_to(Path(folder).resolve()) and target.is_file():
                    self.served.append(path)
                    return str(target)
        return "/nonexistent"

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404)
        return None

    def log_message(self, format: str, *args: object) -> None:
        pass
