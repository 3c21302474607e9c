"""Every page as each role gets it (AppTest with ``at.user``): sign-in, no role, expiry,
what each role's page holds, and an operations user viewing as another role."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import PROXY_HEADERS, ROOT
from layers.access.audit import AuditLog
from layers.access.policy import Restricted, shown_feeds
from layers.access.roles import Role
from layers.analysis.picture import Derived
from layers.views import exports

APP = str(ROOT / "dashboard" / "main.py")
ROLES = """
[users]
"ops@mission.example" = "operations"
[groups]
"nec-gis" = "commission"
"eu-eom" = "partner"
"""
AUTH = {  # an [auth] section: sign-in by OpenID Connect (never reached by AppTest)
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-secret-of-some-length-0123456789",
    "client_id": "pollwatch",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
USERS = {
    "operations": {"email": "ops@mission.example"},
    "commission": {"email": "gis@nec.example", "groups": ["nec-gis"]},
    "partner": {"email": "observer@eu.example", "groups": ["eu-eom"]},
}


def run_as(
    user: dict[str, object] | None,
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    page: str | None = None,
) -> AppTest:
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(folder))
    monkeypatch.setenv("POLLWATCH_ROLES", str(roles))
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["auth"] = AUTH
    now = int(time.time())
    at.user = (
        {"is_logged_in": False}
        if user is None
        else {"is_logged_in": True, "iat": now - 60, "exp": now + 3600, **user}
    )
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def everything_shown(at: AppTest) -> str:
    """Every message the page's run sent, as protobuf text (plotly specs, tables as Arrow,
    labels, captions), and the cells of every table: what the browser would be given."""

    def protos(node: object) -> list[str]:
        found = [str(node.proto)] if getattr(node, "proto", None) is not None else []
        for child in getattr(node, "children", {}).values():
            found += protos(child)
        return found

    parts = protos(at._tree)
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    return "\n".join(parts)


@pytest.fixture(scope="module")
def secrets_of(sample_folder: Path, operations_only: dict[str, list[str]]) -> dict[str, list[str]]:
    """What only operations may see: unit names, cargo, convoys, incidents' free text."""
    incidents = pd.read_csv(sample_folder / "incidents.csv")
    return {
        **operations_only,
        "description": sorted(set(incidents["description"].dropna().astype(str)))[:50],
    }


def test_nobody_signed_in_gets_a_sign_in_page_and_no_data(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_as(None, sample_folder, tmp_path, monkeypatch)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe
    assert "Sign in to see" in at.subheader[0].value


def test_a_signed_in_user_without_a_role_gets_no_data(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_as({"email": "stranger@example.com"}, sample_folder, tmp_path, monkeypatch)
    assert "no role" in at.subheader[0].value
    assert "stranger@example.com" in at.text[0].value
    assert not at.metric and not at.dataframe


def test_an_expired_sign_in_stops_the_data(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expired = {**USERS["operations"], "exp": int(time.time()) - 1}
    at = run_as(expired, sample_folder, tmp_path, monkeypatch)
    assert "expired" in at.subheader[0].value
    assert not at.metric and not at.dataframe
    monkeypatch.setenv("POLLWATCH_SIGNIN_HOURS", "0.01")  # signed in a minute ago: too old
    at = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch)
    assert "expired" in at.subheader[0].value


def test_operations_see_units_convoys_and_incident_text(
    sample_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets_of: dict[str, list[str]],
) -> None:
    at = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch)
    assert "Convoys en route" in [m.label for m in at.metric]
    assert "Signed in as ops@mission.example (operations)" in everything_shown(at)
    shown = everything_shown(at)
    assert any(c in shown for c in secrets_of["convoy"])  # the scan can find them
    cov = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch, "coverage.py")
    assert any(u in everything_shown(cov) for u in secrets_of["unit"])


@pytest.mark.parametrize("role", ["commission", "partner"])
def test_commission_and_partner_pages_hold_no_unit_cargo_or_incident_text(
    role: str,
    sample_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets_of: dict[str, list[str]],
) -> None:
    first = run_as(USERS[role], sample_folder, tmp_path, monkeypatch)
    pages = (
        ["operations.py", "coverage.py", "logistics.py"]
        if role == "commission"
        else ["briefing.py"]
    )
    for page in pages:
        at = run_as(USERS[role], sample_folder, tmp_path, monkeypatch, page)
        shown = everything_shown(at)
        for kind, values in secrets_of.items():
            leaked = [v for v in values if v in shown]
            assert leaked == [], f"{role} on {page} sees {kind}: {leaked[:3]}"
        assert "Convoys en route" not in [m.label for m in at.metric]
    assert "Feeds" not in repr(first.sidebar)  # the Feeds page quotes rows: operations only


