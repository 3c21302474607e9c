"""Briefing packs and map images, made in the browser as a user makes them, then read as a
recipient would: the text (pdftotext), the images (pdfimages), the metadata (pdfinfo).
A commission pack holds nothing only operations may see; an operations pack does (so the
check can find it). Signed in by a proxy's headers, as in test_role_bytes."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from browser import ARTIFACTS, map_frame, offline_page, running_app
from conftest import PROXY_PEOPLE, audit_events, proxied_env
from layers.analysis.changes import Moment, changes
from layers.views import pack

pytestmark = pytest.mark.browser

PEOPLE = PROXY_PEOPLE
MARKING = "RESTRICTED - EXERCISE BRIEFING"


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} (Debian's poppler-utils) is not installed")
    return found


@pytest.fixture(scope="module")
def audit_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit")


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("log") / "server.log"


@pytest.fixture(scope="module")
def app(
    sample_folder: Path,
    tmp_path_factory: pytest.TempPathFactory,
    audit_folder: Path,
    server_log: Path,
) -> Iterator[str]:
    env = {
        **proxied_env(sample_folder, audit_folder, tmp_path_factory),
        "POLLWATCH_MARKING": MARKING,
        "POLLWATCH_LOG": "info",  # says what each map image was drawn from
    }
    with running_app(env, 120, server_log) as url:
        yield url


def drawn_from(server_log: Path) -> list[str]:
    """The URLs the last map image was drawn from, as the server logged them."""
    said = [line for line in server_log.read_text().splitlines() if "map drawn from " in line]
    assert said, "no map image was drawn"
    return said[-1].split("map drawn from ", 1)[1].split()


def fetched(url: str, role: str) -> str:
    """``url``'s body as ``role`` gets it through the proxy."""
    who, groups = PEOPLE[role]
    request = urllib.request.Request(url, headers={"X-Remote-User": who, "X-Remote-Groups": groups})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def secrets(sample_folder: Path, operations_only: dict[str, list[str]]) -> dict[str, list[str]]:
    """What only operations may see, as text: unit names, cargo, convoys, base positions."""
    bases = gpd.read_file(sample_folder / "patrols.geojson")
    return {
        **operations_only,
        "base position": [
            f"{v:.4f}" for p in bases.geometry.representative_point() for v in (p.x, p.y)
        ],
    }


def made(
    url: str, role: str, button: str, map_size: str | None = None, path: str = "/?window=7d"
) -> tuple[str, bytes, dict[str, str]]:
    """Make a file with ``button`` in the operations page's pack panel as ``role`` (the map
    image at ``map_size``); the file's name and bytes, and the headline figures shown."""
    from playwright.sync_api import expect

    who, groups = PEOPLE[role]
    with offline_page(1400, 1000) as (page, blocked):
        page.set_extra_http_headers({"X-Remote-User": who, "X-Remote-Groups": groups})
        page.goto(url + path)
        map_frame(page)
        page.get_by_text("Briefing pack and map image").click()
        if map_size is not None:
            page.get_by_text(map_size, exact=True).click()
            # chosen, not only shown: a click on the button before sends the old size
            expect(page.get_by_role("radio", name=map_size)).to_be_checked(timeout=30_000)
        page.get_by_role("button", name=button).click()
        page.get_by_role("button", name=re.compile(r"^Download (briefing|map)-")).wait_for(
            timeout=90_000
        )
        with page.expect_download() as download:
            page.get_by_role("button", name=re.compile(r"^Download (briefing|map)-")).click()
        data = Path(download.value.path()).read_bytes()
        name = download.value.suggested_filename
        metrics = dict(
            zip(
                page.locator('[data-testid="stMetricLabel"]').all_inner_texts(),
                page.locator('[data-testid="stMetricValue"]').all_inner_texts(),
                strict=True,
            )
        )
        assert blocked == [], blocked
    return name, data, metrics


