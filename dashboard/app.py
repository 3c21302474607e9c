"""Pollwatch: the election security picture. Entry point of the Streamlit app.

Run with ``streamlit run dashboard/app.py``; ``POLLWATCH_FEEDS`` picks the feed folder
(the bundled sample scenario by default), ``POLLWATCH_TILES`` the basemap.
"""

from __future__ import annotations

import streamlit as st

from dashboard.common import configure_logging

configure_logging()
st.set_page_config(page_title="Pollwatch", page_icon=":ballot_box_with_ballot:", layout="wide")
pages = [
    st.Page("operations.py", title="Operations", icon=":material/map:", default=True),
    st.Page("coverage.py", title="Coverage", icon=":material/shield:", url_path="coverage"),
    st.Page("feeds.py", title="Feeds", icon=":material/rss_feed:", url_path="feeds"),
]
st.navigation(pages).run()
