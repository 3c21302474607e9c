"""Who is looking, and as which role: the sign-in, the roles file, "view as", and the page
shown to those who get no data.

Three ways to know who someone is, picked from the configuration:

- ``oidc``: an ``[auth]`` section in ``.streamlit/secrets.toml`` (Streamlit's
  ``st.login``, OpenID Connect);
- ``proxy``: ``server.trustedUserHeaders`` set (a reverse proxy that authenticates and
  passes the user, and the user's groups, in headers);
- ``none``: neither (the demo): everyone is served the operations role, and every page
  says so.

The role decides what the pages are given (:mod:`layers.access.policy`): this module only
finds it, once per full run of the page, and stops the run with a page of its own when
the person gets no data.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import streamlit as st
from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME
from streamlit.web.server.starlette.starlette_websocket import (
    _get_signed_cookie_with_chunks,
    gather_user_info,
)

from layers.access.audit import AuditLog, DatabaseAudit
from layers.access.policy import may
from layers.access.roles import Person, Role, RoleMap, RolesError

SIGNIN_HOURS = 12.0  # a sign-in older than this must be renewed (POLLWATCH_SIGNIN_HOURS)
T = TypeVar("T")
AUDIT_FOLDER = "audit"  # POLLWATCH_AUDIT: where the audit trail is kept (relative: to the cwd)


@dataclass(frozen=True)
class Viewer:
    """The person (None without sign-in), their own role and the role the pages show
    (another one while an operations user views as it)."""

    signin: str
    person: Person | None
    own: Role
    role: Role

    @property
    def name(self) -> str:
        if self.person is None:
            return "anyone (no sign-in)"
        return self.person.name or "?"


def signin_mode() -> str:
    """``oidc``, ``proxy`` or ``none``, from the configuration."""
    try:
        if "auth" in st.secrets:
            return "oidc"
    except FileNotFoundError:  # no secrets file at all
        pass
    return "proxy" if st.get_option("server.trustedUserHeaders") else "none"


def signin_hours() -> float:
    text = os.environ.get("POLLWATCH_SIGNIN_HOURS", "") or str(SIGNIN_HOURS)
    try:
        return max(float(text), 0.0)
    except ValueError:
        return SIGNIN_HOURS


def expired(claims: Mapping[str, object], now: float) -> bool:
    """The sign-in is past its token's ``exp``, or older (``iat``) than the hours allowed."""
    exp, iat = claims.get("exp"), claims.get("iat")
    if isinstance(exp, int | float) and now >= exp:
        return True
    return isinstance(iat, int | float) and now - iat > signin_hours() * 3600


@lru_cache(maxsize=4)  # shared by pages and the data route
def _roles(path: str, mtime_ns: int) -> RoleMap:
    return RoleMap.read(Path(path))


def roles_map() -> RoleMap:
    """The roles file of ``POLLWATCH_ROLES`` (read again when it changes); without one,
    nobody has a role. :class:`RolesError` when it cannot be used."""
    name = os.environ.get("POLLWATCH_ROLES", "")
    if not name:
        return RoleMap()
    path = Path(name)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as err:
        raise RolesError(f"POLLWATCH_ROLES: cannot read {path.name}: {err.strerror}") from err
    return _roles(str(path), stamp)


@lru_cache(maxsize=4)
def _audit_log(folder: str, database: str | None) -> AuditLog | DatabaseAudit:
    files = AuditLog(Path(folder))
    return DatabaseAudit(database, files) if database else files


def audit_log() -> AuditLog | DatabaseAudit:
    """The app's audit trail: in the database of ``POLLWATCH_DATABASE`` when set (its
    files, ``POLLWATCH_AUDIT``, only for what the database could not take), else in the
    files of ``POLLWATCH_AUDIT`` (default ``audit/``)."""
    database = (os.environ.get("POLLWATCH_DATABASE") or "").strip() or None
    return _audit_log(os.environ.get("POLLWATCH_AUDIT") or AUDIT_FOLDER, database)


