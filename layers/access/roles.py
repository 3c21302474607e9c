"""Who may see what: the three roles and the file that gives each person one.

``POLLWATCH_ROLES`` names a TOML file mapping users (by e-mail or name, as the sign-in
gives them) and groups to exactly one role::

    [users]
    "ops.lead@mission.example" = "operations"
    "observer@eu.example" = "partner"
    [groups]
    "joc" = "operations"
    "nec-gis" = "commission"

A person's own entry wins over their groups. A person in groups of different roles gets
the one that sees least (a partner group and an operations group make a partner): a
mistake in the file then hides data instead of showing it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class Role(str, Enum):
    """The three audiences, from the one that sees most to the one that sees least."""

    OPERATIONS = "operations"
    COMMISSION = "commission"
    PARTNER = "partner"

    @property
    def label(self) -> str:
        return {
            Role.OPERATIONS: "operations",
            Role.COMMISSION: "electoral commission",
            Role.PARTNER: "partner",
        }[self]


LEAST_FIRST = (Role.PARTNER, Role.COMMISSION, Role.OPERATIONS)


class RolesError(ValueError):
    """The roles file cannot be used; the message says where and what to do."""


@dataclass(frozen=True)
class Person:
    """Who signed in, as the sign-in (OIDC claims or the proxy's headers) names them."""

    name: str | None
    groups: tuple[str, ...] = ()

    @classmethod
    def from_claims(cls, claims: Mapping[str, object]) -> Person:
        """From ``st.user``: ``email`` (else ``preferred_username``, ``name``, ``sub``) and
        ``groups``, a list or a comma-separated string (as a proxy's header sends it)."""
        name = next(
            (
                str(claims[k]).strip()
                for k in ("email", "preferred_username", "name", "sub")
                if isinstance(claims.get(k), str) and str(claims[k]).strip()
            ),
            None,
        )
        raw = claims.get("groups")
        groups: Iterable[object] = (
            raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list | tuple) else ()
        )
        return cls(name, tuple(g for g in (str(g).strip() for g in groups) if g))


@dataclass(frozen=True)
class RoleMap:
    """Users and groups to roles; names compare without regard to case."""

    users: Mapping[str, Role] = field(default_factory=dict)
    groups: Mapping[str, Role] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> RoleMap:
        """The roles file at ``path``; :class:`RolesError` names what is wrong in it."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise RolesError(f"POLLWATCH_ROLES: cannot read {path.name}: {err.strerror}") from err
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise RolesError(
                f"POLLWATCH_ROLES: {path.name} is not valid TOML ({err}); "
                'write it as [users] "name" = "operations" and [groups] "group" = "partner".'
            ) from err
        unknown = set(data) - {"users", "groups"}
        if unknown:
            raise RolesError(
                f"POLLWATCH_ROLES: {path.name} has sections {sorted(unknown)}; "
                "only [users] and [groups] are read."
            )
        return cls(
            _entries(data.get("users", {}), "users", path),
            _entries(data.get("groups", {}), "groups", path),
        )

    def role_of(self, person: Person) -> Role | None:
        """The role of ``person``: their own entry, else the least of their groups' roles,
        else ``None`` (no role: they get no data)."""
        if person.name is not None:
            own = self.users.get(person.name.casefold())
            if own is not None:
                return own
        found = {self.groups[g.casefold()] for g in person.groups if g.casefold() in self.groups}
        return next((role for role in LEAST_FIRST if role in found), None)


def _entries(table: object, section: str, path: Path) -> dict[str, Role]:
    if not isinstance(table, dict):
        raise RolesError(f"POLLWATCH_ROLES: [{section}] in {path.name} must be a table.")
    entries: dict[str, Role] = {}
    for name, value in table.items():
        try:
            role = Role(str(value).strip().lower())
        except ValueError:
            raise RolesError(
                f"POLLWATCH_ROLES: [{section}] {name!r} in {path.name} has role {value!r}; "
                f"use one of {', '.join(r.value for r in Role)}."
            ) from None
        key = name.strip().casefold()
        if key in entries and entries[key] != role:
            raise RolesError(
                f"POLLWATCH_ROLES: [{section}] {name!r} appears twice in {path.name} with "
                "different roles; keep one."
            )
        entries[key] = role
    return entries
