"""The commission's coverage page: who is left unprotected on polling day, and what closes it.

Glue only: the analysis is :mod:`layers.analysis.gaps`, the map layers
:mod:`layers.views.coverage_map`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from dashboard.access import audited_export, viewer, who_line
from dashboard.common import (
    current_picture,
    log_run,
    page_map,
    plain,
    published,
    show_banner,
    show_problems,
    watch_feeds,
    whole_picture,
)
from dashboard.coverage_analysis import DEFAULT, measured
from dashboard.mapelement import map_element
from dashboard.packs import View as PackView
from dashboard.packs import pack_panel
from layers import patrols
from layers.access.policy import restrict_frame, shown_feeds
from layers.analysis import figures
from layers.analysis.gaps import (
    PARTLY,
    Analysis,
    level_table,
)
from layers.analysis.whatif import WhatIf, parse_points
from layers.core.settings import Settings
from layers.map.basemap import first_drawn
from layers.scene import Scene
from layers.views import coverage_map, exports

LEGEND = list(coverage_map.LEGEND)
RANKINGS = {
    "registered voters": "registered_voters",
    "incidents within 10 km (7 days)": "incidents_10km",
}


def what_if_panel(bases: gpd.GeoDataFrame, units: bool) -> WhatIf:
    """The what-if settings; ``units``: also those that name units (switching bases off,
    a radius per unit type), for a role that may see them."""
    side = st.sidebar
    side.header("What if")
    radius = None
    if side.toggle("Same radius for every base", key="cov_same"):
        radius = side.slider("Radius (km)", 1.0, 60.0, 10.0, 0.5, key="cov_radius") * 1000
    by_type: list[tuple[str, float]] = []
    types = (
        sorted(bases["unit_type"].dropna().astype(str).unique())
        if "unit_type" in bases and units
        else []
    )
    if types and radius is None:
        with side.expander("Radius per unit type"):
            for kind in types:
                km = st.number_input(
                    plain(f"{kind} (km; 0 = as in the feed)"),
                    0.0,
                    200.0,
                    0.0,
                    0.5,
                    key=f"cov_type_{kind}",
                )
                if km > 0:
                    by_type.append((kind, km * 1000))
    labels = dict(
        zip(
            bases["id"],
            bases["unit"].fillna(bases["id"]).astype(str) + " (" + bases["id"].astype(str) + ")",
            strict=True,
        )
    )
    off = (
        side.multiselect(
            "Switch off bases",
            list(labels),
            format_func=labels.__getitem__,
            key="cov_off",
            placeholder="None",
        )
        if units
        else []
    )
    side.caption("Proposed bases: one 'lat, lon' per line, or click the map below.")
    typed = side.text_area(
        "Proposed bases", key="cov_added", label_visibility="collapsed", placeholder="6.52, -9.61"
    )
    points, bad = parse_points(typed)
    for message in bad:
        side.warning(plain(message))
    points += st.session_state.get("cov_clicked", [])
    new_km = side.slider("Radius of proposed bases (km)", 1.0, 60.0, 10.0, 0.5, key="cov_new_km")
    added = tuple((lat, lon, new_km * 1000) for lat, lon in points)
    side.header("Suggestions")
    k = side.number_input("How many new bases to suggest", 0, 25, DEFAULT.suggest, key="cov_k")
    suggest_km = side.slider(
        "Radius of suggested bases (km)",
        1.0,
        60.0,
        DEFAULT.suggest_radius_m / 1000,
        0.5,
        key="cov_suggest_km",
    )
    return WhatIf(radius, tuple(by_type), tuple(off), added, int(k), float(suggest_km) * 1000)


def headline(stations: pd.DataFrame) -> list[tuple[str, str]]:
    """The page's headline figures: label, value."""
    f = figures.of_stations(stations, "state")
    return [
        ("Stations uncovered", f"{f.uncovered:,}"),
        ("Voters uncovered", figures.count_text(f.voters_uncovered)),
        ("% voters covered", figures.pct_text(f.voters_covered_pct)),
    ]


def show_kpis(stations: pd.DataFrame) -> None:
    f = figures.of_stations(stations, "state")
    for column, (label, value) in zip(st.columns(3), headline(stations), strict=True):
        column.metric(
            label,
            value,
            help=f"Partly covered: {f.partly_covered:,}."
            if label == "Stations uncovered"
            else None,
        )
    st.caption(figures.definition(f, "all polling hours"))


