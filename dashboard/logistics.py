"""The Deliveries page: which stations have all their electoral materials, which still wait
as opening nears, and the convoy bringing them."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dashboard.access import viewer, who_line
from dashboard.common import current_picture, log_run, plain, show_banner, watch_feeds
from layers.analysis import logistics
from layers.analysis.gaps import polling_window
from layers.views import charts

FEED = "deliveries"
COLUMNS = {
    "station": "Station",
    "name": "Name",
    "area": "Area",
    "registered_voters": "Voters",
    "materials": "Materials",
    "waiting_for": "Waiting for",
    "convoy": "Convoy",
    "convoy_eta": "Convoy ETA (UTC)",
    "hours_to_opening": "Hours to opening",
    "flagged": "Flagged",
}


def page() -> None:
    started = time.perf_counter()
    settings, derived = current_picture()
    scene = derived.scene
    st.title("Deliveries")
    who_line(viewer())
    watch_feeds(settings, scene)
    show_banner(scene, settings)
    if scene.scenario.label:
        st.warning(plain(scene.scenario.label), icon=":material/science:")
    events = derived[FEED]
    if not len(events):
        st.info(
            "No delivery events: put a deliveries.csv file (chain-of-custody events, see "
            "docs/feeds.md) in the feed folder.",
            icon=":material/local_shipping:",
        )
        log_run("Deliveries", scene, started)
        return
    opening, _ = polling_window(
        settings.polling_date(scene.now), settings.timezone, settings.polling_hours
    )
    warn = st.slider(
        "Flag stations still waiting within this many hours of opening",
        0,
        72,
        int(logistics.WARN_HOURS),
        key="deliveries_warn",
    )
    board = logistics.board(
        derived["polling_stations"], events, derived["convoy_positions"], opening, scene.now, warn
    )
    areas = logistics.by_area(board)
    total = areas[areas["area"] == "All areas"].iloc[0]
    st.caption(
        f"Polls open {opening:%d %b %H:%M} UTC; picture of {scene.now:%d %b %H:%M:%S} UTC. "
        "A station has everything when each item kind in the feed was delivered or signed "
        "for there."
    )
    kpis = st.columns(4)
    kpis[0].metric("Stations with everything", f"{total['share_delivered']:.0%}")
    kpis[1].metric("Still waiting, flagged", f"{int(total['flagged']):,}")
    kpis[2].metric("In transit", f"{int(total['in_transit']):,}")
    kpis[3].metric("Items missing", f"{int(total['missing']):,}")

    chart_col, flagged_col = st.columns([2, 3])
    with chart_col:
        event = st.plotly_chart(
            charts.deliveries_chart(areas),
            width="stretch",
            key="deliveries_chart",
            on_select="rerun",
            selection_mode="points",
        )
        clicked = charts.picked(event["selection"]["points"] if event else []).get("area")
        if clicked:
            st.query_params["area"] = clicked
    names = sorted(str(a) for a in board["area"].unique())
    wanted = st.query_params.get("area")
    area = st.selectbox(
        "Area",
        [None, *names],
        index=names.index(wanted) + 1 if wanted in names else 0,
        format_func=lambda a: "All areas" if a is None else a,
        key=f"deliveries_area_{wanted}",
    )
    if area is None:
        st.query_params.pop("area", None)
    else:
        st.query_params["area"] = area
    shown = board if area is None else board[board["area"] == area]
    with flagged_col:
        flagged = shown[shown["flagged"]]
        st.subheader(f"Flagged: {len(flagged):,}")
        st.dataframe(
            flagged.drop(columns="flagged").rename(columns=COLUMNS).head(2000),
            hide_index=True,
            width="stretch",
            height=420,
        )
    st.subheader("Every station" if area is None else plain(f"Every station of {area}"))
    st.dataframe(
        shown.rename(columns=COLUMNS).head(20000),
        hide_index=True,
        width="stretch",
        column_config={
            "Convoy ETA (UTC)": st.column_config.DatetimeColumn(format="DD MMM HH:mm"),
        },
    )
    if len(shown) > 20000:
        st.caption(f"The first 20,000 of {len(shown):,} stations, by hours to opening.")
    st.dataframe(
        pd.DataFrame(areas).rename(columns={"share_delivered": "share with everything"}),
        hide_index=True,
        width="stretch",
    )
    log_run("Deliveries", scene, started)


page()
