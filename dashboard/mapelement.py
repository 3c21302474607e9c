"""The map element, built once per picture for every session that shows the same.

``st_folium`` renders the whole folium map and each feature group to JavaScript on every
call: with many screens on one server that was about 40 % of each page run (py-spy, 12
wall screens). What it sends to the browser depends only on what the map shows, so the
arguments it gives its component are kept per ``key`` and every other session showing the
same picture (same role, data, filters) sends them again without rendering anything.

streamlit-folium has no public call for "the component's arguments", so they are caught
at the one place it hands them over, its module's ``_component_func``, under a lock: every
map of the app goes through :func:`map_element`, so no other render runs meanwhile.
The browser tests fail if that name changes (the map would not draw); the version is
pinned in pyproject.toml.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st
import streamlit_folium
from streamlit_folium import st_folium

_RENDER = threading.Lock()
_COMPONENT = streamlit_folium._component_func


def map_element(key: Hashable | None, build: Callable[[], dict[str, Any]]) -> Any:
    """Show the map ``build()`` describes (the keyword arguments of ``st_folium``) and
    return what the browser reports. ``key`` names everything the map depends on; the
    same key gives every session the map rendered for the first. ``None``: render for
    this session only (a map that depends on the session's own clicks)."""
    if key is None:
        return _COMPONENT(**_rendered(build))
    return _COMPONENT(**_shared(key, build))


@st.cache_resource(show_spinner=False, max_entries=32)
def _shared(key: Hashable, _build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return _rendered(_build)


def _rendered(build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The component arguments ``st_folium`` makes for ``build()``."""
    caught: dict[str, Any] = {}

    def catch(**kwargs: Any) -> Any:
        caught.update(kwargs)
        return kwargs.get("default")

    with _RENDER:
        streamlit_folium._component_func = catch
        try:
            st_folium(**build())
        finally:
            streamlit_folium._component_func = _COMPONENT
    return caught
