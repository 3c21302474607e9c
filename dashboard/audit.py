"""The Audit page (operations only): who signed in, looked at what, switched roles,
exported files or was refused, with filters."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard.access import audit_log, viewer, who_line
from dashboard.common import current_scene, plain
from dashboard.packs import View as PackView
from dashboard.packs import pack_panel
from layers.access.policy import may


def page() -> None:
    st.title("Audit")
    me = viewer()
    who_line(me)
    if not may(me.own, "audit") or not may(me.role, "audit"):  # also while viewing as another
        st.text("The audit trail is for operations only.")
        return
    today = dt.datetime.now(dt.UTC).date()
    picked = st.date_input(
        "Days (UTC)", (today - dt.timedelta(days=1), today), max_value=today, key="audit_days"
    )
    first, last = (
        (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (today, today)
    )
    found = audit_log().read(first, last)
    if found.unreached:
        st.warning(
            plain(f"Not every event is shown: {found.unreached}."), icon=":material/warning:"
        )
    events = found.events
    left, middle, right = st.columns(3)
    who = left.multiselect("Who", sorted(events["who"].dropna().unique()), key="audit_who")
    kinds = middle.multiselect(
        "Event", sorted(events["event"].dropna().unique()), key="audit_event"
    )
    roles = right.multiselect("Role", sorted(events["role"].dropna().unique()), key="audit_role")
    if who:
        events = events[events["who"].isin(who)]
    if kinds:
        events = events[events["event"].isin(kinds)]
    if roles:
        events = events[events["role"].isin(roles)]
    st.caption(
        f"{len(events):,} events, newest first."
        + (
            f" {found.unreadable:,} lines could not be read (cut by a crash)."
            if found.unreadable
            else ""
        )
    )
    shown = events.sort_values("time", ascending=False).assign(
        detail=events["detail"].map(lambda d: "" if not d else str(d))
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    settings, scene = current_scene()
    filters = [
        f"{name}: {', '.join(map(str, v))}"
        for name, v in (("who", who), ("event", kinds), ("role", roles))
        if v
    ]
    pack_panel(
        settings,
        scene,
        PackView(
            title="Audit trail",
            words=f"{first:%d %b %Y} to {last:%d %b %Y} (UTC)" + "".join(f"; {f}" for f in filters),
            figures=[
                ("Events", f"{len(events):,}"),
                ("People", f"{events['who'].nunique():,}"),
                ("Exports", f"{int((events['event'] == 'export').sum()):,}"),
                ("Refused", f"{int(events['event'].astype(str).str.contains('refused').sum()):,}"),
            ],
            frames={},
            charts=list,
            areas=pd.DataFrame(),
            tables=lambda: [("Events, newest first", shown)],
            draw=None,
            compare=False,
        ),
    )


def _values(events: pd.DataFrame, column: str) -> list[str]:
    return sorted(events[column].dropna().astype(str).unique())


page()
