"""The Feeds page: how fresh each feed is, and what went wrong in it."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dashboard.access import viewer
from dashboard.common import (
    accept_feed,
    current_picture,
    held_feeds,
    log_run,
    plain,
    show_banner,
    show_problems,
    watch_feeds,
)
from dashboard.packs import View as PackView
from dashboard.packs import pack_panel
from layers.access.policy import may
from layers.analysis.freshness import freshness
from layers.scene import Scene
from layers.views import pack


def page() -> None:
    started = time.perf_counter()
    settings, derived = current_picture()  # a layer that cannot be derived has failed too
    scene = derived.scene
    st.title("Feeds")
    watch_feeds(settings, scene)
    show_banner(scene, settings)
    table = freshness(scene, settings)
    st.caption(
        plain(
            f"Picture of {scene.now:%d %b %Y %H:%M:%S} UTC (a new one when a file changes, "
            f"and each minute), folder {settings.feeds.name}/. "
            "Fresh: the file is newer than its limit; stale: older; failed: the newest file "
            "could not be read (the last good data stays on screen); exercise: a scenario "
            "moved to the present, whose files never change."
        )
    )
    for row in table[table["note"].notna()].itertuples():
        st.warning(plain(f"{row.feed}: {row.note}"), icon=":material/error:")
    for feed, reason in held_feeds(settings).items():
        file = reason.file or feed
        if st.button(
            f"Show the new {file} now",
            key=f"accept_{feed}",
            help=plain(f"{reason.message} {reason.fix}"),
        ):
            accept_feed(settings, feed)
            st.rerun()
    st.dataframe(
        table.drop(columns="note"),
        hide_index=True,
        width="stretch",
        column_config={
            "updated": st.column_config.DatetimeColumn(
                "last good update (UTC)", format="D MMM HH:mm:ss"
            ),
            "age_min": st.column_config.NumberColumn("age, min", format="%.1f"),
            "stale_after_min": st.column_config.NumberColumn("stale after, min"),
        },
    )
    show_problems(scene)
    if scene.unread and may(viewer().role, "feed_details"):
        st.subheader(f"Files in the folder not read: {len(scene.unread)}")
        st.dataframe(
            pd.DataFrame(scene.unread, columns=["file", "why it is not read"]),
            hide_index=True,
            width="stretch",
        )
    pack_panel(settings, scene, feeds_view(scene, table))
    log_run("feeds", scene, started)


def feeds_view(scene: Scene, table: pd.DataFrame) -> PackView:
    """The page as a pack: each feed's state and its problems, as this role sees them."""
    states = table["state"].value_counts()
    details = may(viewer().role, "feed_details")  # the problems quote rows
    # The first ones, as the pack lists them (their count is in the figures).
    listed = pd.DataFrame([p.as_dict() for p in scene.problems[: pack.TABLE_ROWS]])
    return PackView(
        title="Feeds: freshness and data quality",
        words="every feed this role sees, and what went wrong in it",
        figures=[
            ("Feeds", f"{len(table):,}"),
            *((state, f"{int(states.get(state, 0)):,}") for state in ("fresh", "stale", "failed")),
            ("Problems reported", f"{int(table['problems'].sum()):,}"),
        ],
        frames={},
        charts=list,
        areas=pd.DataFrame(),
        tables=lambda: [
            ("Feeds", table.drop(columns="note")),
            *([("Problems", listed)] if details else []),
        ],
        draw=None,
        compare=False,
    )


page()
