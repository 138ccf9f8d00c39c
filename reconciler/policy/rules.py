"""Rules, scopes and waivers as values (:mod:`.declared` makes them from a config)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase

from reconciler.config import Location
from reconciler.model import User, is_integration_user_license

__all__ = ["Policy", "Rule", "Scope", "Waiver", "matches"]


def matches(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``name`` matches one of ``patterns`` (``*``, ``?``), ignoring case."""
    folded = name.casefold()
    return any(fnmatchcase(folded, p.casefold()) for p in patterns)


@dataclass(frozen=True)
class Scope:
    """Which users a rule covers, and through which sets their access counts; an empty
    tuple does not narrow."""

    licenses: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    permission_sets: tuple[str, ...] = ()

    def covers(self, user: User) -> bool:
        """Whether ``user`` is in scope (by license and username)."""
        if self.users and not matches(user.username, self.users):
            return False
        return not self.licenses or any(_holds_license(user, name) for name in self.licenses)

    def counts(self, holder: str) -> bool:
        """Whether access granted through the set (or profile) ``holder`` counts."""
        return not self.permission_sets or matches(holder, self.permission_sets)

    def __str__(self) -> str:
        parts = [f"{what} {', '.join(values)}" for what, values in (
            ("license", self.licenses), ("users", self.users),
            ("through sets", self.permission_sets)) if values]
        return "; ".join(parts) or "every user"


def _holds_license(user: User, name: str) -> bool:
    if is_integration_user_license(name):
        return user.integration  # known from the license, or from an integration profile
    return user.license is not None and user.license.casefold() == name.casefold()


@dataclass(frozen=True)
class Rule:
    """One rule: every check it carries is evaluated on each user in scope.

    Object checks are (object pattern, words); an allow list (``allow_*``) is None when
    the rule has none. ``except_objects`` exempts objects from ``deny_objects``.
    """

    id: str
    title: str
    reason: str
    sources: tuple[str, ...] = ()
    scope: Scope = Scope()
    deny_system: tuple[str, ...] = ()
    allow_system: tuple[str, ...] | None = None
    require_system: tuple[str, ...] = ()
    deny_objects: tuple[tuple[str, tuple[str, ...]], ...] = ()
    except_objects: tuple[str, ...] = ()
    allow_objects: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    deny_field_edit: tuple[str, ...] = ()
    deny_setup: tuple[tuple[str, tuple[str, ...]], ...] = ()
    allow_setup: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    max_objects_with_edit: int | None = None
    require_description: bool = False
    #: Where the rule (or its rule set) is written.
    location: Location | None = None


@dataclass(frozen=True)
class Waiver:
    """A rule switched off for a user (``kind`` user) or a set's grants (``kind`` set)."""

    rule: str
    kind: str
    name: str
    reason: str
    expires: date | None
    location: Location | None = None

    def expired(self, today: date) -> bool:
        """Past its last day."""
        return self.expires is not None and today > self.expires

    def subject(self) -> str:
        return f"{'user' if self.kind == 'user' else 'permission set'} {self.name}"


@dataclass(frozen=True)
class Policy:
    """The rules in force and the waivers written."""

    rules: tuple[Rule, ...] = ()
    waivers: tuple[Waiver, ...] = ()
