"""The Logistics page: which stations have all their electoral materials, which still wait
as opening nears and the convoy bringing them; how many of the staff they need were
trained."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dashboard.access import viewer, who_line
from dashboard.common import current_picture, log_run, plain, show_banner, watch_feeds
from layers.analysis import logistics
from layers.analysis.gaps import polling_window
from layers.analysis.picture import Derived
from layers.views import charts

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
    st.title("Logistics")
    who_line(viewer())
    watch_feeds(settings, scene)
    show_banner(scene, settings)
    if scene.scenario.label:
        st.warning(plain(scene.scenario.label), icon=":material/science:")
    opening, _ = polling_window(
        settings.polling_date(scene.now), settings.timezone, settings.polling_hours
    )
    st.caption(f"Polls open {opening:%d %b %H:%M} UTC.")
    area = chosen_area(
        sorted(str(a) for a in derived["polling_stations"]["area"].dropna().unique())
    )
    materials, staff = st.tabs(["Deliveries", "Training"])
    with materials:
        deliveries_tab(derived, opening, scene.now, area)
    with staff:
        training_tab(derived, area)
    log_run("Logistics", scene, started)


def chosen_area(names: list[str]) -> str | None:
    """The area the tables show (``?area=`` in the link; a bar clicked sets it)."""
    wanted = st.query_params.get("area")
    area = st.selectbox(
        "Area",
        [None, *names],
        index=names.index(wanted) + 1 if wanted in names else 0,
        format_func=lambda a: "All areas" if a is None else a,
        key=f"logistics_area_{wanted}",
    )
    if area is None:
        st.query_params.pop("area", None)
    else:
        st.query_params["area"] = area
    return area


def area_chart(figure: object, key: str) -> None:
    """A chart of areas whose bars pick the area (in the link)."""
    event = st.plotly_chart(
        figure, width="stretch", key=key, on_select="rerun", selection_mode="points"
    )
    clicked = charts.picked(event["selection"]["points"] if event else []).get("area")
    if clicked and clicked != st.query_params.get("area"):
        st.query_params["area"] = clicked
        st.rerun()


def deliveries_tab(
    derived: Derived, opening: pd.Timestamp, now: pd.Timestamp, area: str | None
) -> None:
    events = derived["deliveries"]
    if not len(events):
        st.info(
            "No delivery events: put a deliveries.csv file (chain-of-custody events, see "
            "docs/feeds.md) in the feed folder.",
            icon=":material/local_shipping:",
        )
        return
    warn = st.slider(
        "Flag stations still waiting within this many hours of opening",
        0,
        72,
        int(logistics.WARN_HOURS),
        key="deliveries_warn",
    )
    board = logistics.board(
        derived["polling_stations"], events, derived["convoy_positions"], opening, now, warn
    )
    areas = logistics.by_area(board)
    total = areas[areas["area"] == logistics.ALL_AREAS].iloc[0]
    st.caption(
        "A station has everything when each item kind in the feed was delivered or signed "
        "for there."
    )
    kpis = st.columns(4)
    kpis[0].metric("Stations with everything", f"{total['share_delivered']:.0%}")
    kpis[1].metric("Still waiting, flagged", f"{int(total['flagged']):,}")
    kpis[2].metric("In transit", f"{int(total['in_transit']):,}")
    kpis[3].metric("Items missing", f"{int(total['missing']):,}")
    shown = board if area is None else board[board["area"] == area]
    chart_col, flagged_col = st.columns([2, 3])
    with chart_col:
        area_chart(charts.deliveries_chart(areas), "deliveries_chart")
    with flagged_col:
        flagged = shown[shown["flagged"]]
        st.subheader(f"Flagged: {len(flagged):,}")
        st.dataframe(
            flagged.drop(columns="flagged").rename(columns=COLUMNS).head(2000),
            hide_index=True,
            width="stretch",
            height=420,
            column_config=ETA,
        )
    st.subheader("Every station" if area is None else plain(f"Every station of {area}"))
    st.dataframe(
        shown.rename(columns=COLUMNS).head(20000),
        hide_index=True,
        width="stretch",
        column_config=ETA,
    )
    if len(shown) > 20000:
        st.caption(f"The first 20,000 of {len(shown):,} stations, by hours to opening.")
    st.dataframe(
        pd.DataFrame(areas).rename(columns={"share_delivered": "share with everything"}),
        hide_index=True,
        width="stretch",
    )


def training_tab(derived: Derived, area: str | None) -> None:
    sessions = derived.scene["training"]
    if not len(sessions):
        st.info(
            "No training sessions: put a training.csv file (see docs/feeds.md) in the feed folder.",
            icon=":material/school:",
        )
        return
    stations = derived["polling_stations"]
    per = logistics.trained_per_station(stations, sessions)
    per.insert(1, "name", stations["name"].to_numpy() if "name" in stations else None)
    opening = stations["status"].isin(["open", "planned", "relocated"]).to_numpy()
    areas = logistics.training_by_area(per)
    total = areas[areas["area"] == logistics.ALL_AREAS].iloc[0]
    short = per[(per["untrained"] > 0) & opening]
    kpis = st.columns(3)
    kpis[0].metric("Staff trained", f"{total['share_trained']:.0%}")
    kpis[1].metric("Stations opening with untrained staff", f"{len(short):,}")
    kpis[2].metric("Sessions", f"{len(sessions):,}")
    st.caption(
        "A session's participants count for the stations it lists (without a list, its "
        "area's stations), shared by what each needs. A station needs its staff_needed, else "
        f"{logistics.STAFF_PER_STATION}."
    )
    chart_col, short_col = st.columns([2, 3])
    with chart_col:
        area_chart(charts.training_chart(areas), "training_chart")
    with short_col:
        shown = short if area is None else short[short["area"] == area]
        st.subheader(f"Opening with untrained staff: {len(shown):,}")
        st.dataframe(
            shown.sort_values(["untrained", "station"], ascending=[False, True]).head(2000),
            hide_index=True,
            width="stretch",
            height=420,
        )
    st.dataframe(
        pd.DataFrame(areas).rename(columns={"share_trained": "share trained"}),
        hide_index=True,
        width="stretch",
    )


ETA = {"Convoy ETA (UTC)": st.column_config.DatetimeColumn(format="DD MMM HH:mm")}


page()
