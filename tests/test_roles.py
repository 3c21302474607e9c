"""Roles from the roles file, and what each role's picture holds (decided on the server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from layers.access.policy import Restricted, Sight, restrict_scene, shown_feeds, view
from layers.access.roles import Person, Role, RoleMap, RolesError

ROLES = """
[users]
"Ops.Lead@mission.example" = "operations"
"observer@eu.example" = "partner"
[groups]
"joc" = "operations"
"nec-gis" = "commission"
"eu-eom" = "partner"
"""


@pytest.fixture
def roles(tmp_path: Path) -> RoleMap:
    path = tmp_path / "roles.toml"
    path.write_text(ROLES)
    return RoleMap.read(path)


def test_a_user_entry_wins_and_names_compare_without_case(roles: RoleMap) -> None:
    assert roles.role_of(Person("ops.lead@mission.example")) is Role.OPERATIONS
    assert roles.role_of(Person("observer@eu.example", ("joc",))) is Role.PARTNER


def test_groups_give_the_role_that_sees_least(roles: RoleMap) -> None:
    assert roles.role_of(Person("x@nec.example", ("NEC-GIS",))) is Role.COMMISSION
    assert roles.role_of(Person("y@example", ("joc", "eu-eom"))) is Role.PARTNER
    assert roles.role_of(Person("z@example", ("joc", "nec-gis"))) is Role.COMMISSION


def test_nobody_else_has_a_role(roles: RoleMap) -> None:
    assert roles.role_of(Person("stranger@example", ("visitors",))) is None
    assert roles.role_of(Person(None)) is None


def test_claims_and_proxy_headers_name_a_person() -> None:
    assert Person.from_claims({"email": "a@b", "groups": ["joc", " x "]}) == Person(
        "a@b", ("joc", "x")
    )
    assert Person.from_claims({"email": "a@b", "groups": "joc, nec-gis"}).groups == (
        "joc",
        "nec-gis",
    )
    assert Person.from_claims({"preferred_username": "ops1"}).name == "ops1"
    assert Person.from_claims({}).name is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[users]\n"a@b" = "admin"\n', "use one of operations, commission, partner"),
        ('[users\n"a@b" = "partner"\n', "not valid TOML"),
        ('[people]\n"a@b" = "partner"\n', "only [users] and [groups]"),
        ('[users]\n"A@b" = "partner"\n"a@B" = "operations"\n', "appears twice"),
        ('users = "partner"\n', "must be a table"),
    ],
)
def test_a_bad_roles_file_says_what_to_fix(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "roles.toml"
    path.write_text(text)
    with pytest.raises(RolesError, match=re.escape(says)):
        RoleMap.read(path)
    with pytest.raises(RolesError, match="cannot read"):
        RoleMap.read(tmp_path / "missing.toml")


SENSITIVE_STATION_COLUMNS = {"covering_bases", "nearest_base", "nearest_base_m", "nearest_base_km"}


def test_commission_sees_coverage_and_incidents_without_units_convoys_or_text(derived) -> None:  # type: ignore[no-untyped-def]
    seen = Restricted().picture(derived, Role.COMMISSION)
    assert len(seen["polling_stations"]) == len(derived["polling_stations"])
    assert "coverage_state" in seen["polling_stations"]
    assert not SENSITIVE_STATION_COLUMNS & set(seen["polling_stations"].columns)
    incidents = seen["incidents"]
    assert len(incidents) == len(derived["incidents"]) and incidents.geometry.notna().all()
    assert not {"description", "source", "fatalities"} & set(incidents.columns)
    for hidden in ("patrols", "convoy_routes", "convoy_positions"):
        assert len(derived[hidden]) > 0
        assert len(seen[hidden]) == 0 and len(seen.scene[hidden]) == 0
        assert hidden in seen.scene.hidden and hidden not in seen.scene.shown_versions
        version = seen.scene.versions[hidden]  # kept for cache keys only
        assert version.path is None and version.problems == [] and len(version.data) == 0
    assert shown_feeds(Role.COMMISSION) == [
        "areas",
        "training",
        "polling_stations",
        "deliveries",
        "incidents",
    ]


def test_partner_gets_incidents_without_location_and_stations_without_coverage(derived) -> None:  # type: ignore[no-untyped-def]
    seen = Restricted().picture(derived, Role.PARTNER)
    assert view(Role.PARTNER, "incidents").sight is Sight.COUNTS
    incidents = seen["incidents"]
    assert len(incidents) == len(derived["incidents"])
    assert incidents.geometry.isna().all()
    assert set(incidents.columns) <= {
        "time",
        "type",
        "category",
        "severity",
        "area",
        "source_row",
        "geometry",
    }
    stations = seen["polling_stations"]
    assert not {"covered", "coverage_state", *SENSITIVE_STATION_COLUMNS} & set(stations.columns)
    assert stations.geometry.notna().all()  # the station list is public
    assert seen.scene["incidents"].geometry.isna().all()
    assert shown_feeds(Role.PARTNER) == ["areas", "polling_stations"]


def test_operations_see_everything_and_a_role_is_restricted_once_per_version(derived) -> None:  # type: ignore[no-untyped-def]
    restricted = Restricted()
    assert restricted.picture(derived, Role.OPERATIONS) is derived
    first = restricted.picture(derived, Role.PARTNER)
    assert restricted.picture(derived, Role.PARTNER) is first
    assert restricted.picture(derived, Role.COMMISSION) is not first
    assert restrict_scene(derived.scene, Role.OPERATIONS) is derived.scene
