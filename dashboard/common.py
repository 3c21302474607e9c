"""What every page shares: the feed folder's scene, cached derivations, the problems panel.

Streamlit glue only: loading and caching, and showing what the layers reported.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from layers import feeds, operations
from layers.config import Settings
from layers.scene import Scene, SceneLoader

STATIC_URL = "/app/static"  # dashboard/static, served by Streamlit (see .streamlit/config.toml)
STATIC_DIR = Path(__file__).parent / "static"
PUBLISHED = "data"  # generated map datasets, under dashboard/static (not in git)
KEEP_PUBLISHED = 6  # newest files kept per dataset name; older versions are removed


@st.cache_resource(show_spinner=False)
def loader_for(settings: Settings) -> SceneLoader:
    """One loader per feed folder: it keeps each feed's last good version between reruns."""
    return SceneLoader(settings)


def current_scene() -> tuple[Settings, Scene]:
    """Settings and the folder's scene now (files re-read only when they changed)."""
    settings = Settings.from_env()
    return settings, loader_for(settings).load()


def scene_key(scene: Scene) -> tuple[Any, ...]:
    """What the derived picture depends on: each feed's version and the minute."""
    return (
        tuple((name, v.signature, v.stale_copy) for name, v in scene.versions.items()),
        scene.now.floor("min"),
    )


@st.cache_resource(show_spinner=False, max_entries=2)
def _derived(key: tuple[Any, ...], _scene: Scene) -> dict[str, gpd.GeoDataFrame]:
    return operations.derive_picture(_scene)


def derived_picture(scene: Scene) -> dict[str, gpd.GeoDataFrame]:
    """Every layer derived (with areas), computed once per feed version and minute.

    Cached as a resource (no copy on each rerun); nothing downstream mutates it.
    """
    return _derived(scene_key(scene), scene)


@st.cache_resource(show_spinner=False, max_entries=8)
def _published(name: str, key: tuple[Any, ...], _build: Any) -> str:
    payload = json.dumps(_build(), separators=(",", ":"), allow_nan=False).encode()
    digest = hashlib.sha256(payload).hexdigest()[:16]
    folder = STATIC_DIR / PUBLISHED
    path = folder / f"{name}-{digest}.json"
    if not path.exists():
        feeds.write_atomic(path, payload)
    old = sorted(folder.glob(f"{name}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in old[KEEP_PUBLISHED:]:
        stale.unlink(missing_ok=True)
    return f"{STATIC_URL}/{PUBLISHED}/{path.name}"


def published(name: str, scene: Scene, build: Any) -> str:
    """URL of ``build()`` as a static JSON file the browser fetches once and caches.

    Named by its content, so an unchanged dataset keeps its URL across feed versions.
    """
    return _published(name, scene_key(scene), build)


def show_problems(scene: Scene) -> None:
    """Missing or unreadable feeds as errors; a count per feed and every problem on demand."""
    status = scene.feed_status()
    broken = status[status["state"].isin(["missing", "unreadable", "showing an older copy"])]
    for row in broken.itertuples():
        st.error(f"{row.feed}: {row.state}. See the feed problems below.")
    total = int(status["problems"].sum())
    with st.expander(f"Feed problems: {total}", expanded=False):
        st.dataframe(status, hide_index=True, width="stretch")
        problems = scene.problems
        if problems:
            st.dataframe(
                pd.DataFrame([p.as_dict() for p in problems]),
                hide_index=True,
                width="stretch",
            )
