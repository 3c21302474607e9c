"""Hostile text in every text field of every feed and in every URL parameter: the browser
makes no outside request, runs nothing, and shows no link, image or formatting from data."""

from __future__ import annotations

import json
import urllib.parse
import zlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from browser import map_frame, offline_page, running_app, screenshot
from conftest import PROXY_HEADERS
from layers.analysis.filters import FILTERS
from layers.registry import REGISTRY

pytestmark = pytest.mark.browser

EVIL = "evil.test"  # any request to it is blocked and recorded by offline_page

PAYLOADS = [
    f'<img src="http://{EVIL}/img.png">',
    '<img src=x onerror="window.top.pwned=1">',
    "<script>window.top.pwned=2</script>",
    f"![logo](http://{EVIL}/markdown.png)",
    f"[click here](http://{EVIL}/markdown-link)",
    f'<a href="http://{EVIL}/a">link</a>',
    f"<http://{EVIL}/autolink>",
    f"http://{EVIL}/bare-url",
    "{{ 7*7 }}",
    "${7*7} #{7*7} <%= 7*7 %>",
    "{% for x in range(3) %}x{% endfor %}",
    '<svg onload="window.top.pwned=3"></svg>',
    f'<iframe src="http://{EVIL}/frame"></iframe>',
    f"<style>@import url(http://{EVIL}/style.css);</style>",
    f'<link rel="stylesheet" href="http://{EVIL}/link.css">',
    "javascript:window.top.pwned=4",
    "<b>bold</b> <i>italic</i> <br> <u>under</u>",
    "**bold** _italic_ ~~strike~~ `code`",
    "# Heading\n\n---\n> quote",
    ":red[red text] :material/warning: :rainbow[x]",
    "$x^2$ $$\\frac{1}{0}$$",
    "\u202eevil right-to-left\u202c and \u2066isolate\u2069",
    "zero\u200bwidth\u200d joiner \ufeff",
    "bell\x07 escape\x1b[31m red",
    f"<img src=//{EVIL}/protocol-relative.png>",
    f'<meta http-equiv="refresh" content="0;url=http://{EVIL}/refresh">',
    f'<object data="http://{EVIL}/object"></object>',
    f'<video src="http://{EVIL}/video.mp4" autoplay></video>',
    f'<base href="http://{EVIL}/">',
    f'"><img src="http://{EVIL}/attribute.png">',
    "';window.top.pwned=5;//",
    '<details open ontoggle="window.top.pwned=6">x</details>',
    f'=HYPERLINK("http://{EVIL}/sheet","click")',
    f"&lt;img src=http://{EVIL}/entity.png&gt;",
    f'<span style="background:url(http://{EVIL}/background.png)">styled</span>',
    "line one\nline two\r\nline three",
    "W" * 100_000,
]
URL_LIMIT = 2_000  # the long payload, shortened to fit a link

LINKING = {"convoy_id", "admin1", "name"}  # fields that join rows across feeds


