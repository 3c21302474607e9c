"""Pollwatch: the election security picture. Entry point of the Streamlit app.

Run with ``streamlit run dashboard/app.py``; ``POLLWATCH_FEEDS`` picks the feed folder
(the bundled sample scenario by default), ``POLLWATCH_TILES`` the basemap,
``POLLWATCH_ROLES`` the roles file (see dashboard/access.py for sign-in).
"""

from __future__ import annotations

import streamlit as st

from dashboard.access import audit_view, gate
from dashboard.common import configure_logging
from layers.access.policy import may, shown_feeds
from layers.access.roles import Role

configure_logging()
st.set_page_config(page_title="Pollwatch", page_icon=":ballot_box_with_ballot:", layout="wide")
viewer = gate()  # stops here, with a page saying why, for anyone who gets no data
pages = []
if viewer.role is not Role.PARTNER:
    pages.append(st.Page("operations.py", title="Operations", icon=":material/map:", default=True))
if "polling_stations" in shown_feeds(viewer.role) and may(viewer.role, "what_if"):
    pages.append(
        st.Page("coverage.py", title="Coverage", icon=":material/shield:", url_path="coverage")
    )
if viewer.role is Role.PARTNER:
    pages.append(st.Page("briefing.py", title="Briefing", icon=":material/groups:", default=True))
if may(viewer.role, "feed_details"):
    pages.append(st.Page("feeds.py", title="Feeds", icon=":material/rss_feed:", url_path="feeds"))
if may(viewer.role, "audit"):
    pages.append(st.Page("audit.py", title="Audit", icon=":material/policy:", url_path="audit"))
page = st.navigation(pages)
page.run()
audit_view(page.title)
