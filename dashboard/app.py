"""Pollwatch: the map of every layer of the feed folder, with what went wrong in each feed.

Run with ``streamlit run dashboard/app.py``; ``POLLWATCH_FEEDS`` picks the feed folder.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from layers import REGISTRY
from layers.config import Settings
from layers.mapping import base_map
from layers.problems import Level
from layers.scene import SceneLoader, derive_all

STATIC = "/app/static"  # dashboard/static, served by Streamlit (see .streamlit/config.toml)

st.set_page_config(page_title="Pollwatch", page_icon=":ballot_box_with_ballot:", layout="wide")


@st.cache_resource(show_spinner=False)
def loader_for(settings: Settings) -> SceneLoader:
    """One loader per feed folder: it keeps each feed's last good version between reruns."""
    return SceneLoader(settings)


def main() -> None:
    settings = Settings.from_env()
    loader = loader_for(settings)
    scene = loader.load()
    st.title("Pollwatch: election security picture")
    if scene.scenario.label:
        st.warning(scene.scenario.label, icon=":material/science:")
    derived = derive_all(scene)

    located = [f.geometry.dropna() for f in scene.frames.values() if len(f)]
    bounds = None
    if located and sum(len(g) for g in located):
        bounds = tuple(pd.concat(located).total_bounds)
    m = base_map(bounds, settings.tiles, assets=STATIC)
    for name, layer in REGISTRY.items():
        if len(derived[name]):
            layer.render(derived[name]).add_to(m)
    import folium

    folium.LayerControl(collapsed=False).add_to(m)
    st_folium(m, height=640, use_container_width=True, returned_objects=[], key="map")
    show_problems(scene)


def show_problems(scene) -> None:  # type: ignore[no-untyped-def]
    problems = scene.problems
    counts = {
        name: sum(p.level != Level.NOTICE for p in v.problems) for name, v in scene.versions.items()
    }
    title = f"Feed problems: {sum(counts.values())}"
    with st.expander(title, expanded=False):
        for name, version in scene.versions.items():
            state = (
                "missing or unreadable"
                if version.data is None
                and not (REGISTRY[name].SPEC.optional and version.path is None)
                else (f"{len(version.data)} rows" if version.data is not None else "not provided")
            )
            st.markdown(
                f"**{REGISTRY[name].SPEC.title}** ({version.path.name if version.path else name}): "
                f"{state}, {counts[name]} problem(s)"
            )
        if problems:
            st.dataframe(
                pd.DataFrame([p.as_dict() for p in problems]),
                hide_index=True,
                use_container_width=True,
            )


main()
