"""Sign-in through a real OpenID Connect provider (``oidc-provider-mock``, on a free
localhost port) in Chromium: Streamlit's ``st.login`` configured in a secrets file as
Streamlit documents it. Signed in, the person gets their role's page and data; signed
out, or once the ID token has expired, the page asks to sign in and the data route
refuses; a person the roles file does not name gets no data."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from browser import (
    data_urls,
    free_port,
    http_status,
    map_frame,
    offline_page,
    running_app,
    screenshot,
)
from conftest import audit_events

pytestmark = pytest.mark.browser

ROLES = '[users]\n"ops@m.example" = "operations"\n[groups]\n"nec-gis" = "commission"\n'
# The expiry test's ID tokens last this long: longer than sign-in to a drawn map takes on a
# busy 2-core machine (28 s seen with a cold server), so the data is seen served first.
TOKEN_S = 45


def people():  # type: ignore[no-untyped-def]
    from oidc_provider_mock import User

    return [
        User(sub="ops-1", claims={"email": "ops@m.example", "groups": ["joc"]}),
        User(sub="gis-1", claims={"email": "gis@nec.example", "groups": ["nec-gis"]}),
        User(sub="who-1", claims={"email": "stranger@else.example", "groups": []}),
    ]


@pytest.fixture
def signin(
    request: pytest.FixtureRequest, sample_folder: Path, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """The provider (tokens lasting the test's ``token_s`` mark, else an hour) and the
    dashboard configured to sign in through it; yields the dashboard's URL and its
    audit folder."""
    from oidc_provider_mock import run_server_in_thread

    mark = request.node.get_closest_marker("token_s")
    max_age = timedelta(seconds=mark.args[0]) if mark else timedelta(hours=1)
    with run_server_in_thread(user_claims=people(), access_token_max_age=max_age) as provider:
        port = free_port()
        folder = tmp_path / "secrets"
        folder.mkdir()
        auth_secrets(folder / "secrets.toml", f"http://localhost:{port}", provider.server_port)
        roles = tmp_path / "roles.toml"
        roles.write_text(ROLES)
        audit = tmp_path / "audit"
        env = {
            "POLLWATCH_FEEDS": str(sample_folder),
            "POLLWATCH_TILES": "none",
            "POLLWATCH_ROLES": str(roles),
            "POLLWATCH_AUDIT": str(audit),
        }
        args = ["--secrets.files", str(folder / "secrets.toml")]
        with running_app(env, 120, args=args, port=port):
            yield f"http://localhost:{port}", audit


def auth_secrets(path: Path, site: str, provider_port: int) -> Path:
    """Streamlit's secrets file for sign-in at ``site`` through the provider on
    ``provider_port``, as Streamlit documents it; a fresh cookie secret."""
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "{site}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(16)}"\n'
        'client_id = "pollwatch"\n'
        'client_secret = "pollwatch-secret"\n'
        "server_metadata_url = "
        f'"http://localhost:{provider_port}/.well-known/openid-configuration"\n'
    )
    return path


def sign_in(page, url: str, who: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.get_by_text("Sign in to see the election security picture.").wait_for(timeout=60_000)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=who).click(timeout=30_000)  # the provider's page
    page.wait_for_url(f"{url}/**", timeout=30_000)


def status(page, url: str) -> int:  # type: ignore[no-untyped-def]
    """What the data route answers this browser (its cookies) for ``url``."""
    return int(page.request.get(url).status)


def test_sign_in_gives_the_role_its_data_and_sign_out_stops_it(
    signin: tuple[str, Path],
) -> None:
    url, audit = signin
    with offline_page() as (page, blocked):
        data = data_urls(page)
        page.goto(url)
        page.get_by_text("Sign in to see the election security picture.").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        assert data == []  # nothing before sign-in
        sign_in(page, url, "ops-1")
        map_frame(page, 90_000)
        page.get_by_text("Signed in as ops@m.example (operations)").wait_for(timeout=30_000)
        page.wait_for_timeout(2000)
        mine = [u for u in data if "/pollwatch/data/operations/" in u]
        assert mine, data
        assert all(status(page, u) == 200 for u in mine)
        assert all(http_status(u) == 403 for u in mine)  # no cookie, no data
        screenshot(page, "oidc-signed-in.png")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="End session").click(timeout=30_000)  # the provider's
        page.get_by_text("Sign in to see the election security picture.").wait_for(timeout=60_000)
        assert all(status(page, u) == 403 for u in mine)  # the cookie is gone
        sign_in(page, url, "who-1")  # signed in, but the roles file does not name them
        page.get_by_text("You are signed in but have no role here.").wait_for(timeout=60_000)
        assert all(status(page, u) == 403 for u in mine)
        # Only the provider's own pages ask for an outside stylesheet; the dashboard nothing.
        assert [u for u in blocked if "/@picocss/" not in u] == []
    kinds = [(e["who"], e["event"]) for e in audit_events(audit)]
    assert ("ops@m.example", "sign-in") in kinds
    assert ("ops@m.example", "sign-out") in kinds
    assert ("stranger@else.example", "refused") in kinds
    assert ("stranger@else.example", "refused-request") in kinds


@pytest.mark.token_s(TOKEN_S)
def test_an_expired_sign_in_stops_the_data(signin: tuple[str, Path]) -> None:
    url, _ = signin
    with offline_page() as (page, _blocked):
        data = data_urls(page)
        sign_in(page, url, "gis-1")
        signed_in = time.monotonic()
        frame = map_frame(page, 90_000)
        # the stations drawn: their data came (a busy machine draws the frame first)
        frame.wait_for_function(
            "() => pollwatch.layers.stations && pollwatch.layers.stations.ready", timeout=60_000
        )
        page.wait_for_timeout(200)  # the responses' events, handed over in a Playwright call
        mine = [u for u in data if "/pollwatch/data/commission/" in u]
        assert mine and all(status(page, u) == 200 for u in mine), [
            (u, status(page, u)) for u in mine
        ]
        time.sleep(max(0.0, TOKEN_S + 2 - (time.monotonic() - signed_in)))
        assert all(status(page, u) == 403 for u in mine)
        page.reload()
        page.get_by_text("Your sign-in has expired.").wait_for(timeout=60_000)
        page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        assert page.locator('iframe[title="streamlit_folium.st_folium"]').count() == 0
        screenshot(page, "oidc-expired.png")
