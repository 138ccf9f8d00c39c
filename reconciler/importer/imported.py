"""What an import produces, whatever its source: model values plus notes.

Sources (a live org, SFDX files) build an :class:`Imported`; :mod:`.render` turns it
into YAML and :mod:`.write` puts it on disk. Keeping the values as the same frozen
model types the config loader builds lets tests compare an import with the config
loaded back from its YAML, value for value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from reconciler.errors import Problem
from reconciler.model import (
    OBJECT_PERMISSIONS,
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    PermissionSetGroup,
    User,
)

__all__ = ["Imported", "implied_object_words", "minimal_field_words", "minimal_object_words",
           "user_keys"]


@dataclass(frozen=True)
class Imported:
    """Sets, groups and users to write as config, with warnings about what was left out.

    ``users`` is keyed by (lower-case) username. ``origins`` says where each
    resource came from (a file name, for SFDX imports), by address.
    """

    source: str
    permission_sets: FrozenMap[str, PermissionSet] = field(default_factory=FrozenMap)
    permission_set_groups: FrozenMap[str, PermissionSetGroup] = field(
        default_factory=FrozenMap)
    users: FrozenMap[str, User] = field(default_factory=FrozenMap)
    origins: FrozenMap[str, str] = field(default_factory=FrozenMap)
    warnings: tuple[Problem, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.permission_sets or self.permission_set_groups or self.users)


def minimal_object_words(access: ObjectAccess) -> tuple[str, ...]:
    """The fewest permission words that imply ``access``: ``modify_all`` alone stands for
    read, edit, delete, view_all and itself."""
    granted = set(access.words)
    implied: set[str] = set()
    for word in granted:
        implied.update(w for w in ObjectAccess.of([word]).words if w != word)
    return tuple(w for w in OBJECT_PERMISSIONS if w in granted and w not in implied)


def implied_object_words(access: ObjectAccess) -> tuple[str, ...]:
    """What the org grants beyond :func:`minimal_object_words`."""
    minimal = set(minimal_object_words(access))
    return tuple(w for w in access.words if w not in minimal)


def minimal_field_words(access: FieldAccess) -> tuple[str, ...]:
    """``(edit,)`` for read and edit, ``(read,)`` for read only."""
    return ("edit",) if access.edit else access.words


_KEY_CHARS = re.compile(r"[^a-z0-9_-]+")


def user_keys(usernames: Iterable[str]) -> dict[str, str]:
    """A config key for each username, from its local part: ``mulesoft@acme.com`` →
    ``mulesoft``. Unique (``_2``, ``_3``… in username order) and always a valid key."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for username in sorted({u.casefold() for u in usernames}):
        local = username.partition("@")[0]
        base = _KEY_CHARS.sub("_", local).strip("_") or "user"
        if not (base[0].isalpha() or base[0] == "_"):
            base = "user_" + base
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        out[username] = candidate
    return out
