"""The After-action page as a person uses it: the day's figures as the review computes
them, a serious incident's Replay link opening the Operations page at its time, and the
PDF downloaded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from browser import offline_page, running_app, screenshot
from conftest import history_of_a_day
from layers.core.settings import Settings
from layers.replay import review_of

pytestmark = pytest.mark.browser

START = pd.Timestamp("2026-11-29T05:00:00Z")


def test_the_review_page_shows_the_days_figures_links_to_the_replay_and_gives_a_pdf(
    tmp_path: Path,
) -> None:
    sim, _ = history_of_a_day(tmp_path, START, 30, 1200)  # 05:00 to 15:00
    env = {"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": str(tmp_path)}
    expected = review_of(Settings.from_env(env), dt.date(2026, 11, 29), pd.Timestamp.now("UTC"))
    assert expected is not None
    figures = dict(expected.figures)
    with running_app(env, timeout=120) as url, offline_page(1500, 1100) as (page, blocked):
        page.goto(f"{url}/review?day=2026-11-29")
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="Serious within")
        metric.first.wait_for(timeout=120_000)
        shown = metric.first.locator('[data-testid="stMetricValue"]').inner_text()
        assert shown == figures["Serious within a patrol's radius"]
        incidents = page.locator('[data-testid="stMetric"]').filter(has_text="Incidents").first
        assert (
            incidents.locator('[data-testid="stMetricValue"]').inner_text()
            == (figures["Incidents"])
        )
        screenshot(page, "review.png")
        with page.expect_download(timeout=120_000) as made:
            page.get_by_role("button", name="Download the review (PDF)").click()
        pdf = Path(made.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
        assert made.value.suggested_filename == "after-action-20261129.pdf"
        # The first serious incident the history holds: the Operations page at its time.
        first = expected.serious[expected.serious["patrol"].notna()].iloc[0]
        with page.context.expect_page(timeout=30_000) as opened:
            page.get_by_role("link", name="Open the replay at").first.click()
        replay = opened.value
        banner = replay.locator('[data-testid="stAlert"]').filter(has_text="REPLAY").first
        banner.wait_for(timeout=120_000)
        assert f"{first['time']:%d %b %Y %H:%M:%S}" in banner.inner_text()
        assert "at=" in replay.url
    assert blocked == []
