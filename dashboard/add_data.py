"""The Add data page (operations only): drop a file, see what would be read from it, and
add it to the feed folder under the feed's name (layers/io/intake.py)."""

from __future__ import annotations

import hashlib

import folium
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from dashboard.access import audit, viewer, who_line
from dashboard.common import loader_for, page_map, plain
from layers.access.policy import may
from layers.core.settings import Settings
from layers.io import intake
from layers.io.spec import ReadContext
from layers.io.vector import FileOptions
from layers.registry import REGISTRY

PREVIEW_ROWS = 200
PREVIEW_POINTS = 5_000  # drawn on the preview map; the file may hold more


def page() -> None:
    st.title("Add data")
    me = viewer()
    who_line(me)
    if not may(me.own, "add_data") or not may(me.role, "add_data"):
        st.text("Adding data is for operations only.")
        return
    settings = Settings.from_env()
    st.caption(
        plain(
            f"A file added here is written into the feed folder ({settings.feeds.name}/) under "
            "the feed's name, as if the system that feeds it had written it: every screen "
            "shows it at the next refresh. Formats: CSV, GeoJSON, shapefile (its parts "
            "together, or zipped), GeoPackage, KML/KMZ, GPX (docs/feeds.md)."
        )
    )
    dropped = st.file_uploader(
        "Drop a file (or a shapefile's parts)", accept_multiple_files=True, key="add_files"
    )
    if not dropped:
        return
    feeds = list(REGISTRY)
    files = [(f.name, f.getvalue()) for f in dropped]
    digest = hashlib.sha256(repr([(n, hashlib.sha256(d).hexdigest()) for n, d in files]).encode())
    key = (digest.hexdigest(), str(settings.feeds))  # the folder's read context
    loader = loader_for(settings)
    # Named after a feed, or else read as each feed and taken as the one it reads best as.
    guessed = intake.guess_feed(dropped[0].name, feeds) or _best_feed(key, files, loader.context)
    feed = st.selectbox(
        "Read it as the feed",
        feeds,
        index=feeds.index(guessed) if guessed else 0,
        format_func=lambda name: f"{REGISTRY[name].SPEC.title} ({name})",
        key="add_feed",
    )
    try:
        upload = intake.upload_of(feed, files)
    except ValueError as err:
        st.error(plain(str(err)))
        return
    options = FileOptions(dict(settings.layers).get(feed), dict(settings.crs).get(feed))
    seen = _preview((*key, feed, options), upload, loader.context, options)
    show_preview(seen, settings.tiles)
    if not seen.usable:
        st.error(plain(f"Nothing can be read from it as {feed}: {seen.problems[0].message}"))
        return
    current = loader.store.get(feed)
    now_rows = int(current.data.geometry.notna().sum()) if current.data is not None else 0
    asked = True
    if seen.located < now_rows:
        now_file = current.path.name if current.path else feed
        st.warning(
            plain(
                f"The feed now shows {now_rows:,} located rows ({now_file}); this file has "
                f"{seen.located:,}. Adding it replaces them."
            )
        )
        asked = st.checkbox(
            f"Replace {now_rows:,} located rows with {seen.located:,}", key="add_fewer"
        )
    if st.button(
        f"Add it to the feed folder as {upload.name}",
        type="primary",
        disabled=not asked,
        key="add_go",
    ):
        moved = intake.install(settings.feeds, upload)
        audit(
            "add-data",
            {
                "feed": feed,
                "file": upload.name,
                "from": ", ".join(f.name for f in dropped),
                "rows": seen.rows,
                "located": seen.located,
                "sha256": hashlib.sha256(upload.data).hexdigest(),
                "moved_aside": ", ".join(moved),
            },
        )
        st.success(
            plain(
                f"Added {upload.name} ({seen.rows:,} rows). "
                + (f"Moved aside into {intake.REPLACED}/: {', '.join(moved)}." if moved else "")
            )
        )


# A rerun (a box ticked, the feed changed back) reads a dropped file again only when it or
# the feed asked for changed: the file is read once per feed, and up to six times to guess.
@st.cache_resource(show_spinner="Reading the file...", max_entries=4)
def _best_feed(
    key: tuple[str, str], _files: list[tuple[str, bytes]], _ctx: ReadContext
) -> str | None:
    return intake.best_feed(list(REGISTRY.values()), _files, _ctx)


@st.cache_resource(show_spinner="Reading the file...", max_entries=8)
def _preview(
    key: tuple[object, ...], _upload: intake.Upload, _ctx: ReadContext, _options: FileOptions
) -> intake.Preview:
    return intake.preview(REGISTRY[str(key[2])], _upload, _ctx, _options)


def show_preview(seen: intake.Preview, tiles: str) -> None:
    """Rows, the column mapping, the problems and a map of what would be read."""
    left, middle, right = st.columns(3)
    left.metric("Rows read", f"{seen.rows:,}")
    middle.metric("With a location", f"{seen.located:,}")
    right.metric(
        "Problems", f"{len(seen.problems):,}", help=f"{intake.errors(seen.problems):,} errors"
    )
    if seen.mapping:
        st.subheader("Columns read as the feed's fields")
        st.dataframe(
            pd.DataFrame(seen.mapping, columns=["column in the file", "read as"]),
            hide_index=True,
        )
    if seen.problems:
        st.subheader("Problems")
        st.dataframe(
            intake.problem_table(seen.problems[:PREVIEW_ROWS]), hide_index=True, width="stretch"
        )
    if seen.frame is None or not seen.located:
        return
    frame = seen.frame
    st.subheader("Preview")
    located = frame[frame.geometry.notna()]
    st.dataframe(
        pd.DataFrame(located.drop(columns=located.geometry.name)).head(PREVIEW_ROWS),
        hide_index=True,
        width="stretch",
    )
    minx, miny, maxx, maxy = (float(v) for v in located.total_bounds)
    shown = located.geometry.head(PREVIEW_POINTS)
    fig = page_map((minx, miny, maxx, maxy), tiles, [])
    folium.GeoJson(
        shown.__geo_interface__,  # geometries only: no feed text goes into the map
        style_function=lambda _: {"color": "#b2182b", "weight": 2, "fillOpacity": 0.2},
        marker=folium.CircleMarker(radius=4, color="#b2182b", fill=True, fill_opacity=0.8),
    ).add_to(fig)
    components.html(fig.get_root().render(), height=430)


page()
