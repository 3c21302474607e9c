"""Pollwatch: the election security picture. Start it with ``streamlit run dashboard/app.py``.

Streamlit finds ``app`` below and serves the pages of ``main.py`` with one route of ours
beside them: the map's datasets, given only to sessions whose role may have them
(``dashboard/datafiles.py``). Settings are in the README.
"""

from __future__ import annotations

import streamlit as st

from dashboard.datafiles import MIDDLEWARE, ROUTES, lifespan, start_warming
from dashboard.heap import limit_arenas

limit_arenas()  # POLLWATCH_MALLOC_ARENAS, before the sessions' threads
app = st.App("main.py", routes=ROUTES, middleware=MIDDLEWARE, lifespan=lifespan)
start_warming()  # the feeds are read while Streamlit starts, not after
