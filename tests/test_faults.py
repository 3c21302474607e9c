"""Faults a shared drive makes, against the running app in a browser: each is shown within
one refresh, no page fails, no good row goes missing, and the picture recovers by itself."""

from __future__ import annotations

import codecs
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from browser import map_frame, offline_page, running_app, screenshot
from layers.exercise.simulator import Simulator
from layers.io.files import write_atomic

pytestmark = pytest.mark.browser

REFRESH_S = 2
SHOWN_WITHIN_S = REFRESH_S + 6  # one refresh, plus a rerun of the page on this machine
INCIDENT = "INC-F{n:09d},{time},Protest,low,0,fault test,Test,False,Bong,6.9{n:04d},-9.5\n"

ROWS = """() => { const l = pollwatch.layers.incidents;
    return l && l.ready ? l.stats().rows : null; }"""
BANNER = """() => [...document.querySelectorAll('[data-testid="stAlertContentWarning"]')]
    .map(e => e.innerText.replace(/\u2060/g, '')).filter(t => t.includes('Feeds:')).join(' ')"""
PROBLEMS = """() => { for (const s of document.querySelectorAll('summary')) {
        const m = s.innerText.match(/Feed problems:\\s*([\\d,]+)/);
        if (m) return parseInt(m[1].replace(/,/g, ''));
    } return null; }"""
FAILED = """() => document.querySelectorAll('[data-testid="stException"]').length"""


@dataclass
class Screen:
    """The operations page, as the test reads it."""

    page: object
    folder: Path

    def frame(self):  # type: ignore[no-untyped-def]
        return map_frame(self.page)

    def rows(self) -> int | None:
        try:
            return self.frame().evaluate(ROWS)
        except Exception:  # noqa: BLE001 - the map is being replaced
            return None

    def banner(self) -> str:
        return self.page.evaluate(BANNER)  # type: ignore[attr-defined]

    def problems(self) -> int | None:
        return self.page.evaluate(PROBLEMS)  # type: ignore[attr-defined]

    def exceptions(self) -> int:
        return self.page.evaluate(FAILED)  # type: ignore[attr-defined]

    def wait(self, what: Callable[[], bool], within: float, why: str) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < within:
            if what():
                return time.monotonic() - t0
            time.sleep(0.2)
        raise AssertionError(f"not within {within:g} s: {why}; banner: {self.banner()!r}")


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screen]:
    folder = tmp_path_factory.mktemp("faults")
    Simulator(folder)
    env = {
        "POLLWATCH_FEEDS": str(folder),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_REFRESH_S": str(REFRESH_S),
        "POLLWATCH_SETTLE_S": "0.5",
        "POLLWATCH_HOLD_S": "3600",
    }
    with running_app(env) as url, offline_page() as (page, _):
        page.goto(url + "/?window=7d")
        screen = Screen(page, folder)
        screen.frame().wait_for_function(ROWS, timeout=90_000)
        yield screen
        assert screen.exceptions() == 0


class Feed:
    """incidents.csv of the screen's folder: its good text, and one more row at a time
    (ids go on from test to test: a repeated id would be left out, rightly)."""

    serial = itertools.count(1)

    def __init__(self, screen: Screen):
        self.path = screen.folder / "incidents.csv"
        self.good = self.path.read_text()
        self.n = next(self.serial) * 10_000_000

    def grow(self) -> int:
        """Append a good row (atomically, as a proper writer does); the rows now in it."""
        self.n += 1
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.good += INCIDENT.format(n=self.n, time=when)
        write_atomic(self.path, self.good)
        return self.good.count("\n") - 1


def settle_on(screen: Screen, feed: Feed) -> int:
    """A good new version, shown: the rows it has."""
    rows = feed.grow()
    screen.wait(lambda: screen.rows() == rows, SHOWN_WITHIN_S + 4, f"{rows} rows shown")
    screen.wait(lambda: "Incidents" not in screen.banner(), SHOWN_WITHIN_S, "banner gone")
    return rows