def pdf_text(data: bytes, tmp_path: Path) -> list[str]:
    """The text of each page."""
    path = tmp_path / "pack.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        [poppler("pdftotext"), "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    return out.split("\f")[:-1]


def pdf_images(data: bytes, tmp_path: Path) -> list[Path]:
    path = tmp_path / "pack.pdf"
    path.write_bytes(data)
    subprocess.run([poppler("pdfimages"), "-png", str(path), str(tmp_path / "img")], check=True)
    return sorted(tmp_path.glob("img-*.png"))


def pdf_info(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "pack.pdf"
    path.write_bytes(data)
    return subprocess.run(
        [poppler("pdfinfo"), str(path)], capture_output=True, check=True
    ).stdout.decode()


def look(data: bytes, name: str, tmp_path: Path) -> None:
    """Each page as PNG in artifacts/, to look at."""
    path = tmp_path / "look.pdf"
    path.write_bytes(data)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(
        [poppler("pdftoppm"), "-r", "60", "-png", str(path), str(ARTIFACTS / name)], check=True
    )


def test_an_operations_pack_holds_the_view_as_the_screen_shows_it(
    app: str,
    tmp_path: Path,
    secrets: dict[str, list[str]],
    audit_folder: Path,
    server_log: Path,
) -> None:
    from PIL import Image, ImageStat

    name, data, metrics = made(app, "operations", "Make the briefing pack (PDF)")
    assert name.startswith("briefing-operations-") and name.endswith(".pdf")
    look(data, "pack-operations", tmp_path)
    pages = pdf_text(data, tmp_path)
    assert len(pages) >= 4
    assert all(MARKING in p for p in pages)  # the marking heads every page
    assert all(f"Page {n}" in p for n, p in enumerate(pages, 1))
    text = "\n".join(pages)
    assert "SYNTHETIC EXERCISE DATA" in text and "ops@m.example (operations)" in text
    for label, value in metrics.items():  # the screen's figures, the same in the pack
        assert label in text and value in text, (label, value)
    for kind in ("unit", "cargo", "convoy"):  # the operations pack names what it shows
        assert any(v in text for v in secrets[kind]), kind
    info = pdf_info(data, tmp_path)
    assert MARKING in info and "ops@m.example" in info
    images = [Image.open(p) for p in pdf_images(data, tmp_path)]
    the_map = max(images, key=lambda i: i.width * i.height)
    # about 25 cm wide on the page: at least 200 dpi
    assert the_map.width >= 200 * 25 / 2.54, the_map.size
    spread = ImageStat.Stat(the_map.convert("L")).stddev[0]
    assert spread > 10, f"the map image is blank (stddev {spread:.1f})"
    drawn = "".join(  # the check of the other roles' map images can fail: here it finds them
        fetched(app + u, "operations")
        for u in drawn_from(server_log)
        if u.startswith("/pollwatch/data/operations/")
    )
    assert all(any(v in drawn for v in secrets[kind]) for kind in ("unit", "convoy"))
    exports = [e for e in audit_events(audit_folder) if e["event"] == "export"]
    assert exports[-1]["detail"] == {"file": name, "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize(
    ("role", "path"),
    [("commission", "/?window=7d"), ("commission", "/coverage"), ("partner", "/")],
)
def test_a_commission_or_partner_pack_holds_nothing_only_operations_may_see(
    role: str,
    path: str,
    app: str,
    tmp_path: Path,
    secrets: dict[str, list[str]],
    server_log: Path,
) -> None:
    name, data, metrics = made(app, role, "Make the briefing pack (PDF)", path=path)
    look(data, f"pack-{role}{path.split('?')[0].replace('/', '-')}", tmp_path)
    text = "\n".join(pdf_text(data, tmp_path)) + pdf_info(data, tmp_path)
    assert f"{PEOPLE[role][0]} (" in text and name.startswith(f"briefing-{role}-")
    for label, value in metrics.items():
        assert label in text and value in text, (label, value)
    for kind, values in secrets.items():
        leaked = [v for v in values if v in text]
        assert leaked == [], f"the commission's pack holds {kind}: {leaked[:3]}"
    assert "Convoys en route" not in text and "Patrol" not in text
    assert pdf_images(data, tmp_path)  # its map is there
    # The map image is drawn only from the role's own datasets (and the page's scripts),
    # and they hold no unit, cargo or convoy (their numbers are scanned byte by byte in
    # test_role_bytes: a base's position to 4 places is also some station's here).
    sources = drawn_from(server_log)
    data_urls = [u for u in sources if u.startswith("/pollwatch/data/")]
    assert all(u.startswith(f"/pollwatch/data/{role}/") for u in data_urls)
    assert data_urls or role == "partner"  # the partner's map is areas only, drawn inline
    assert all(
        u.startswith(("/pollwatch/data/", "/pollwatch/static/", "/snapshot/")) for u in sources
    )
    drawn = "".join(fetched(app + u, role) for u in data_urls)
    for kind in ("unit", "cargo", "convoy"):
        leaked = [v for v in secrets[kind] if v in drawn]
        assert leaked == [], f"the {role}'s map image was drawn from {kind}: {leaked[:3]}"


def test_a_map_image_for_slides_at_4k(app: str, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    name, data, _ = made(app, "commission", "Make the map image (PNG)", "3840 x 2160")
    image = Image.open(io.BytesIO(data))
    assert name.endswith("-3840x2160.png") and image.size == (3840, 2160)
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 10
    image.save(ARTIFACTS / "map-image-commission.png")


def test_what_changed_since_the_last_pack() -> None:
    t = pd.Timestamp("2026-11-30 10:00", tz="UTC")
    before = Moment(
        t, {"I1": "Bong"}, frozenset({"S1", "S2"}), frozenset({"S3"}), {"C1": ("en route", "")}
    )
    now = Moment(
        t + pd.Timedelta(hours=2),
        {"I1": "Bong", "I2": "Lofa", "I3": "Lofa"},
        frozenset({"S1", "S3"}),
        frozenset({"S2"}),
        {"C1": ("arrived", ""), "C2": ("delayed", "overdue")},
    )
    since = Moment.incidents_at(
        {
            "incidents": pd.DataFrame(
                {"id": ["I1", "I2"], "area": ["Bong", "Lofa"], "time": [t, now.time]}
            )
        },
        t + pd.Timedelta(hours=1),
    )
    assert changes(since, now) == ["2 new incidents: Lofa 2."]  # nothing of cover or convoys
    said = changes(before, now)
    assert said[0] == "2 new incidents: Lofa 2."
    assert "Stations that lost patrol cover: 1 (S2)." in said
    assert "Stations that gained patrol cover: 1 (S3)." in said
    assert "Convoys arrived: 1 (C1)." in said and "Convoys with a new alert: 1 (C2)." in said


def test_feed_text_in_a_pack_is_text(tmp_path: Path) -> None:
    hostile = '<font color="red">x</font><a href="http://evil.example">y</a> & <b>'
    made_pdf = pack.pdf(
        pack.Pack(
            title=hostile,
            marking=pack.MARKING,
            made_by="tester (operations)",
            picture_time="30 Nov 2026 10:00 UTC",
            view=hostile,
            figures=[("Incidents", hostile)],
            feeds=pd.DataFrame({"feed": [hostile]}),
            areas=pd.DataFrame({"area": [hostile], "stations": [3]}),
            changes=[hostile],
            changes_since=hostile,
        ),
        "Letter",
    )
    text = "\n".join(pdf_text(made_pdf, tmp_path))
    assert text.count('<a href="http://evil.example">') >= 4
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(made_pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (792, 612)  # Letter, landscape
    assert not any("/URI" in str(p.get("/Annots", "")) for p in reader.pages)  # no link
