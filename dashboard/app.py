"""Pollwatch: the map of every layer of the feed folder, with what went wrong in each feed.

Run with ``streamlit run dashboard/app.py``; ``POLLWATCH_FEEDS`` picks the feed folder.
"""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from layers import REGISTRY
from layers.config import Settings
from layers.mapping import base_map
from layers.scene import Scene, SceneLoader, derive_all

STATIC = "/app/static"  # dashboard/static, served by Streamlit (see .streamlit/config.toml)


@st.cache_resource(show_spinner=False)
def loader_for(settings: Settings) -> SceneLoader:
    """One loader per feed folder: it keeps each feed's last good version between reruns."""
    return SceneLoader(settings)


def show_map(scene: Scene, settings: Settings) -> None:
    m = base_map(scene.bounds, settings.tiles, assets=STATIC)
    derived = derive_all(scene)
    for name, layer in REGISTRY.items():
        if len(derived[name]):
            layer.render(derived[name]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    st_folium(m, height=640, use_container_width=True, returned_objects=[], key="map")


def show_problems(scene: Scene) -> None:
    status = scene.feed_status()
    broken = status[status["state"].isin(["missing", "unreadable", "showing an older copy"])]
    for row in broken.itertuples():
        st.error(f"{row.feed}: {row.state}. See the feed problems below.")
    with st.expander(f"Feed problems: {int(status['problems'].sum())}"):
        st.dataframe(status, hide_index=True, width="stretch")
        problems = scene.problems
        if problems:
            st.dataframe(
                pd.DataFrame([p.as_dict() for p in problems]),
                hide_index=True,
                width="stretch",
            )


def main() -> None:
    st.set_page_config(page_title="Pollwatch", page_icon=":ballot_box_with_ballot:", layout="wide")
    settings = Settings.from_env()
    scene = loader_for(settings).load()
    st.title("Pollwatch: election security picture")
    if scene.scenario.label:
        st.warning(scene.scenario.label, icon=":material/science:")
    show_map(scene, settings)
    show_problems(scene)


main()