def hostile_feeds(
    source: Path,
    target: Path,
    rows: int = len(PAYLOADS) + 5,
    payloads: Sequence[str] = PAYLOADS,
    kinds: tuple[str, ...] = ("text", "choice"),
    extras: bool = True,
) -> dict[str, int]:
    """The sample cut to a few rows per feed, with a payload before the value of every
    field of ``kinds`` in every row (row k: payload k; the same value gets the same payload
    in every feed where fields join rows: ids, area names); with ``extras``, a column whose
    name and values are payloads and a hostile scenario label. Returns the rows written per
    feed (and ``convoys``: the convoys with positions)."""

    def payload(k: int, value: str) -> str:
        return f"{payloads[k % len(payloads)]} {value}"

    def linked(value: str) -> str:
        return payload(zlib.crc32(value.encode()), value)

    written: dict[str, int] = {}
    keep_convoys: set[str] = set()
    for name, layer in REGISTRY.items():
        fields = {f.name for f in layer.SPEC.fields if f.kind in kinds}
        path = next(source.glob(f"{name}.*"))
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            if name == "convoy_positions":
                frame = frame[frame["convoy_id"].isin(keep_convoys)]
                written["convoys"] = frame["convoy_id"].nunique()
            elif name == "incidents":
                frame = frame.sort_values("time").tail(rows)
            else:
                frame = frame.head(rows)
            for column in fields & set(frame.columns):
                frame[column] = (
                    frame[column].map(linked)
                    if column in LINKING
                    else pd.Series(
                        [payload(k, v) for k, v in enumerate(frame[column])], index=frame.index
                    )
                )
            if extras:
                frame[payloads[0]] = [payloads[k % len(payloads)] for k in range(len(frame))]
            frame.to_csv(target / path.name, index=False)
            written[name] = len(frame)
        else:
            doc = json.loads(path.read_text())
            doc["features"] = doc["features"][:rows] if name != "areas" else doc["features"]
            for k, feature in enumerate(doc["features"]):
                props = feature["properties"]
                if name == "convoy_routes":
                    keep_convoys.add(props["convoy_id"])
                for column in fields & set(props):
                    value = str(props[column])
                    props[column] = linked(value) if column in LINKING else payload(k, value)
                if extras:
                    props[payloads[5 % len(payloads)]] = payloads[k % len(payloads)]
            (target / path.name).write_text(json.dumps(doc))
            written[name] = len(doc["features"])
    scenario = json.loads((source / "scenario.json").read_text())
    if extras:
        scenario["label"] = " ".join(payloads[:8]) + " " + scenario["label"]
    (target / "scenario.json").write_text(json.dumps(scenario))
    return written


def hostile_query() -> str:
    """Every URL parameter the pages read, and one they do not, each with every payload."""
    names = [*FILTERS, "from", "to", "unknown"]
    pairs = [(n, p[:URL_LIMIT]) for n in names for p in PAYLOADS]
    return urllib.parse.urlencode(pairs)


# Anything of the data's that became markup: elements or attributes naming the outside
# host, script-made marks, and links out, in this document and its frames.
INSPECT = f"""() => {{
    const found = [];
    for (const el of document.querySelectorAll('*')) {{
        for (const a of el.attributes) {{
            if (a.value.includes('{EVIL}') && a.name !== 'aria-label' && a.name !== 'title'
                && a.name !== 'value' && a.name !== 'data-unformatted') {{
                const box = el.closest('[data-testid]');
                found.push((box ? box.dataset.testid + ' ' : '') + el.tagName + ' ' + a.name
                           + '=' + a.value.slice(0, 80));
            }}
            if (a.name.startsWith('on') && String(a.value).includes('pwned')) {{
                found.push(el.tagName + ' ' + a.name);
            }}
        }}
        if (['SCRIPT', 'STYLE'].includes(el.tagName) && el.textContent.includes('pwned')
            && !el.textContent.includes('\\\\u003c')) {{
            found.push(el.tagName + ' with payload text');
        }}
    }}
    return {{pwned: window.pwned === undefined ? null : window.pwned, found: found,
            text: document.body ? document.body.innerText.length : 0}};
}}"""

OPEN_EXPANDERS = """() => { document.querySelectorAll('[data-testid="stExpander"] summary')
    .forEach(s => { if (!s.parentElement.open) s.click(); }); }"""


def inspect_everything(page) -> list[str]:  # type: ignore[no-untyped-def]
    """What INSPECT finds in the page and each of its frames, with where."""
    problems = []
    for frame in page.frames:
        try:
            seen = frame.evaluate(INSPECT)
        except Exception:  # noqa: BLE001 - a frame that went away while we looked
            continue
        if seen["pwned"] is not None:
            problems.append(f"{frame.url[:60]}: ran a payload ({seen['pwned']})")
        problems += [f"{frame.url[:60]}: {f}" for f in seen["found"]]
    return problems