def page() -> None:
    started = time.perf_counter()
    settings, derived = current_picture()  # as the role may see it: shown and failures
    shown_scene = derived.scene
    role = viewer().role
    # Coverage is measured from every base, also for a role that may not see them; what
    # the page shows of it passes the role's policy (restrict_frame) first.
    whole = whole_picture(settings)
    scene = whole.scene
    st.title("Coverage")
    who_line(viewer())
    watch_feeds(settings, shown_scene)
    show_banner(shown_scene, settings)
    if scene.scenario.label:
        st.warning(plain(scene.scenario.label), icon=":material/science:")
    units = "patrols" in shown_feeds(role)
    what = what_if_panel(scene["patrols"], units)
    made = measured(settings, whole, what)
    window, key, analysis = made.window, made.key, made.analysis
    counts_key = (key, what, scene.key("incidents"), scene.now.floor("min"))
    st.caption(
        f"Polling day {settings.polling_date(scene.now)}: "
        f"{settings.polling_hours[0]:%H:%M}-{settings.polling_hours[1]:%H:%M} "
        f"({settings.timezone}); a station is covered when a patrol base on duty "
        f"reaches it all polling hours. Window in UTC: {window[0]:%H:%M}-{window[1]:%H:%M}."
    )
    show_kpis(analysis.stations)

    stations = restrict_frame(analysis.stations, "polling_stations", role)
    ranked_by = st.radio(
        "Rank uncovered stations by", list(RANKINGS), horizontal=True, key="cov_rank"
    )
    uncovered = stations[stations["state"].isin(["uncovered", PARTLY])]
    uncovered = uncovered.sort_values([RANKINGS[ranked_by], "registered_voters"], ascending=False)
    columns = [
        "name",
        "id",
        "area",
        "registered_voters",
        "state",
        "day_share",
        "incidents_10km",
        "nearest_base",
        "nearest_base_km",
    ]
    shown = pd.DataFrame(uncovered[[c for c in columns if c in uncovered]]).reset_index(drop=True)

    center = zoom = None
    map_col, table_col = st.columns([3, 2])
    with table_col:
        st.subheader(f"Not covered all polling hours: {len(uncovered):,}")
        picked = st.dataframe(
            shown.head(2000),
            hide_index=True,
            width="stretch",
            height=520,
            on_select="rerun",
            selection_mode="single-row",
            key=f"cov_table_{hash((what, ranked_by))}",  # a new list: no row picked
        )
        rows = picked.selection.rows if picked is not None else []
        if rows:
            where = uncovered.geometry.iloc[rows[0]]
            if where is not None and not where.is_empty:
                center, zoom = [where.y, where.x], 13
        if len(shown) > 2000:
            st.caption(f"The first 2,000 of {len(shown):,}; the downloads hold all.")
    with map_col:
        draw = show_map(
            analysis,
            stations,
            units,
            scene,
            settings,
            key=key,
            counts_key=counts_key,
            what=what,
            center=center,
            zoom=zoom,
            failures=derived.failures,
            bounds=shown_scene.bounds,  # framed by what the role sees
        )

    names = sorted(str(a) for a in analysis.areas["area"].dropna())
    within = st.selectbox(
        "Figures of",
        [None, *names],
        format_func=lambda a: "the nation, by area" if a is None else f"{a}, by sub-area",
        key="cov_level",
    )
    sub_areas = derived.sub_areas_of("polling_stations")
    table = analysis.areas if within is None else level_table(analysis.stations, sub_areas, within)
    st.subheader("By area" if within is None else plain(f"{within}, by sub-area"))  # feed text
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "covered_pct": st.column_config.NumberColumn("% covered", format="%.1f%%"),
            "voters_covered_pct": st.column_config.NumberColumn(
                "% voters covered", format="%.1f%%"
            ),
            "registered_voters": st.column_config.NumberColumn(format="localized"),
            "voters_located": st.column_config.NumberColumn(
                "voters at located stations", format="localized"
            ),
            "voters_covered": st.column_config.NumberColumn(format="localized"),
        },
    )
    if analysis.suggestions:
        st.subheader("Suggested bases")
        st.dataframe(
            pd.DataFrame([s.__dict__ for s in analysis.suggestions]),
            hide_index=True,
            width="stretch",
        )
    one, two, three = st.columns(3)
    listed = uncovered.drop(columns=["source_row"], errors="ignore")
    # Files are made when asked for (on their own thread), not on every rerun.
    one.download_button(
        "Uncovered stations (CSV)",
        audited_export("uncovered_stations.csv", lambda: exports.safe_csv(listed)),
        "uncovered_stations.csv",
        "text/csv",
        on_click="ignore",
    )
    two.download_button(
        "Uncovered stations (GeoJSON)",
        audited_export("uncovered_stations.geojson", lambda: exports.geojson(listed)),
        "uncovered_stations.geojson",
        "application/geo+json",
        on_click="ignore",
    )
    three.download_button(
        "Coverage by area (CSV)",
        audited_export("coverage_by_area.csv", lambda: exports.safe_csv(analysis.areas)),
        "coverage_by_area.csv",
        "text/csv",
        on_click="ignore",
    )
    show_problems(shown_scene)
    pack_panel(
        settings,
        shown_scene,
        PackView(
            title="Coverage briefing",
            words=f"coverage all polling hours of {settings.polling_date(scene.now)}, "
            f"ranked by {ranked_by}",
            figures=headline(analysis.stations),
            frames={"areas": scene["areas"], "polling_stations": stations},
            charts=list,
            areas=analysis.areas,
            tables=lambda: [(f"Not covered all polling hours: {len(uncovered):,}", shown)],
            draw=draw,
        ),
    )
    log_run("coverage", scene, started)