def test_the_partner_gets_sums_per_area_and_no_coverage_state(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_as(USERS["partner"], sample_folder, tmp_path, monkeypatch)
    assert at.title[0].value == "Briefing"
    table = at.dataframe[0].value
    stations = pd.read_csv(sample_folder / "polling_stations.csv")
    assert table["stations"].sum() == len(stations)
    assert {"area", "registered_voters", "voters_covered_pct", "incidents"} <= set(table.columns)
    assert not {"covered", "uncovered", "coverage_state"} & set(table.columns)


def test_operations_can_view_as_the_partner(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch)
    at.sidebar.selectbox(key="view_as").set_value("partner").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Briefing"
    assert "Viewing as partner" in everything_shown(at)


def test_behind_a_proxy_the_headers_name_the_user_and_groups(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``server.trustedUserHeaders``: st.user holds what the proxy's headers said (groups
    comma-separated); no header, no data."""
    from streamlit import config

    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES)
    monkeypatch.setenv("POLLWATCH_FEEDS", str(sample_folder))
    monkeypatch.setenv("POLLWATCH_ROLES", str(roles))
    before = config.get_option("server.trustedUserHeaders")
    config.set_option("server.trustedUserHeaders", PROXY_HEADERS)
    try:
        at = AppTest.from_file(APP, default_timeout=90)
        at.user = {"email": "gis@nec.example", "groups": "visitors, nec-gis"}
        at.run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Operations"
        assert "Signed in as gis@nec.example (electoral commission)" in everything_shown(at)
        assert "Convoys en route" not in [m.label for m in at.metric]
        at = AppTest.from_file(APP, default_timeout=90)
        at.user = {"email": None, "groups": None}  # the proxy sent no user
        at.run()
        assert "Nobody is signed in" in at.subheader[0].value
        assert not at.metric and not at.dataframe
    finally:
        config.set_option("server.trustedUserHeaders", before)


def test_sign_in_views_role_switches_and_exports_are_audited_for_operations_only(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_AUDIT", str(tmp_path / "audit"))
    at = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch)
    at.sidebar.selectbox(key="view_as").set_value(Role.COMMISSION).run()
    today = dt.datetime.now(dt.UTC).date()
    events = AuditLog(tmp_path / "audit").read(today, today).events
    assert list(events["event"])[:2] == ["sign-in", "view"]
    switch = events[events["event"] == "view-as"].iloc[0]
    assert switch["who"] == "ops@mission.example"
    assert switch["detail"] == {"from": "operations", "to": "commission"}
    ops = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch, "audit.py")
    table = ops.dataframe[0].value
    assert {"sign-in", "view", "view-as"} <= set(table["event"])
    assert "Audit" in everything_shown(ops)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not offered
        run_as(USERS["commission"], sample_folder, tmp_path, monkeypatch, "audit.py")
    monkeypatch.setenv("POLLWATCH_FEEDS", str(sample_folder))
    alone = AppTest.from_file(str(ROOT / "dashboard" / "audit.py"), default_timeout=60)
    alone.secrets["auth"] = AUTH
    now = int(time.time())
    alone.user = {"is_logged_in": True, "iat": now, "exp": now + 60, **USERS["commission"]}
    alone.run()  # the page opened on its own: the gate runs, the log stays closed
    assert not alone.dataframe
    assert any("for operations only" in t.value for t in alone.text)
    refused = run_as({"email": "stranger@example.com"}, sample_folder, tmp_path, monkeypatch)
    assert refused.subheader
    events = AuditLog(tmp_path / "audit").read(today, today).events
    assert "refused" in set(events["event"])


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (
            "operations",
            [
                "polling stations",
                "incidents",
                "patrols",
                "convoys",
                "training by area",
                "storage sites",
                "convoy routes",
                "deliveries",
                "area figures",
            ],
        ),
        (
            "commission",
            ["polling stations", "incidents", "training by area", "deliveries", "area figures"],
        ),
    ],
)
def test_each_role_takes_away_only_what_it_sees(
    role: str,
    offered: list[str],
    sample_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets_of: dict[str, list[str]],
    derived: Derived,
) -> None:
    """The operations page's downloads: the layers the role sees as rows, as filtered,
    in every format; a commission file holds no unit, cargo, convoy or incident text."""
    at = run_as(USERS[role], sample_folder, tmp_path, monkeypatch)
    box = at.selectbox(key="takeaway_what")
    assert box.options == offered
    assert [b.label for b in at.get("download_button")][-3:] == list(exports.FORMATS)
    picture = Restricted().picture(derived, Role(role))
    sets = exports.takeaway(picture, shown_feeds(Role(role)))
    files = b"".join(
        exports.encoded(frame, fmt, tags)
        for frame, tags in sets.values()
        for fmt in exports.FORMATS
    ).decode("utf-8-sig", errors="replace")
    if role == "operations":  # the check can find them (in the layers taken away)
        taken = ("unit", "cargo", "convoy", "description")
        assert all(any(v in files for v in secrets_of[kind]) for kind in taken)
        return
    for kind, values in secrets_of.items():
        leaked = [v for v in values if v in files]
        assert leaked == [], f"{role}'s downloads hold {kind}: {leaked[:3]}"


def pack_text(at: AppTest) -> tuple[str, str]:
    """Make the briefing pack on ``at``'s page; its file name and text (pypdf)."""
    import io

    from pypdf import PdfReader

    at.button(key="pack_make").click().run()
    assert not at.exception, at.exception
    name, data, mime = at.session_state["pack_file"]
    assert mime == "application/pdf"
    reader = PdfReader(io.BytesIO(data))
    return name, "\n".join(page.extract_text() for page in reader.pages)


def test_the_feeds_and_audit_pages_make_a_pack_of_what_they_show(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page has its pack (these two are for operations only): the Feeds page's holds
    each feed's state and the problems; the Audit page's the events as filtered. No map,
    and nothing to compare."""
    monkeypatch.setenv("POLLWATCH_AUDIT", str(tmp_path / "audit"))
    at = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch, "feeds.py")
    name, text = pack_text(at)
    assert name.startswith("briefing-operations-")
    assert "Feeds: freshness and data quality" in text and "incidents.csv" in text
    assert "Map of the view" not in text and "What changed since" not in text
    assert "ops@mission.example (" in text
    at = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch, "audit.py")
    at.multiselect(key="audit_event").set_value(["view"]).run()
    name, text = pack_text(at)
    assert "Audit trail" in text and "event: view" in text
    assert "ops@mission.example" in text and "sign-in" not in text.split("Events, newest")[1]
    today = dt.datetime.now(dt.UTC).date()
    events = AuditLog(tmp_path / "audit").read(today, today).events
    assert name in {d.get("file") for d in events["detail"] if isinstance(d, dict)}


def test_a_pack_compares_with_a_chosen_time_or_the_last_pack_even_after_a_restart(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import packs

    monkeypatch.setenv("POLLWATCH_AUDIT", str(tmp_path / "audit"))
    packs._last_moments.clear()
    at = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch)
    at.radio(key="pack_since").set_value(packs.CHOSEN).run()
    chosen = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=2)
    at.date_input(key="pack_day").set_value(chosen.date()).run()
    at.time_input(key="pack_time").set_value(dt.time(6, 30)).run()
    _, text = pack_text(at)
    assert f"What changed since {chosen:%d %b %Y} 06:30 UTC (incidents only" in text
    assert "new incidents" in text
    packs._last_moments.clear()  # as after a restart: the last pack's picture was kept
    at.radio(key="pack_since").set_value("the last pack").run()
    _, text = pack_text(at)
    assert "What changed since the last pack in this role (" in text
    assert "No new incidents." in text  # the same picture


def test_a_pack_is_made_from_faulty_feeds_and_says_what_is_wrong(
    sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed of random bytes and one cut off mid-row: the pack is made all the same,
    with the failed feed and the problems in it."""
    import shutil

    folder = tmp_path / "faulty"
    shutil.copytree(sample_folder, folder)
    (folder / "incidents.csv").write_bytes(bytes(range(256)) * 4000)
    stations = (folder / "polling_stations.csv").read_bytes()
    (folder / "polling_stations.csv").write_bytes(stations[: len(stations) // 2] + b'\n"S9')
    monkeypatch.setenv("POLLWATCH_AUDIT", str(tmp_path / "audit"))
    at = run_as(USERS["operations"], folder, tmp_path, monkeypatch, "feeds.py")
    _, text = pack_text(at)
    assert "incidents.csv" in text and "failed" in text
    assert "Data quality" in text and "No problems reported." not in text
    assert "NaT" not in text and "nan" not in text.split()  # no time or number is "none"


@pytest.mark.parametrize("role", ["commission", "partner"])
def test_the_after_action_review_is_offered_to_operations_only(
    role: str, sample_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = run_as(USERS["operations"], sample_folder, tmp_path, monkeypatch, "review.py")
    assert [t.value for t in ops.title] == ["After-action review"]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        run_as(USERS[role], sample_folder, tmp_path, monkeypatch, "review.py")