def test_hostile_text_in_every_feed_field_and_url_parameter_stays_text(
    tmp_path: Path, sample_folder: Path
) -> None:
    from test_browser import OPEN_EVERYTHING, READY

    hostile_feeds(sample_folder, tmp_path)
    query = hostile_query()
    env = {"POLLWATCH_FEEDS": str(tmp_path), "POLLWATCH_TILES": "none"}
    with running_app(env) as url, offline_page() as (page, blocked):
        found: list[str] = []
        page.goto(f"{url}/?{query}")
        frame = map_frame(page)
        frame.wait_for_function(READY, timeout=90_000)
        page.get_by_text("Not in the data").first.wait_for(timeout=90_000)
        page.evaluate(OPEN_EXPANDERS)
        page.wait_for_timeout(1500)
        opened = frame.evaluate(OPEN_EVERYTHING)
        assert opened["popups"] > 0 and opened["tooltips"] > 0
        assert opened.get("html", 0) == 0 and opened["pwned"] is None
        assert any("<img src=" in t for t in opened["texts"])  # the payloads, as text
        body = page.locator("body").inner_text()
        assert "<script>window.top.pwned=2</script>" in body or "pwned=2" in body
        found += inspect_everything(page)
        screenshot(page, "hostile_operations.png")
        for path in ("coverage", "feeds"):
            page.goto(f"{url}/{path}?{query}")
            page.locator('[data-testid="stMainBlockContainer"]').get_by_text(
                "Feed problems"
            ).first.wait_for(timeout=90_000)
            page.evaluate(OPEN_EXPANDERS)
            page.wait_for_timeout(2000)
            found += inspect_everything(page)
            screenshot(page, f"hostile_{path}.png")
        page.goto(f"{url}/logistics?{query}")
        page.get_by_text("Stations with everything").first.wait_for(timeout=90_000)
        page.get_by_role("tab", name="Training").click()
        page.wait_for_timeout(2000)
        found += inspect_everything(page)
        screenshot(page, "hostile_logistics.png")
        # the wall view: its ticker, chips and clock zone are HTML of our own making
        tz = urllib.parse.quote(PAYLOADS[1])
        page.goto(f"{url}/?view=wall&tz={tz}&{query}")
        page.locator(".pw-ticker").wait_for(timeout=90_000)
        page.wait_for_timeout(3000)
        found += inspect_everything(page)
        wall_text = page.locator("body").inner_text()
        assert "Unknown time zone" in wall_text and "onerror" in wall_text  # shown as text
        screenshot(page, "hostile_wall.png")
    outside = [u for u in blocked if EVIL in u or not u.startswith("data:")]
    assert outside == [], outside[:10]
    assert found == [], found[:10]


ROLE_PAGES = {"commission": ["", "coverage", "logistics"], "partner": [""]}


def test_hostile_text_stays_text_for_the_commission_and_the_partner(
    tmp_path: Path, sample_folder: Path
) -> None:
    """The same feeds and links, seen by the other roles (signed in by proxy headers)."""
    (tmp_path / "feeds").mkdir()
    hostile_feeds(sample_folder, tmp_path / "feeds")
    roles = tmp_path / "roles.toml"
    roles.write_text('[groups]\n"nec-gis" = "commission"\n"eu-eom" = "partner"\n')
    query = hostile_query()
    env = {
        "POLLWATCH_FEEDS": str(tmp_path / "feeds"),
        "POLLWATCH_TILES": "none",
        "POLLWATCH_ROLES": str(roles),
        "STREAMLIT_SERVER_TRUSTED_USER_HEADERS": json.dumps(PROXY_HEADERS),
    }
    found: list[str] = []
    with running_app(env, 120) as url, offline_page() as (page, blocked):
        for role, paths in ROLE_PAGES.items():
            group = "nec-gis" if role == "commission" else "eu-eom"
            page.set_extra_http_headers(
                {"X-Remote-User": f"{role}@x.example", "X-Remote-Groups": group}
            )
            for path in paths:
                page.goto(f"{url}/{path}?{query}")
                page.get_by_text(f"Signed in as {role}@x.example").wait_for(timeout=90_000)
                if path == "logistics":  # no map: its tables and charts
                    page.get_by_text("Stations with everything").first.wait_for(timeout=90_000)
                else:
                    map_frame(page, 90_000)
                page.evaluate(OPEN_EXPANDERS)
                page.wait_for_timeout(2500)
                found += [f"{role} /{path}: {f}" for f in inspect_everything(page)]
                screenshot(page, f"hostile_{role}_{path or 'home'}.png")
    outside = [u for u in blocked if EVIL in u or not u.startswith("data:")]
    assert outside == [], outside[:10]
    assert found == [], found[:10]