def show_map(
    analysis: Analysis,
    stations: gpd.GeoDataFrame,
    units: bool,
    scene: Scene,
    settings: Settings,
    *,
    key: Hashable,
    counts_key: Hashable,
    what: WhatIf,
    center: list[float] | None,
    zoom: int | None,
    failures: Mapping[str, object],
    bounds: tuple[float, float, float, float] | None,
) -> Callable[[str], tuple[folium.Map, list[folium.FeatureGroup]]]:
    """The coverage map; what draws it again on other tiles (for a briefing pack)."""
    clicks = st.toggle("Clicking the map adds a proposed base", key="cov_click_adds")
    # The points once per stations version; each what-if sends only their new states.
    points = published(
        "coverage_points",
        scene.key("polling_stations", "areas"),
        lambda: dict(zip(("main", "details"), coverage_map.station_points(stations), strict=True)),
    )
    states = published(
        "coverage_states",
        (key, what),
        lambda: dict(zip(("main", "details"), coverage_map.station_states(stations), strict=True)),
    )
    bases = (
        published(  # the what-if's bases: fetched once per run, not sent each rerun
            "coverage_patrols",
            (key, what),
            lambda: patrols.datasets(patrols.derive(analysis.bases, scene)),
        )
        if "patrols" not in failures and units
        else {}
    )
    counts = published(
        "coverage_counts",
        counts_key,
        lambda: {"details": coverage_map.station_counts(stations)},
    )

    def parts(tiles: str) -> tuple[folium.Map, list[folium.FeatureGroup]]:
        """The base map on ``tiles`` and the page's layers (a pack draws them too)."""
        groups = [
            coverage_map.choropleth(scene["areas"], analysis.areas, interactive=not clicks),
            # A patrols layer that cannot be derived is reported in the banner; no discs.
            *(
                ()
                if not units  # a role that may not see the bases gets no layer of them
                else (patrols.render(analysis.bases, sources=bases),)
                if "patrols" not in failures
                else (folium.FeatureGroup(name="Patrol bases"),)
            ),
            coverage_map.station_layer(
                points["main"],
                states["main"],
                [points["details"], states["details"], counts["details"]],
            ),
            coverage_map.suggestion_layer(analysis.suggestions, what.suggest_radius_m),
        ]
        legend = LEGEND if units else [s for s in LEGEND if s[0] != "Bases"]
        first = first_drawn({"points": points, "states": states, "bases": bases})
        return page_map(bounds, tiles, legend, prefetch=first), groups

    m, groups = parts(settings.tiles)
    out = map_element(
        None,  # the session's own: its clicks, centre and zoom
        lambda: {
            "fig": m,
            "height": 560,
            "use_container_width": True,
            "key": "coverage_map",
            "returned_objects": ["last_clicked"],  # fixed: the map keeps the first list
            "feature_group_to_add": groups,
            "center": center,
            "zoom": zoom,
            "layer_control": folium.LayerControl(collapsed=False),
        },
    )
    click = (out or {}).get("last_clicked") if clicks else None
    if click:
        point = (round(click["lat"], 5), round(click["lng"], 5))
        clicked = st.session_state.setdefault("cov_clicked", [])
        if point not in clicked:
            clicked.append(point)
            st.rerun()
    if st.session_state.get("cov_clicked"):
        if st.button(f"Remove {len(st.session_state['cov_clicked'])} clicked proposed base(s)"):
            st.session_state["cov_clicked"] = []
            st.rerun()
    return parts


page()
