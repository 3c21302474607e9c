"""The map datasets the browser fetches: written to a private folder, served by a route
that checks, on every request, that the asker's role may have them.

Pages publish through :func:`publisher_for` the role they show; each role's datasets go to
a folder and a URL of their own (``/pollwatch/data/<role>/<name>-<hash>.json``). The route
(:func:`serve`, mounted by ``dashboard/app.py``) finds who asks the way Streamlit does for
its websocket (the sign-in cookie, or the proxy's headers, see :mod:`dashboard.access`)
and answers 403, recorded in the audit trail, when that person's role may not read that
role's datasets (:func:`layers.access.policy.may_read`).

The folder is made for this server process only, readable by its user only (0700, files
0600), and removed when the server stops; no older versions outlive a restart. Names
stay content-hashed, so browsers keep their copy (privately) until the data changes.

A second route serves the map's own scripts and styles (``dashboard/static``, the same
for everyone) at :data:`STATIC_URL`; asked for with ``?v=<their hash>`` they are kept by
browsers for good, so a wall that reloads asks the server for none of them.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.access import request_viewer
from layers.access.policy import may_read
from layers.access.roles import Role
from layers.views.publish import Publisher, gzipped

URL = "/pollwatch/data"
STATIC_URL = "/pollwatch/static"
STATIC_DIR = Path(__file__).parent / "static"
NAME = re.compile(r"[A-Za-z0-9_.-]+\.json")  # what Publisher writes; nothing else is served
CACHING = "private, max-age=31536000, immutable"  # content-hashed: never changes
_lock = threading.Lock()
_folder: list[Path] = []
_serving = threading.Event()
log = logging.getLogger("pollwatch.start")


def data_folder() -> Path:
    """This process's private folder of datasets, made on first use."""
    with _lock:
        if not _folder:
            folder = Path(tempfile.mkdtemp(prefix="pollwatch-data-"))  # 0700
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _folder.append(folder)
        return _folder[0]


@asynccontextmanager
async def lifespan(app: object) -> AsyncIterator[None]:
    """While the server runs, the route serves; when it stops, the datasets go. As it
    starts, the feeds are read and each role's first picture made (:func:`warm`), so the
    first screen after a restart does not wait for all of it."""
    _serving.set()
    start_warming()
    try:
        yield
    finally:
        _serving.clear()
        remove_data_folder()


_warming: list[threading.Thread] = []


def start_warming() -> None:
    """Start :func:`warm` once per process, as early as the app is imported
    (``dashboard/app.py``): reading the feeds overlaps Streamlit's own start."""
    with _lock:
        if not _warming:
            _warming.append(threading.Thread(target=warm, name="pollwatch-warm", daemon=True))
            _warming[0].start()


# Libraries the pages import beyond dashboard.common, imported as the server starts (not
# streamlit_folium: a component declared outside a page's run does not draw).
PAGE_IMPORTS = ("layers.views.pack", "layers.views.charts", "plotly.graph_objects", "folium")


def warm() -> None:
    """Read the feeds and make what every first page needs (:func:`dashboard.common.warm`);
    a failure is logged, and the first page does the work instead."""
    started = time.perf_counter()
    try:
        from dashboard.common import configure_logging
        from dashboard.common import warm as warm_pages  # the pages' imports, loaded now

        configure_logging()
        warm_pages()
        for module in PAGE_IMPORTS:  # what a page's first run would import (0.7 s)
            importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a page will read the feeds and say what is wrong
        log.exception("reading the feeds as the server started failed")
        return
    log.info(
        "feeds read and first pictures made as the server started: %.1f s",
        time.perf_counter() - started,
    )


YIELD_S = 30.0  # the longest the warm-up waits for screens before a step
QUIET_S = 3.0  # and after a page run or a dataset sent: the browser is still loading
_activity = threading.Condition()
_active = [0, 0.0]  # page runs under way in this process; when the last run or send ended


def _ended() -> None:
    with _activity:
        _active[1] = time.monotonic()
        _activity.notify_all()


@contextmanager
def page_run() -> Iterator[None]:
    """A whole page run (``dashboard/main.py`` wraps each): the warm-up gives way to it."""
    with _activity:
        _active[0] += 1
    try:
        yield
    finally:
        with _activity:
            _active[0] -= 1
        _ended()