def audit(event: str, detail: dict[str, object] | None = None, once: bool = False) -> None:
    """Record ``event`` for this session's viewer (``once``: once per session and detail)."""
    state = st.session_state
    found = state.get("_viewer")
    who = found.name if isinstance(found, Viewer) else state.get("_audit_who", "?")
    role = found.role.value if isinstance(found, Viewer) else "-"
    if once:
        seen = state.setdefault("_audited", set())
        mark = (event, repr(sorted((detail or {}).items())))
        if mark in seen:
            return
        seen.add(mark)
    audit_log().record(who, role, event, detail, st.context.ip_address)


def _sign_out() -> None:
    audit("sign-out")
    st.logout()


def _refuse(title: str, text: str, *, sign_in: bool = False, sign_out: bool = False) -> None:
    audit("refused", {"why": title}, once=True)
    st.title("Pollwatch")
    st.subheader(title)
    st.text(text)  # may quote a name the sign-in gave: text, never Markdown
    if sign_in:
        st.button("Sign in", on_click=st.login, type="primary")
    if sign_out:
        st.button("Sign out", on_click=_sign_out)
    st.stop()


@dataclass(frozen=True)
class Identity:
    """Who a sign-in names and their own role; ``refusal`` (empty when there is a role)
    says why they get no data: ``signed-out``, ``expired``, ``no-name``, ``roles-file``
    (``detail`` says what is wrong with it) or ``no-role``."""

    person: Person | None
    role: Role | None
    refusal: str = ""
    detail: str = ""


def identify(mode: str, claims: Mapping[str, Any], now: float) -> Identity:
    """The one rule for pages (:func:`gate`) and data requests (:func:`request_viewer`):
    without sign-in everyone is operations; otherwise a signed-in, unexpired person with
    a name and a role in the roles file."""
    if mode == "none":
        return Identity(None, Role.OPERATIONS)
    if mode == "oidc" and not claims.get("is_logged_in"):
        return Identity(None, None, "signed-out")
    if mode == "oidc" and expired(claims, now):
        return Identity(None, None, "expired")
    person = Person.from_claims(claims)
    if person.name is None:
        return Identity(person, None, "no-name")
    try:
        role = roles_map().role_of(person)
    except RolesError as err:
        return Identity(person, None, "roles-file", str(err))
    return Identity(person, role, "" if role is not None else "no-role")


def gate() -> Viewer:
    """The viewer of this run; a page of its own, and no data, for anyone without a role
    (not signed in, sign-in expired, no role in the roles file)."""
    mode = signin_mode()
    found = identify(mode, dict(st.user.to_dict()) if mode != "none" else {}, time.time())
    if found.person is not None:
        st.session_state["_audit_who"] = found.person.name or "?"
    out = mode == "oidc"  # a sign-out button where there is a sign-in to end
    if found.refusal == "signed-out":
        _refuse("Sign in to see the election security picture.", "", sign_in=True)
    elif found.refusal == "expired":
        _refuse(
            "Your sign-in has expired.",
            "Sign in again to go on seeing the picture.",
            sign_in=True,
            sign_out=True,
        )
    elif found.refusal == "no-name":
        _refuse(
            "Nobody is signed in.",
            "The sign-in gave no user name"
            + (
                " (the proxy sent no user header)."
                if mode == "proxy"
                else "; ask the administrator to check the sign-in's claims."
            ),
            sign_out=out,
        )
    elif found.refusal == "roles-file":
        _refuse("The roles file cannot be used.", found.detail, sign_out=out)
    elif found.refusal == "no-role":
        name = found.person.name if found.person is not None else "?"
        _refuse(
            "You are signed in but have no role here.",
            f"Signed in as {name}. Ask the operations centre to give you a role "
            "(operations, commission or partner) in the roles file.",
            sign_out=out,
        )
    assert found.role is not None
    viewer = Viewer(mode, found.person, found.role, found.role)
    if may(viewer.own, "view_as"):
        shown = st.sidebar.selectbox(
            "View as",
            list(Role),
            format_func=lambda r: r.label,
            key="view_as",
            help="See the pages exactly as that role sees them, to rehearse a briefing.",
        )
        viewer = Viewer(viewer.signin, viewer.person, viewer.own, shown or viewer.own)
    before = st.session_state.get("_viewer")
    st.session_state["_viewer"] = viewer
    if not isinstance(before, Viewer):
        audit("sign-in" if viewer.signin != "none" else "open", {"signin": viewer.signin})
    elif before.role is not viewer.role:
        audit("view-as", {"from": before.role.value, "to": viewer.role.value})
    return viewer


