"""The map as a person sees it: Debian's Chromium, no internet, the sample scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import map_frame, offline_page, running_app, screenshot

pytestmark = pytest.mark.browser

COUNT_MARKERS = """(prefix) => {
    let n = 0;
    map.eachLayer((layer) => {
        const id = layer.feature && layer.feature.properties && layer.feature.properties.id;
        if (layer instanceof L.CircleMarker && typeof id === "string" && id.startsWith(prefix)) n++;
    });
    return n;
}"""


def test_map_draws_every_layer_offline(sample_folder: Path) -> None:
    with (
        running_app({"POLLWATCH_FEEDS": str(sample_folder)}) as url,
        offline_page() as (page, blocked),
    ):
        page.goto(url)
        frame = map_frame(page)
        frame.wait_for_function("() => typeof map !== 'undefined' && map._loaded === true")
        frame.wait_for_function(f"() => ({COUNT_MARKERS})('LR-') > 0")
        assert frame.evaluate(COUNT_MARKERS, "LR-") == 4_500  # every station
        assert frame.evaluate(COUNT_MARKERS, "INC-") == 600
        assert frame.evaluate(COUNT_MARKERS, "B0") == 60
        overlays = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        assert [o.strip() for o in overlays] == [
            "Areas",
            "Patrol coverage",
            "Convoy routes",
            "Polling stations",
            "Incidents",
            "Convoys (latest position)",
        ]
        page.get_by_text("SYNTHETIC EXERCISE DATA").wait_for()
        # Only basemap tiles were wanted from outside; Leaflet itself came from the app.
        assert blocked and all("tile.openstreetmap.org" in u for u in blocked), blocked[:5]
        shot = screenshot(page, "map_offline.png")
        assert shot.stat().st_size > 20_000


def test_popup_shows_feed_text_as_text(tmp_path: Path, sample_folder: Path) -> None:
    for path in sample_folder.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    payload = '<img src=x onerror="window.pwned=1">'
    lines = (tmp_path / "polling_stations.csv").read_text().splitlines()
    first = lines[1].split(",")
    first[1] = '"' + payload.replace('"', '""') + '"'
    lines[1] = ",".join(first)
    (tmp_path / "polling_stations.csv").write_text("\n".join(lines) + "\n")
    station_id = first[0]
    with (
        running_app({"POLLWATCH_FEEDS": str(tmp_path), "POLLWATCH_TILES": "none"}) as url,
        offline_page() as (page, _),
    ):
        page.goto(url)
        frame = map_frame(page)
        frame.wait_for_function(f"() => ({COUNT_MARKERS})('LR-') > 0")
        text = frame.evaluate(
            """(id) => {
            let found = null;
            map.eachLayer((layer) => {
                if (layer.feature && layer.feature.properties.id === id) found = layer;
            });
            found.openPopup();
            found.openTooltip();
            const popup = document.querySelector('.leaflet-popup-content');
            const tooltip = document.querySelector('.leaflet-tooltip');
            return [popup.textContent, tooltip.textContent,
                    popup.querySelectorAll('img').length + tooltip.querySelectorAll('img').length];
        }""",
            station_id,
        )
        assert payload in text[0] and text[1] == payload and text[2] == 0
        page.wait_for_timeout(500)
        assert frame.evaluate("() => window.pwned === undefined")
        screenshot(page, "popup_text_only.png")