def give_way(limit_s: float = YIELD_S, quiet_s: float = QUIET_S) -> None:
    """Wait until no page has run and no dataset was sent for ``quiet_s`` (at most
    ``limit_s``): after a restart, a screen that reconnects needs the cores for its own
    picture (its run, then the datasets its browser fetches) more than the warm-up needs
    them for the pictures of roles and pages nobody has opened yet (one GIL)."""
    deadline = time.monotonic() + limit_s
    with _activity:
        while (left := deadline - time.monotonic()) > 0:
            if _active[0]:
                _activity.wait(left)
                continue
            quiet = _active[1] + quiet_s - time.monotonic()
            if quiet <= 0:
                return
            _activity.wait(min(quiet, left))


def serving() -> bool:
    """Whether the data route is mounted (the server was started from ``app.py``)."""
    return _serving.is_set()


def remove_data_folder() -> None:
    """Remove the datasets (the server stops; a new one writes its own)."""
    with _lock:
        for folder in _folder:
            shutil.rmtree(folder, ignore_errors=True)
        _folder.clear()
    publisher_for.cache_clear()


@cache
def publisher_for(role: Role) -> Publisher:
    """The publisher of what is made for ``role``: shared by all its sessions, so each
    version is written once per role."""
    from dashboard.common import kept_store  # noqa: PLC0415 - common imports this module

    return Publisher(data_folder() / role.value, f"{URL}/{role.value}", kept=kept_store())


def serve(request: Request) -> Response:
    """One dataset, to whoever's role may read it; 403 (audited) to anyone else.

    Not async: finding the role may read the roles file and a refusal appends to the
    audit trail with fsync, so Starlette runs it in its thread pool, off the event loop
    that carries every session's websocket."""
    audience_name, name = request.path_params["audience"], request.path_params["name"]
    asker = request_viewer(request.headers, request.cookies, request.client)
    try:
        audience = Role(audience_name)
    except ValueError:
        return PlainTextResponse("Not found.", status_code=404)
    if asker.role is None or not may_read(asker.role, audience):
        asker.refused(request.url.path)
        return PlainTextResponse(
            "Not allowed: your sign-in does not give you this data.", status_code=403
        )
    path = data_folder() / audience.value / name
    if not NAME.fullmatch(name) or not path.is_file():
        return PlainTextResponse("Not found (the data has changed since).", status_code=404)
    headers = {
        "Cache-Control": CACHING,
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    compressed = gzipped(path)
    sent = BackgroundTask(_ended)  # a browser still loading: the warm-up waits
    if "gzip" in request.headers.get("accept-encoding", "") and compressed.is_file():
        # Compressed once as it was published; Streamlit's gzip leaves it as it is.
        headers["Content-Encoding"] = "gzip"
        return FileResponse(
            compressed, media_type="application/json", headers=headers, background=sent
        )
    return FileResponse(path, media_type="application/json", headers=headers, background=sent)


class Assets(StaticFiles):
    """The files of ``dashboard/static`` (Leaflet, Supercluster, pollwatch.js...). Asked
    for with a version (``?v=``) a file never changes: browsers keep it for good. Without,
    they check it each time (ETag, 304). Streamlit's own static route sends no caching
    header, so every page open asked again for each script, one after another."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = "v" in parse_qs(scope.get("query_string", b"").decode("latin-1"))
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if versioned else "no-cache"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


# A component's build files named by their content (streamlit-folium's main.<hash>.js,
# 225 kB), which Streamlit sends as "public" with no lifetime: fetched again on every
# page open.
HASHED_COMPONENT_FILE = re.compile(
    r"^/component/[^/]+/static/(?:js|css|media)/[^/]+\.[0-9a-f]{8}\.[A-Za-z0-9.]+$"
)


class KeepComponentFiles:
    """ASGI middleware: a component's content-named build files are kept by browsers for
    good (their name changes with their content)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not HASHED_COMPONENT_FILE.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return

        async def kept(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                headers.append((b"cache-control", b"public, max-age=31536000, immutable"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, kept)


MIDDLEWARE = [Middleware(KeepComponentFiles)]

ROUTES = [
    Route(URL + "/{audience}/{name}", serve, methods=["GET"]),
    Mount(STATIC_URL, app=Assets(directory=STATIC_DIR), name="pollwatch-static"),
]
