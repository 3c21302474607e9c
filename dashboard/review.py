"""The After-action page (operations only): one day reviewed from the history store, on
the page and as a PDF; each serious incident links to the replay of its time."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pandas as pd
import streamlit as st

from dashboard.access import audited_export, viewer, who_line
from dashboard.common import current_scene, log_run, plain, show_banner
from layers.access.policy import may
from layers.analysis.after_action import Review
from layers.core.settings import Settings
from layers.io.history import HistoryError
from layers.replay import days_kept, review_of
from layers.views import charts
from layers.views import review as review_views
from layers.views.chart_images import ChartsFailed, chart_pngs

REVIEWS = logging.getLogger("pollwatch.review")


def page() -> None:
    started = time.perf_counter()
    settings, scene = current_scene()
    st.title("After-action review")
    me = viewer()
    who_line(me)
    if not may(me.role, "after_action"):
        st.text("The after-action review is for operations only.")
        return
    show_banner(scene, settings)
    now = pd.Timestamp.now(tz="UTC")
    try:
        days = days_kept(settings, now)
    except HistoryError as err:  # its database is down or out of reach
        st.warning(plain(f"No review now: {err}."), icon=":material/report:")
        return
    if not days:
        st.info(
            "No history is kept yet: the review is computed from the versions of the feeds "
            "the dashboard took (POLLWATCH_HISTORY).",
            icon=":material/history:",
        )
        return
    day = chosen_day(days)
    try:
        review = _review(settings, day, _version_key(settings, day, now))
    except HistoryError as err:
        st.warning(plain(f"No review now: {err}."), icon=":material/report:")
        return
    if review is None:
        st.info("No history is kept here (POLLWATCH_HISTORY is off).")
        return
    if review.label:
        st.warning(plain(review.label), icon=":material/science:")
    st.caption(
        f"{review.day:%d %b %Y} ({review.timezone}), up to {review.end:%d %b %H:%M} UTC; "
        f"polls {review.polls[0]:%H:%M}-{review.polls[1]:%H:%M} UTC. Each figure comes from "
        "the feeds as the dashboard had them at the time it concerns: open a time with the "
        "Replay link to see the same."
    )
    for note in review.notes:
        st.info(plain(note), icon=":material/info:")
    figures(review)
    left, right = st.columns(2)
    left.plotly_chart(charts.review_timeline(review.timeline), width="stretch")
    right.plotly_chart(charts.review_coverage(review.coverage), width="stretch")
    pdf_panel(review)
    for title, table in review_views.sections(review):
        st.subheader(title)
        if not len(table):
            st.text("None.")
            continue
        if title.startswith("Serious"):
            table = with_replay_links(table, review)
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={"replay": st.column_config.LinkColumn("Replay", display_text="open")},
        )
        if title.startswith("Serious"):
            replay_picker(review)
    log_run("After-action", scene, started)


def chosen_day(days: list[dt.date]) -> dt.date:
    """The day reviewed (``?day=`` in the link): one the history holds, latest first."""
    wanted = st.query_params.get("day", "")
    shown = [d.isoformat() for d in days]
    picked = st.selectbox(
        "Day", shown, index=shown.index(wanted) if wanted in shown else 0, key="review_day"
    )
    st.query_params["day"] = picked
    return dt.date.fromisoformat(picked)


def _version_key(settings: Settings, day: dt.date, now: pd.Timestamp) -> str:
    """What the cached review of ``day`` depends on: a past day's is made once, today's
    again each minute."""
    today = now.tz_convert(settings.timezone).date()
    return f"{now:%Y%m%d%H%M}" if day >= today else "past"


@st.cache_data(max_entries=8, show_spinner="Reviewing the day from the history...")
def _review(_settings: Settings, day: dt.date, version: str) -> Review | None:
    started = time.perf_counter()
    made = review_of(_settings, day, pd.Timestamp.now(tz="UTC"))
    REVIEWS.info("review of %s made in %.2f s", day, time.perf_counter() - started)
    return made


def figures(review: Review) -> None:
    """The headline figures, five to a row."""
    for row in range(0, len(review.figures), 5):
        cells = st.columns(5)
        for cell, (label, value) in zip(cells, review.figures[row : row + 5], strict=False):
            cell.metric(label, value)


def with_replay_links(table: pd.DataFrame, review: Review) -> pd.DataFrame:
    """The serious incidents with a link to the Operations page at each one's time."""
    times = review.serious["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return table.assign(replay=[f"./?at={t}" for t in times])


def replay_picker(review: Review) -> None:
    """A serious incident picked (the first the history can replay, to begin with), and a
    link to the Operations page at its time."""
    serious = review.serious
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    kept = serious["patrol"].notna().to_numpy()  # a patrol found: the history held then
    row = left.selectbox(
        "Replay the picture at a serious incident",
        range(len(serious)),
        index=int(kept.argmax()) if kept.any() else 0,
        format_func=lambda i: (
            f"{serious['time'].iloc[i]:%d %b %H:%M:%S} UTC - "
            f"{serious['id'].iloc[i]} - {serious['type'].iloc[i]} ({serious['area'].iloc[i]})"
        ),
        key="review_replay_pick",
    )
    when = serious["time"].iloc[row or 0]
    right.link_button(
        f"Open the replay at {when:%H:%M:%S}",
        f"./?at={when:%Y-%m-%dT%H:%M:%SZ}",
        icon=":material/history:",
        width="stretch",
    )


def pdf_panel(review: Review) -> None:
    """The review as a PDF, made when asked for (charts drawn by Chromium)."""
    who = viewer()
    name = f"after-action-{review.day:%Y%m%d}.pdf"

    def made() -> bytes:
        pictures: list[tuple[str, bytes]] = []
        try:
            images = chart_pngs(
                [charts.review_timeline(review.timeline), charts.review_coverage(review.coverage)]
            )
            pictures = [("Incidents", images[0]), ("Coverage", images[1])]
        except ChartsFailed as failed:
            REVIEWS.warning("review PDF without charts: %s", failed)
        return review_views.pdf(review, f"{who.name} ({who.role.label})", pictures)

    st.download_button(
        "Download the review (PDF)",
        audited_export(name, made),
        file_name=name,
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        key="review_pdf",
    )


page()