def request_claims(headers: Mapping[str, str], cookies: Mapping[str, str]) -> dict[str, Any]:
    """What ``st.user`` would hold for the session that sent this HTTP request: the
    signed sign-in cookie (checked with the server's cookie secret, for this host), then
    the proxy's trusted headers over it, as Streamlit reads them for its websocket.

    Streamlit offers no public call for this; a test signs in through a real OIDC
    provider and fetches data with and without the cookie, so a change shows."""
    claims: dict[str, Any] = {}
    decoded = _get_signed_cookie_with_chunks(dict(cookies), USER_COOKIE_NAME)
    if decoded:
        try:
            payload = json.loads(decoded)
        except ValueError:
            payload = None
        host = headers.get("host")
        if isinstance(payload, dict) and urlparse(str(payload.get("origin"))).netloc == host:
            payload.pop("origin", None)
            claims.update(payload)
    claims.update(gather_user_info(headers))  # type: ignore[arg-type]
    return claims


@dataclass(frozen=True)
class Asker:
    """Who sent an HTTP request, and their role (None: no data)."""

    name: str
    role: Role | None
    source: str | None

    def refused(self, path: str) -> None:
        role = self.role.value if self.role else "-"
        audit_log().record(self.name, role, "refused-request", {"path": path}, self.source)


def request_viewer(
    headers: Mapping[str, str], cookies: Mapping[str, str], client: Any = None
) -> Asker:
    """The person behind an HTTP request (the data route) and their own role, by the
    rule of the pages (:func:`identify`)."""
    mode = signin_mode()
    claims = request_claims(headers, cookies) if mode != "none" else {}
    found = identify(mode, claims, time.time())
    if mode == "none":
        name = "anyone (no sign-in)"
    elif found.person is None:
        name = "not signed in"
    else:
        name = found.person.name or "?"
    return Asker(name, found.role, getattr(client, "host", None))


def audit_view(page: str) -> None:
    """A page view with its filters (the address bar), once until either changes: the
    live reruns of one view are not new views."""
    query = st.query_params.to_dict()
    mark = (page, tuple(sorted(query.items())))
    if st.session_state.get("_audit_view") != mark:
        st.session_state["_audit_view"] = mark
        audit("view", {"page": page, "filters": query})


def viewer() -> Viewer:
    """The viewer :func:`gate` found in this session's last full run (the gate runs now
    when it did not: a page opened on its own gets the same checks)."""
    found = st.session_state.get("_viewer")
    if not isinstance(found, Viewer):  # a page run on its own, not through dashboard/app.py
        return gate()
    return found


def who_line(viewer: Viewer) -> None:
    """Every page: who is looking and as which role, or that no sign-in is configured."""
    side = st.sidebar
    if viewer.signin == "none":
        st.warning(
            "No sign-in is configured: anyone who can reach this server sees everything, "
            "as operations. Set up sign-in before sharing it (see the README).",
            icon=":material/lock_open:",
        )
    else:
        side.text(f"Signed in as {viewer.name} ({viewer.own.label})")
        if viewer.signin == "oidc":
            side.button("Sign out", on_click=_sign_out, key="sign_out")
    if viewer.role is not viewer.own:
        st.info(
            f"Viewing as {viewer.role.label}: this is exactly what that role sees.",
            icon=":material/visibility:",
        )


def audited_export(file: str, make: Callable[[], T]) -> Callable[[], T]:
    """``make`` (a download's content, made when the user asks for it, maybe on another
    thread) that records the export of ``file`` by this session's viewer when it runs."""
    found = st.session_state.get("_viewer")
    who = found.name if isinstance(found, Viewer) else "?"
    role = found.role.value if isinstance(found, Viewer) else "-"
    source = st.context.ip_address
    log = audit_log()

    def made() -> T:
        content = make()
        detail = {"file": file}
        if isinstance(content, bytes):  # which file it was, to tell a copy found later
            detail["sha256"] = hashlib.sha256(content).hexdigest()
        log.record(who, role, "export", detail, source)
        return content

    return made