def cut_at_line_end(text: str) -> bytes:
    return text[: text.index("\n", len(text) // 2) + 1].encode()


def cut_in_last_field(text: str) -> bytes:
    return text[:-4].encode()


def utf16_without_bom(text: str) -> bytes:
    return text.encode("utf-16-le")


def random_bytes(text: str) -> bytes:
    return os.urandom(1_000_000)


def huge_cell(text: str) -> bytes:
    lines = text.splitlines(keepends=True)
    return "".join([*lines[:-1], lines[-1].replace("fault test", "x" * 200_000)]).encode()


# fault name -> (new contents from the good text, what the banner or problems must show)
CONTENT_FAULTS: dict[str, tuple[Callable[[str], bytes], str]] = {
    "cut at a line end": (cut_at_line_end, "shrank from"),
    "empty": (lambda text: b"", "the file is empty"),
    "random bytes": (random_bytes, "not a text file"),
    "huge cell": (huge_cell, "cannot be read as CSV"),
    "only a header": (lambda text: text.splitlines(keepends=True)[0].encode(), "shrank from"),
    "rows changed under the screen": (
        lambda text: text.replace(",-9.5\n", ",-9.0\n", 1).encode(),
        "changed 1 of the",
    ),
}


# A screen switched on during a fault is checked for one fault of each way a version is
# kept back (cannot be read; lost rows; rows changed): the others take one of these ways.
LATE_SCREEN = ("random bytes", "only a header", "rows changed under the screen")


@pytest.mark.parametrize("fault", list(CONTENT_FAULTS))
def test_a_bad_incidents_file_is_shown_and_recovers(screen: Screen, fault: str) -> None:
    feed = Feed(screen)
    good_rows = settle_on(screen, feed)
    spoil, expected = CONTENT_FAULTS[fault]
    write_atomic(feed.path, spoil(feed.good))
    took = screen.wait(lambda: expected in screen.banner(), SHOWN_WITHIN_S, expected)
    assert screen.rows() == good_rows, "no good row may go missing"
    assert screen.exceptions() == 0
    if fault not in LATE_SCREEN:
        recovered = settle_on(screen, feed)  # recovery: the next good file shows by itself
        assert recovered == good_rows + 1 and screen.exceptions() == 0
        print(f"{fault}: shown after {took:.1f} s")
        return
    # A screen switched on during the fault shows the last good copy, and says why.
    late = Screen(screen.page.context.new_page(), screen.folder)  # type: ignore[attr-defined]
    late.page.goto(screen.page.url)  # type: ignore[attr-defined]
    late.wait(lambda: late.rows() == good_rows, 60, "the last good copy on a new screen")
    late.wait(lambda: expected in late.banner(), SHOWN_WITHIN_S, expected)
    recovered = settle_on(screen, feed)  # recovery: the next good file shows by itself
    late.wait(lambda: late.rows() == recovered, SHOWN_WITHIN_S, "the new screen recovers")
    assert screen.exceptions() == 0 and late.exceptions() == 0
    late.page.close()  # type: ignore[attr-defined]
    print(f"{fault}: shown after {took:.1f} s")


def test_a_row_cut_inside_its_last_field_is_never_shown_as_values(screen: Screen) -> None:
    feed = Feed(screen)
    good_rows = settle_on(screen, feed)
    before = screen.problems()
    feed.n += 1
    row = INCIDENT.format(n=feed.n, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    write_atomic(feed.path, feed.good + row[:-3])  # the longitude loses its last digits
    screen.wait(lambda: (screen.problems() or 0) > (before or 0), SHOWN_WITHIN_S, "reported")
    assert screen.rows() == good_rows and screen.exceptions() == 0
    feed.good += row
    write_atomic(feed.path, feed.good)  # the writer ends the line
    screen.wait(lambda: screen.rows() == good_rows + 1, SHOWN_WITHIN_S, "the whole row")
    lon = screen.frame().evaluate(
        "() => { const d = pollwatch.layers.incidents.data; return d.x[d.n - 1]; }"
    )
    assert lon == pytest.approx(-9.5)


def test_a_file_rewritten_in_place_never_shows_a_partial_copy(screen: Screen) -> None:
    feed = Feed(screen)
    good_rows = settle_on(screen, feed)
    feed.n += 1
    feed.good += INCIDENT.format(n=feed.n, time=time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    data = feed.good.encode()
    seen: list[int | None] = []
    done = threading.Event()

    def rewrite() -> None:  # truncate, then write in pieces, again and again (not atomic)
        for _ in range(6):
            with open(feed.path, "wb") as fh:
                for start in range(0, len(data), 8192):
                    fh.write(data[start : start + 8192])
                    fh.flush()
                    time.sleep(0.01)
        done.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    while not done.is_set():
        seen.append(screen.rows())
        time.sleep(0.1)
    writer.join()
    assert all(n is None or n >= good_rows for n in seen), sorted(set(seen))
    screen.wait(lambda: screen.rows() == good_rows + 1, SHOWN_WITHIN_S + 4, "the whole file")
    screen.wait(lambda: "Incidents" not in screen.banner(), SHOWN_WITHIN_S, "banner gone")
    assert screen.exceptions() == 0


def test_a_deleted_and_an_unreadable_file_are_shown_and_recover(screen: Screen) -> None:
    feed = Feed(screen)
    good_rows = settle_on(screen, feed)
    feed.path.unlink()
    screen.wait(lambda: "Incidents" in screen.banner(), SHOWN_WITHIN_S, "deleted")
    assert screen.exceptions() == 0
    settle_on(screen, feed)
    good_rows = screen.rows()
    feed.path.unlink()
    if os.getuid() == 0:  # root reads any file: a file that fails with an I/O error instead
        feed.path.symlink_to("/proc/self/mem")
        expected = "could not be read"
    else:
        feed.path.write_text(feed.good)
        feed.path.chmod(0)
        expected = "Permission denied"
    screen.wait(lambda: expected in screen.banner(), SHOWN_WITHIN_S, expected)
    assert screen.rows() == good_rows and screen.exceptions() == 0
    feed.path.unlink()
    settle_on(screen, feed)


def test_other_encodings_are_read_and_reported(screen: Screen) -> None:
    feed = Feed(screen)
    settle_on(screen, feed)
    before = screen.problems() or 0
    feed.grow()
    write_atomic(feed.path, utf16_without_bom(feed.good))
    rows = feed.good.count("\n") - 1
    screen.wait(lambda: screen.rows() == rows, SHOWN_WITHIN_S, "UTF-16 without BOM read")
    feed.grow()
    write_atomic(feed.path, codecs.BOM_UTF8 + feed.good.encode("cp1252"))
    screen.wait(lambda: screen.rows() == rows + 1, SHOWN_WITHIN_S, "UTF-8 with BOM read")
    assert (screen.problems() or 0) >= before and screen.exceptions() == 0
    settle_on(screen, feed)


GEOJSON_FAULTS: dict[str, tuple[Callable[[dict], bytes], str]] = {
    "deep nesting": (lambda doc: b'{"type":"FeatureCollection","features":' + b"[" * 100_000, ""),
    "bad crs": (
        lambda doc: json.dumps({**doc, "crs": {"type": "name", "properties": "x"}}).encode(),
        "",
    ),
    "cut short": (lambda doc: json.dumps(doc).encode()[:-200], ""),
}


@pytest.mark.parametrize("fault", list(GEOJSON_FAULTS))
def test_a_bad_geojson_feed_keeps_its_last_good_copy(screen: Screen, fault: str) -> None:
    path = screen.folder / "convoy_routes.geojson"
    good = path.read_bytes()
    routes = "() => pollwatch.drawnFeatures.convoy_routes"
    drawn = screen.frame().evaluate(routes)
    write_atomic(path, GEOJSON_FAULTS[fault][0](json.loads(good)))
    screen.wait(lambda: "Convoy routes" in screen.banner(), SHOWN_WITHIN_S, fault)
    assert screen.frame().evaluate(routes) == drawn and screen.exceptions() == 0
    write_atomic(path, good + b"\n")  # the same routes again, as a new version
    screen.wait(lambda: "Convoy routes" not in screen.banner(), SHOWN_WITHIN_S, "recovered")
    assert screen.frame().evaluate(routes) == drawn
    screenshot(screen.page, "fault_recovered.png")


def test_a_million_rows_show_progress_keep_the_page_live_and_arrive(screen: Screen) -> None:
    feed = Feed(screen)
    good_rows = settle_on(screen, feed)
    rows = int(os.environ.get("POLLWATCH_TEST_BIG_ROWS", "1000000"))
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    big = "".join(INCIDENT.format(n=feed.n + 1 + k, time=when) for k in range(rows))
    feed.n += rows
    feed.good += big
    write_atomic(feed.path, feed.good)
    del big
    t0 = time.monotonic()
    progress = screen.page.locator('[data-testid="stAlertContentInfo"]').filter(
        has_text="incidents.csv:"
    )
    progress.first.wait_for(timeout=SHOWN_WITHIN_S * 1000)
    said = progress.first.inner_text().replace("\u2060", "")
    assert re.search(r"(Reading|Checking) incidents\.csv: [\d,]+ rows", said), said
    assert screen.rows() == good_rows and screen.exceptions() == 0  # the last good, live
    screen.wait(lambda: screen.rows() == good_rows + rows, 300, f"{good_rows + rows:,} incidents")
    print(f"{rows:,} rows: progress shown, all on the map after {time.monotonic() - t0:.0f} s")
    assert screen.exceptions() == 0
    screenshot(screen.page, "fault_million_rows.png")
