"""An :class:`Imported` as config files: one YAML file per kind, comments included.

``permission_sets.yaml``, ``permission_set_groups.yaml`` and ``users.yaml`` (a kind
with nothing to import gets no file). Resources are sorted by name, attributes come
in the order of the language reference, implied permission words are left out, and
a trailing comment says what Salesforce derives: the words an entry implies, a
user's license (fixed by the profile).
"""

from __future__ import annotations

from reconciler.importer.imported import (
    Imported,
    implied_object_words,
    minimal_field_words,
    minimal_object_words,
    user_keys,
)
from reconciler.importer.yamltext import Block, flow_list, key, scalar
from reconciler.model import (
    INTEGRATION_USER_LICENSE,
    SETUP_ENTITY_TYPES,
    PermissionSet,
    PermissionSetGroup,
    User,
)
from reconciler.org.discover import FULL_USER_LICENSE, Candidates

__all__ = ["FILE_NAMES", "candidates_lines", "render"]

#: The file each kind is written to.
FILE_NAMES = {
    "permission_sets": "permission_sets.yaml",
    "permission_set_groups": "permission_set_groups.yaml",
    "users": "users.yaml",
}

_IMPLIED_NOTE = ("Implied permissions are left out, as Setup adds them: create, edit and "
                 "view_all imply\nread; delete implies read and edit; modify_all implies "
                 "read, edit, delete and\nview_all; field edit implies read. A trailing "
                 "comment shows what the org derives.")


def render(imported: Imported) -> dict[str, str]:
    """File name → YAML text, for each kind that has something to write."""
    out: dict[str, str] = {}
    if imported.permission_sets:
        out[FILE_NAMES["permission_sets"]] = _sets(imported)
    if imported.permission_set_groups:
        out[FILE_NAMES["permission_set_groups"]] = _groups(imported)
    if imported.users:
        out[FILE_NAMES["users"]] = _users(imported)
    return out


def _header(block: Block, what: str, imported: Imported) -> None:
    block.comment(f"{what} imported by `reconciler import` from {imported.source}.")


def _origin(block: Block, imported: Imported, address: str) -> None:
    origin = imported.origins.get(address)
    if origin:
        block.comment(f"from {origin}", indent=2)


def _sets(imported: Imported) -> str:
    block = Block()
    _header(block, "Permission sets", imported)
    block.comment(_IMPLIED_NOTE)
    block.blank()
    block.line("permission_sets:")
    for i, ps in enumerate(sorted(imported.permission_sets.values(),
                                  key=lambda p: p.name.casefold())):
        if i:
            block.blank()
        _origin(block, imported, f"permission_sets.{ps.name}")
        _set(block, ps)
    return block.text()


def _set(block: Block, ps: PermissionSet) -> None:
    block.line(f"  {key(ps.name)}:")
    block.entry(4, "label", scalar(ps.label))
    if ps.description:
        block.entry(4, "description", scalar(ps.description))
    if ps.license:
        block.entry(4, "license", scalar(ps.license))
    if ps.system_permissions:
        block.string_list(4, "system_permissions",
                          sorted(ps.system_permissions, key=str.casefold), interpolated=False)
    if ps.objects:
        block.line("    objects:")
        for obj, access in ps.objects.items():
            implied = implied_object_words(access)
            block.entry(6, key(obj), flow_list(minimal_object_words(access)),
                        f"implies {', '.join(implied)}" if implied else "")
    if ps.fields:
        block.line("    fields:")
        for name, faccess in ps.fields.items():
            block.entry(6, key(name), flow_list(minimal_field_words(faccess)),
                        "implies read" if faccess.edit else "")
    for config_key, entity_type in SETUP_ENTITY_TYPES.items():
        names = sorted((e.name for e in ps.setup_entities if e.type == entity_type),
                       key=str.casefold)
        if names:
            block.string_list(4, config_key, names, interpolated=False)


def _groups(imported: Imported) -> str:
    block = Block()
    _header(block, "Permission set groups", imported)
    block.blank()
    block.line("permission_set_groups:")
    for i, group in enumerate(sorted(imported.permission_set_groups.values(),
                                     key=lambda g: g.name.casefold())):
        if i:
            block.blank()
        _origin(block, imported, f"permission_set_groups.{group.name}")
        _group(block, group)
    return block.text()


def _group(block: Block, group: PermissionSetGroup) -> None:
    block.line(f"  {key(group.name)}:")
    block.entry(4, "label", scalar(group.label))
    if group.description:
        block.entry(4, "description", scalar(group.description))
    if group.permission_sets:
        block.string_list(4, "permission_sets",
                          sorted(group.permission_sets, key=str.casefold), interpolated=False)


def _users(imported: Imported) -> str:
    block = Block()
    _header(block, "Users", imported)
    block.comment("Every attribute the org holds is written, so a plan against the same org "
                  "shows no change.")
    block.blank()
    block.line("users:")
    keys = user_keys(imported.users)
    for i, user in enumerate(sorted(imported.users.values(), key=lambda u: keys[u.username])):
        if i:
            block.blank()
        _user(block, keys[user.username], user)
    return block.text()


def _user(block: Block, name: str, user: User) -> None:
    block.line(f"  {key(name)}:")
    block.entry(4, "username", scalar(user.username))
    if user.first_name:
        block.entry(4, "first_name", scalar(user.first_name))
    block.entry(4, "last_name", scalar(user.last_name))
    block.entry(4, "email", scalar(user.email))
    block.entry(4, "alias", scalar(user.alias))
    block.entry(4, "profile", scalar(user.profile))
    if user.license:
        block.entry(4, "license", scalar(user.license),
                    "derived: the profile fixes the user license")
    for attr in ("permission_set_licenses", "permission_sets", "permission_set_groups"):
        values: frozenset[str] = getattr(user, attr)
        if values:
            block.string_list(4, attr, sorted(values, key=str.casefold),
                              interpolated=attr == "permission_set_licenses")
    block.entry(4, "active", scalar(user.active))
    for attr in ("time_zone", "locale", "language", "email_encoding"):
        block.entry(4, attr, scalar(getattr(user, attr)))


def candidates_lines(found: Candidates) -> list[str]:
    """``import --integration-candidates`` as lines of text."""
    lines: list[str] = []
    if found.users:
        n = len(found.users)
        lines.append(f"{n} active user{'' if n == 1 else 's'} on the full {FULL_USER_LICENSE} "
                     f"license {'is' if n == 1 else 'are'} API-only: candidate"
                     f"{'' if n == 1 else 's'} for the cheaper {INTEGRATION_USER_LICENSE} "
                     "license")
        for c in found.users:
            who = f"{c.name}, " if c.name else ""
            lines.append(f"  {c.username} ({who}profile {c.profile}): {'; '.join(c.reasons)}")
    else:
        lines.append(f"No active user on the full {FULL_USER_LICENSE} license is API-only.")
    seats = []
    for what, s in (("license", found.integration_license),
                    ("permission set license", found.integration_psl)):
        if s is not None:
            seats.append(f"{s.license} {what}: {s.free} of {s.total} seats free")
    if seats:
        lines.append("; ".join(seats) + ".")
    else:
        lines.append(f"This org has no {INTEGRATION_USER_LICENSE} license.")
    return lines
