"""Pollwatch's pages: the sign-in gate, then the pages the viewer's role may open.

Each session runs this script; ``dashboard/app.py`` serves it (start the dashboard with
``streamlit run dashboard/app.py``). ``POLLWATCH_FEEDS`` picks the feed folder (the
bundled sample scenario by default), ``POLLWATCH_TILES`` the basemap, ``POLLWATCH_ROLES``
the roles file (see dashboard/access.py for sign-in).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from dashboard.access import audit_view, gate
from dashboard.common import configure_logging
from dashboard.datafiles import page_run, serving
from layers.access.policy import may, shown_feeds
from layers.access.roles import Role

if TYPE_CHECKING:
    from streamlit.navigation.page import StreamlitPage


def wall_page(url_path: str, default: bool = False) -> StreamlitPage:
    """The wall view, at ``url_path``."""
    return st.Page(
        "wall.py", title="Wall", icon=":material/tv:", url_path=url_path, default=default
    )


configure_logging()
st.set_page_config(page_title="Pollwatch", page_icon=":ballot_box_with_ballot:", layout="wide")
if Path(sys.argv[0]).resolve() == Path(__file__).resolve() and not serving():
    # ``streamlit run dashboard/main.py`` (it sets argv[0]): pages without the data route
    st.error(
        "The map's data route is not running: start the dashboard with "
        "`streamlit run dashboard/app.py`, not this page script."
    )
    st.stop()
viewer = gate()  # stops here, with a page saying why, for anyone who gets no data

wall = wall_page("wall")
if st.query_params.get("view") == "wall":  # any page's link, made a wall screen's
    paths = ("wall", "coverage", "logistics", "review", "briefing", "feeds", "add", "audit")
    as_wall = [wall_page("operations", default=True), *(wall_page(path) for path in paths)]
    with page_run():
        st.navigation(as_wall, position="hidden").run()
    audit_view("Wall")
    st.stop()
pages = []
if viewer.role is not Role.PARTNER:
    pages.append(st.Page("operations.py", title="Operations", icon=":material/map:", default=True))
if "polling_stations" in shown_feeds(viewer.role) and may(viewer.role, "what_if"):
    pages.append(
        st.Page("coverage.py", title="Coverage", icon=":material/shield:", url_path="coverage")
    )
if {"deliveries", "training"} & set(shown_feeds(viewer.role)):
    pages.append(
        st.Page(
            "logistics.py",
            title="Logistics",
            icon=":material/local_shipping:",
            url_path="logistics",
        )
    )
if viewer.role is not Role.PARTNER:
    pages.append(wall)
if viewer.role is Role.PARTNER:
    pages.append(st.Page("briefing.py", title="Briefing", icon=":material/groups:", default=True))
if may(viewer.role, "feed_details"):
    pages.append(st.Page("feeds.py", title="Feeds", icon=":material/rss_feed:", url_path="feeds"))
if may(viewer.role, "add_data"):
    pages.append(
        st.Page("add_data.py", title="Add data", icon=":material/upload_file:", url_path="add")
    )
if may(viewer.role, "after_action"):
    pages.append(
        st.Page("review.py", title="After-action", icon=":material/history:", url_path="review")
    )
if may(viewer.role, "audit"):
    pages.append(st.Page("audit.py", title="Audit", icon=":material/policy:", url_path="audit"))
page = st.navigation(pages)
with page_run():
    page.run()
audit_view(page.title)
