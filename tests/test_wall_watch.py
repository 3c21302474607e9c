"""The wall's watch (dashboard/static/pollwatch/wall.js) in Chromium: a picture that stops
changing says NOT UPDATING, a server that stops answering says RECONNECTING, and both go
when things are well again.

The watch is our own script; here it runs on a small page of the same shape as the wall
(the picture's time in #pollwatch-picture, the script in a frame of its own) served by a
server whose health check the test controls, with the stale limit at 2 s instead of the
wall's 3 minutes. The wall's own reconnect is tests/test_wall_browser.py's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser import offline_page
from conftest import ROOT

pytestmark = pytest.mark.browser

WALL_JS = (ROOT / "dashboard" / "static" / "pollwatch" / "wall.js").read_bytes()
PAGE = b"""<!doctype html><html><body>
<span id="pollwatch-picture" data-at="2026-12-06T08:00:00+00:00" hidden></span>
<iframe srcdoc='<script src="/wall.js" data-stale-after="2"></script>'></iframe>
</body></html>"""
BANNER = "() => (document.getElementById('pollwatch-offline') || {}).textContent || ''"


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, int]]]:
    """The page, wall.js and a health check answering ``state['health']``."""
    state = {"health": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = self.path.split("?")[0]
            if path == "/_stcore/health":
                code, body, kind = state["health"], b"ok", "text/plain"
            elif path == "/wall.js":
                code, body, kind = 200, WALL_JS, "text/javascript"
            else:
                code, body, kind = 200, PAGE, "text/html"
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        httpd.shutdown()


def test_a_picture_that_stops_changing_or_a_server_that_stops_answering_is_said(
    server: tuple[str, dict[str, int]],
) -> None:
    url, state = server
    with offline_page() as (page, blocked):
        page.goto(url)
        page.wait_for_timeout(1500)
        assert page.evaluate(BANNER) == ""  # fresh: nothing over the picture
        page.wait_for_function(f"() => ({BANNER})().startsWith('NOT UPDATING')", timeout=15_000)
        assert "The picture of 08:00 UTC has not changed" in page.evaluate(BANNER)
        # A new picture: the banner goes at the next look.
        page.evaluate(
            "() => { document.getElementById('pollwatch-picture').dataset.at ="
            " '2026-12-06T08:01:00+00:00'; }"
        )
        page.wait_for_function(f"() => ({BANNER})() === ''", timeout=10_000)
        # The server stops answering: RECONNECTING, whatever the picture does.
        state["health"] = 503
        page.wait_for_function(f"() => ({BANNER})().startsWith('RECONNECTING')", timeout=15_000)
        assert "The picture of 08:01 UTC is not live." in page.evaluate(BANNER)
        state["health"] = 200
        page.evaluate(
            "() => { document.getElementById('pollwatch-picture').dataset.at ="
            " '2026-12-06T08:02:00+00:00'; }"
        )
        page.wait_for_function(f"() => ({BANNER})() === ''", timeout=10_000)
        assert page.evaluate("() => document.getElementById('pollwatch-offline')") is None
        assert blocked == []
