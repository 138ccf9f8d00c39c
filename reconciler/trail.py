"""The Setup Audit Trail as the core sees it: its rows as values, and what Setup writes.

Reading the trail (one SOQL query, parsed) is ``org/audit.py``'s job; everything here
is a pure function of values. The main part is what Setup writes in
``SetupAuditTrail.Display`` for each kind of change, as :class:`Clue` builders: a
change is explained by a row only when the row says the right thing (``assigned to
user``, ``object permissions``…) *and* names every party to it (the permission set and
the user, the set and the object…). Names are matched case-insensitively as whole
names; a set or group is known by its API name and by its labels, since Setup mostly
writes labels, and a user by username and full name, since Setup writes "assigned to
user Jane Roe". The wording is real orgs' (``shared/real-salesforce/setupaudittrail.txt``,
e.g. ``PermSetAssign``: "Permission set X: assigned to user Y"); case, spacing and
punctuation between words may differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

# A set's and a group's attributes (model names) → the fields Setup names.
SET_FIELDS = {"label": "Label", "description": "Description"}
GROUP_FIELDS = {"label": "MasterLabel", "description": "Description"}
# User attributes (model names) → User fields: what the writer sets, and what Setup
# names when somebody changes them ("Changed Email, FirstName for user …").
USER_FIELDS = {"first_name": "FirstName", "last_name": "LastName", "email": "Email",
               "alias": "Alias", "time_zone": "TimeZoneSidKey", "locale": "LocaleSidKey",
               "language": "LanguageLocaleKey", "email_encoding": "EmailEncodingKey"}


@dataclass(frozen=True)
class AuditEntry:
    """One Setup Audit Trail row."""

    at: datetime  # UTC
    by: str  # the username that made the change ("" when Setup doesn't say)
    action: str
    section: str
    display: str
    delegate: str | None = None  # who was logged in as ``by``, if anyone

    @property
    def when(self) -> str:
        """``at`` as an ISO 8601 UTC timestamp to the second."""
        return iso(self.at)


def iso(moment: datetime) -> str:
    """A UTC timestamp as ``2026-01-31T12:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any) -> datetime | None:
    """Salesforce's ``2026-01-31T12:00:00.000+0000`` (or any ISO 8601) as a UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# -- what Setup writes -------------------------------------------------------------------


def _phrase(text: str) -> re.Pattern[str]:
    # A phrase starts a word ("activated user" is not in "deactivated user"); between
    # its words any spacing or punctuation will do ("assigned to-user").
    words = [re.escape(w) for w in text.casefold().split()]
    return re.compile(r"(?<!\w)" + r"\W+".join(words))


# Around a name: not inside a longer word, username or dotted name ("INT_X" is not in
# "INT_X2", "u@acme.com" is not in "u@acme.com.uat", "Account" not in "Account.Name").
_BEFORE = r"(?<![\w.@-])"
_AFTER_NAME = r"(?![\w@-]|\.\w)"
# A label may hold spaces, so "Manual extra" would be a whole-word part of "Manual
# extra 2": Setup writes a label before a colon or a quote, or last; a row that lost
# its colon still has the verb that follows.
_AFTER_LABEL = (r"(?=\s*(?:[:\"]|$)|\W+(?:assigned|unassigned|added|removed|enabled|"
                r"disabled|changed|with|was|from)\b)")
# A user's full name too ("Jane Roe" is not "Jane Roe Jr"): Setup writes it last, or
# before "(UserID: …)", "from …", "to …" or punctuation that ends it.
_AFTER_PERSON = r"(?=\s*(?:$|[:\",;(]|\.(?!\w))|\s+(?:from|to)\b)"


def _name(text: str) -> re.Pattern[str]:
    return re.compile(_BEFORE + re.escape(text.casefold()) + _AFTER_NAME)


def _label(text: str) -> re.Pattern[str]:
    return re.compile(_BEFORE + _spaced_words(text) + _AFTER_LABEL)


def _person(text: str) -> re.Pattern[str]:
    return re.compile(_BEFORE + _spaced_words(text) + _AFTER_PERSON)


def _spaced_words(text: str) -> str:
    return r"\s+".join(re.escape(w) for w in text.casefold().split())


@dataclass(frozen=True)
class Clue:
    """How to recognise the row Setup writes for one change.

    Each group of ``phrases``, ``names``, ``labels`` and ``people`` needs one of its
    members in the row's Display; none of ``unless`` may be there. ``labels`` are the
    names of sets, groups, licences and profiles (API name or label), which Setup writes
    before a colon or at the end; ``people`` the username and full name of a user;
    ``names`` are objects, fields, permissions, attributes.
    """

    phrases: tuple[tuple[str, ...], ...] = ()
    names: tuple[tuple[str, ...], ...] = ()
    labels: tuple[tuple[str, ...], ...] = ()
    unless: tuple[str, ...] = ()
    people: tuple[tuple[str, ...], ...] = ()

    @cached_property
    def _patterns(self) -> tuple[list[list[re.Pattern[str]]], list[re.Pattern[str]]]:
        # Compiled once per clue: a report matches every item against every row.
        groups = [[_phrase(p) for p in g] for g in self.phrases]
        groups += [[_name(n) for n in g if n] for g in self.names]
        groups += [[_label(n) for n in g if n] for g in self.labels]
        groups += [[_person(n) for n in g if n] for g in self.people]
        return groups, [_phrase(u) for u in self.unless]

    def explains(self, entry: AuditEntry) -> bool:
        """Whether ``entry`` says this change happened."""
        groups, unless = self._patterns
        text = " ".join(entry.display.casefold().split())
        if any(p.search(text) for p in unless):
            return False
        return all(any(p.search(text) for p in group) for group in groups)


def _verb(added: bool) -> tuple[str, ...]:
    return ("assigned to user",) if added else ("unassigned from user",)


def set_assignment(set_names: Sequence[str], user: Sequence[str], *, added: bool) -> Clue:
    """``Permission set LABEL: assigned to user NAME`` (real wording; or unassigned).

    ``user`` holds every name the user goes by: username, full name.
    """
    return Clue(phrases=(_verb(added),), labels=(tuple(set_names),), people=(tuple(user),),
                unless=("permission set group", "permission set license"))


def group_assignment(group_names: Sequence[str], user: Sequence[str], *, added: bool) -> Clue:
    """``Permission set group LABEL: assigned to user NAME`` (or unassigned)."""
    return Clue(phrases=(("permission set group",), _verb(added)),
                labels=(tuple(group_names),), people=(tuple(user),))


def psl_assignment(psl_names: Sequence[str], user: Sequence[str], *, added: bool) -> Clue:
    """``Permission set license LABEL: assigned to user NAME`` (or unassigned)."""
    return Clue(phrases=(("permission set license",), _verb(added)),
                labels=(tuple(psl_names),), people=(tuple(user),))


def object_access(set_names: Sequence[str], sobject: str) -> Clue:
    """``Changed OBJECT object permissions for permission set LABEL: from […] to […]``."""
    return Clue(phrases=(("object permissions",),), labels=(tuple(set_names),),
                names=((sobject,),))


def field_access(set_names: Sequence[str], field_name: str) -> Clue:
    """``Changed permission set LABEL: field-level security for OBJ.FIELD was changed …``."""
    return Clue(phrases=(("field-level security",),), labels=(tuple(set_names),),
                names=((field_name,),))


def _spaced(permission: str) -> str:
    """``ApiEnabled`` → ``Api Enabled`` (Setup may show a permission's label)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", permission)


def system_permissions(set_names: Sequence[str], permissions: Iterable[str], *,
                       enabled: bool | None) -> Clue:
    """``Permission set LABEL: enabled system permission NAME`` (or disabled; None: either)."""
    perms = tuple(sorted({form for p in permissions for form in (p, _spaced(p))}))
    verbs = {True: ("enabled",), False: ("disabled",), None: ("enabled", "disabled")}[enabled]
    return Clue(phrases=(("system permission",), verbs), labels=(tuple(set_names),),
                names=(perms,))


def set_attributes(set_names: Sequence[str], attributes: Iterable[str]) -> Clue:
    """``Permission set LABEL: changed Label from "A" to "B"``."""
    fields = tuple(SET_FIELDS.get(a, a) for a in attributes)
    return Clue(phrases=(("changed",),), labels=(tuple(set_names),), names=(fields,),
                unless=("permission set group",))


def set_created(set_names: Sequence[str], license_name: str | None = None) -> Clue:
    """``Created permission set LABEL: with license L``."""
    labels: tuple[tuple[str, ...], ...] = (tuple(set_names),)
    if license_name:
        labels += ((license_name,),)
    return Clue(phrases=(("created permission set",),), labels=labels,
                unless=("created permission set group",))


def set_deleted(set_names: Sequence[str]) -> Clue:
    """``Deleted permission set LABEL``."""
    return Clue(phrases=(("deleted permission set",),), labels=(tuple(set_names),),
                unless=("deleted permission set group",))


def group_created(group_names: Sequence[str]) -> Clue:
    """``Created permission set group LABEL``."""
    return Clue(phrases=(("created permission set group",),), labels=(tuple(group_names),))


def group_deleted(group_names: Sequence[str]) -> Clue:
    """``Deleted permission set group LABEL``."""
    return Clue(phrases=(("deleted permission set group",),), labels=(tuple(group_names),))


def group_attributes(group_names: Sequence[str], attributes: Iterable[str]) -> Clue:
    """``Permission set group LABEL: changed MasterLabel from "A" to "B"``."""
    fields = tuple(GROUP_FIELDS.get(a, a) for a in attributes)
    return Clue(phrases=(("permission set group",), ("changed",)),
                labels=(tuple(group_names),), names=(fields,))


def group_component(group_names: Sequence[str], set_names: Sequence[str], *,
                    added: bool) -> Clue:
    """``Permission set group G: added permission set S`` (or removed)."""
    verb = "added permission set" if added else "removed permission set"
    # Both are labels: "Permission set group G: added permission set S".
    return Clue(phrases=((verb,),), labels=(tuple(group_names), tuple(set_names)))


def user_profile(user: Sequence[str], profiles: Sequence[str]) -> Clue:
    """``Changed profile for user NAME from P1 to P2`` (real wording)."""
    return Clue(phrases=(("changed profile for user",),), people=(tuple(user),),
                labels=(tuple(profiles),))


def user_activity(user: Sequence[str], *, activated: bool) -> Clue:
    """``Activated user NAME`` / ``Deactivated user NAME``."""
    verb = "activated user" if activated else "deactivated user"
    return Clue(phrases=((verb,),), people=(tuple(user),))


def user_attributes(user: Sequence[str], attributes: Iterable[str]) -> Clue:
    """``Changed Email, FirstName for user NAME``."""
    fields = tuple(USER_FIELDS.get(a, a) for a in attributes)
    return Clue(phrases=(("changed",),), people=(tuple(user),), names=(fields,),
                unless=("changed profile",))


def setup_entity_access(set_names: Sequence[str], entity: str) -> Clue:
    """A row naming the set and the entity whose access changed (connected app, Apex
    class…). The wording is assumed: the real rows seen name a profile's connected app
    ("Changed profile P: … connected"), not a permission set's."""
    return Clue(labels=(tuple(set_names),), names=((entity,),),
                unless=("permission set group",))
