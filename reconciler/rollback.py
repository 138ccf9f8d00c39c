"""Rollback: an apply's journal → the desired state that returns what the apply touched
to the state it replaced, planned like any config.

Pure: the shell reads the org (:func:`claims` says what) and hands over the snapshot.
Nothing here writes or orders anything: :func:`build` makes a :class:`Config`
whose users, sets and groups are the org's own, with each item the apply changed set
back, and the ordinary pipeline (:func:`reconciler.plan.plan_from_live`: diff, checks,
order) makes the plan. So a rollback is shown, saved, proved and applied as any plan.

Each item an action of the journal changed (an object's access in a set, an
assignment, a user's profile…) is compared three ways: as before the apply (the
journal's ``replaced``, else what the action says it replaced), as the apply left it,
and as the org has it now.

- now as before: nothing to do (the action never landed: failed, unknown, killed);
- now as the apply left it: set back;
- anything else: someone changed it since; it is left alone and listed.

A set or group the apply created is deleted only while nothing but the apply's own
changes is in or on it; a user it created is deactivated (Salesforce never deletes
users); a set or group it deleted is created again, with a new Id. Actions the journal
records as applied, unknown or writing count: the org decides what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from reconciler import actions as a
from reconciler.config import Config, Lifecycle, Location, Reference, Scope
from reconciler.config.yamlload import LMap
from reconciler.diff import USER_ATTRIBUTES
from reconciler.errors import UsageError
from reconciler.journal import JournalEntry, JournalFile, replaced_state
from reconciler.live import Claims, Live, record_key
from reconciler.model import (
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    PermissionSetGroup,
    SetupEntity,
    User,
    field_key,
)
from reconciler.plan import OrgRef, Plan, RollbackSource, claims_for, plan_from_live

#: Journal statuses of actions that may have changed the org.
TOUCHED = ("applied", "unknown", "writing")
_LISTS = ("permission_set_licenses", "permission_sets", "permission_set_groups")

Key = tuple[str, ...]
#: An item of a resource: its key → (its name as written, its value).
Items = dict[Key, tuple[str, Any]]
_EXISTS: Key = ("exists",)


@dataclass(frozen=True)
class _Change:
    """One item one action changed: its value before and as the action left it (None:
    absent), and the name to write it back under."""

    resource: str
    key: Key
    name: str
    before: Any
    after: Any
    entry: JournalEntry

    @property
    def address(self) -> str:
        return self.entry.action.address


def _words(action: a.Action, side: str) -> tuple[str, ...] | None:
    return tuple(getattr(action, side, ())) or None


def _changes(entry: JournalEntry) -> list[_Change]:  # long: one branch per action family
    """The items ``entry``'s action changes, with before and after as it states them."""
    x = entry.action
    r = x.resource
    added = x.symbol == "+"

    def one(key: Key, name: str, before: Any, after: Any) -> list[_Change]:
        return [_Change(r, key, name, before, after, entry)]

    if isinstance(x, a.CreatePermissionSet | a.CreateGroup):
        return one(_EXISTS, x.name, None, True)
    if isinstance(x, a.DeletePermissionSet | a.DeleteGroup):
        return one(_EXISTS, x.name, True, None)
    if isinstance(x, a.UpdatePermissionSet | a.UpdateGroup | a.UpdateUser):
        old = dict(x.before)
        return [_Change(r, (k,), k, old.get(k), v, entry) for k, v in x.after]
    if isinstance(x, a.SetSystemPermissions):
        return [*(_Change(r, ("system_permissions", p), p, None, True, entry) for p in x.enable),
                *(_Change(r, ("system_permissions", p), p, True, None, entry)
                  for p in x.disable)]
    if isinstance(x, a.GrantObjectAccess | a.ChangeObjectAccess | a.RevokeObjectAccess):
        return one(("objects", x.sobject.casefold()), x.sobject, _words(x, "before"),
                   _words(x, "after"))
    if isinstance(x, a.GrantFieldAccess | a.ChangeFieldAccess | a.RevokeFieldAccess):
        return one(("fields", field_key(x.field)), x.field, _words(x, "before"),
                   _words(x, "after"))
    if isinstance(x, a.GrantSetupEntityAccess | a.RevokeSetupEntityAccess):
        return one(("setup_entities", x.entity_type, x.entity.casefold()), x.entity,
                   None if added else True, True if added else None)
    if isinstance(x, a.AddGroupComponent | a.RemoveGroupComponent):
        return one(("permission_sets", x.permission_set), x.permission_set,
                   None if added else True, True if added else None)
    if isinstance(x, a.CreateUser):
        return one(("active",), "active", False, x.active)
    if isinstance(x, a.ChangeUserProfile):
        return one(("profile",), x.before, x.before.casefold(), x.after.casefold())
    if isinstance(x, a.DeactivateUser | a.ReactivateUser):
        return one(("active",), "active", not added, added)
    if isinstance(x, a.AssignPermissionSetLicense | a.UnassignPermissionSetLicense
                  | a.AssignPermissionSet | a.UnassignPermissionSet | a.AssignGroup
                  | a.UnassignGroup):
        return one((x.list_name, x.target.casefold()), x.target, None if added else True,
                   True if added else None)
    raise AssertionError(f"no rollback for {x.kind}")  # every kind has a branch above


# -- items: a resource as flat (key → value), and back --------------------------------


def _set_items(ps: PermissionSet) -> Items:
    items: Items = {("label",): ("label", ps.label),
                    ("description",): ("description", ps.description)}
    items |= {("system_permissions", p): (p, True) for p in ps.system_permissions}
    items |= {("objects", o.casefold()): (o, x.words) for o, x in ps.objects.items()}
    items |= {("fields", field_key(f)): (f, x.words) for f, x in ps.fields.items()}
    items |= {("setup_entities", e.type, e.name.casefold()): (e.name, True)
              for e in ps.setup_entities}
    return items


def _set_of(ps: PermissionSet, items: Items) -> PermissionSet:
    def named(kind: str) -> list[tuple[Key, str, Any]]:
        return [(k, n, v) for k, (n, v) in items.items() if k[0] == kind]

    return replace(
        ps, label=items[("label",)][1], description=items[("description",)][1],
        system_permissions=frozenset(n for _, n, _ in named("system_permissions")),
        objects=FrozenMap({n: ObjectAccess.of(v) for _, n, v in named("objects")}),
        fields=FrozenMap({n: FieldAccess.of(v) for _, n, v in named("fields")}),
        setup_entities=frozenset(SetupEntity(k[1], n) for k, n, _ in named("setup_entities")))


def _group_items(group: PermissionSetGroup) -> Items:
    items: Items = {("label",): ("label", group.label),
                    ("description",): ("description", group.description)}
    items |= {("permission_sets", s): (s, True) for s in group.permission_sets}
    return items


def _group_of(group: PermissionSetGroup, items: Items) -> PermissionSetGroup:
    return replace(group, label=items[("label",)][1], description=items[("description",)][1],
                   permission_sets=frozenset(n for k, (n, _) in items.items()
                                             if k[0] == "permission_sets"))


def _user_items(user: User) -> Items:
    items: Items = {(attr,): (attr, getattr(user, attr)) for attr in USER_ATTRIBUTES}
    items[("profile",)] = (user.profile, user.profile.casefold())
    items[("active",)] = ("active", user.active)
    items |= {(name, t.casefold()): (t, True) for name in _LISTS for t in getattr(user, name)}
    return items


def _user_of(user: User, items: Items) -> User:
    values: dict[str, Any] = {attr: items[(attr,)][1] for attr in USER_ATTRIBUTES}
    values |= {name: frozenset(n for k, (n, _) in items.items() if k[0] == name)
               for name in _LISTS}
    # No licence: the profile decides it, and the profile may be the one set back.
    return replace(user, license=None, profile=items[("profile",)][0],
                   active=items[("active",)][1], **values)


# -- the rollback -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rollback:
    """What a rollback sets back, what it leaves alone and what it can't restore, with
    the config the plan is made from."""

    config: Config
    #: Item addresses set back to what the apply replaced.
    restored: list[str]
    #: "address: why" of items changed by someone else since the apply: left alone.
    left_alone: list[str]
    #: What can't come back as it was, said plainly.
    caveats: list[str]


def touched(journal: JournalFile) -> list[_Change]:
    """The items the journal's apply may have changed, in the journal's order."""
    return [c for e in journal.actions if e.status in TOUCHED for c in _changes(e)]


def build(config: Config, journal: JournalFile, live: Live, *, org: OrgRef,
          source: str) -> Rollback:
    """The rollback of ``journal`` against ``live`` (read for :func:`claims`);
    ``source`` names the journal in problems."""
    if journal.org.org_id != org.org_id:
        raise UsageError(f"{source} is the journal of an apply to org {journal.org.org_id} "
                         f"({journal.org.name}), not to this org ({org.org_id})")
    return _Builder(journal, live).run(config, source)


def plan_of(built: Rollback, config: Config, live: Live, *, org: OrgRef,
            source: RollbackSource) -> Plan:
    """The rollback's plan: the ordinary pipeline over its config, marked with the
    journal it comes from and the digest of ``config`` (the one ``apply`` loads)."""
    plan = plan_from_live(built.config, live, org=org)
    return replace(plan, config_digest=config.digest, rollback_of=source)


class _Builder:
    def __init__(self, journal: JournalFile, live: Live) -> None:
        self.journal = journal
        self.live = live
        self.changes = touched(journal)
        self.sets: dict[str, PermissionSet] = {}
        self.groups: dict[str, PermissionSetGroup] = {}
        self.users: dict[str, User] = {}
        self.addresses: dict[str, str] = {}
        self.restored: list[str] = []
        self.left_alone: list[str] = []
        self.caveats: list[str] = []
        # What the apply put in place: (kind, holder, target), casefolded.
        self.made = {(c.key[0], c.resource.casefold(), c.key[1].casefold())
                     for c in self.changes if len(c.key) == 2 and c.after is True}

    def run(self, config: Config, source: str) -> Rollback:
        by_resource: dict[str, list[_Change]] = {}
        for c in self.changes:
            by_resource.setdefault(c.resource, []).append(c)
        order = ("permission_sets", "permission_set_groups", "users")
        for resource, changes in sorted(by_resource.items(),
                                        key=lambda item: order.index(item[0].split(".")[0])):
            kind, _, name = resource.partition(".")
            if kind == "users":
                self.user(resource, changes)
            else:
                self.container(kind, name, changes)
        return Rollback(self.config(config, source), self.restored, self.left_alone,
                        self.caveats)

    # -- sets and groups --

    def container(self, kind: str, name: str, changes: list[_Change]) -> None:
        """A permission set or group: created, deleted or changed by the apply."""
        is_set = kind == "permission_sets"
        state = self.live.state.permission_sets if is_set else self.live.state.permission_set_groups
        now: Any = _folded(state, name)
        items_of: Callable[[Any], Items] = _set_items if is_set else _group_items
        exists = next((c for c in changes if c.key == _EXISTS), None)
        resource = f"{kind}.{name}"
        if exists is not None and exists.before is None:
            if now is not None:
                self.created(kind, now, changes, exists, items_of(now))
            return
        before = replaced_state(self.journal.replaced, resource)
        if exists is not None:
            self.deleted(kind, name, now, before, items_of)
            return
        if now is None:
            self.left_alone.append(f"{resource}: deleted since the apply; left as it is")
            return
        base = items_of(before) if before is not None else {}
        items = self.revert(items_of(now), changes, base)
        if items is not None:
            if is_set:
                self.sets[now.name] = _set_of(now, items)
            else:
                self.groups[now.name] = _group_of(now, items)

    def created(self, kind: str, now: Any, changes: list[_Change], made: _Change,
                items: Items) -> None:
        """Delete what the apply created, unless someone has changed or used it since."""
        resource = f"{kind}.{now.name}"
        create = made.entry.action
        left = {c.key: c.after for c in changes}
        left |= {("label",): getattr(create, "label", ""),
                 ("description",): getattr(create, "description", "")}
        left |= {("system_permissions", p): True
                 for p in getattr(create, "system_permissions", ())}
        foreign: list[tuple[str, ...]] = [k for k, (_, v) in items.items() if left.get(k) != v]
        is_set = kind == "permission_sets"
        record = record_key("set" if is_set else "group", now.name)
        if made.entry.record_id and self.live.ids.get(record) not in (None, made.entry.record_id):
            foreign.append(("Id",))
        foreign += [("held by", h[1]) for h in self.holders(is_set, now.name)
                    if h not in self.made]
        if foreign:
            self.left_alone.append(
                f"{resource}: created by the apply and changed or used since "
                f"({_what(foreign[0])}); not deleted")
            return
        if is_set:
            self.sets[now.name] = PermissionSet(name=now.name, label=now.label, absent=True)
        else:
            self.groups[now.name] = PermissionSetGroup(name=now.name, label=now.label, absent=True)
        self.restored.append(resource)

    def holders(self, is_set: bool, name: str) -> list[tuple[str, str, str]]:
        """Who holds a set or group now: (list, holder resource, target), casefolded, as
        :attr:`made` has them."""
        folded = name.casefold()
        kind = "set" if is_set else "group"
        lists = "permission_sets" if is_set else "permission_set_groups"
        users = [u for u, user in self.live.state.users.items()
                 if folded in {t.casefold() for t in getattr(user, lists)}]
        users += [u for k, u, t in self.live.other_assignments
                  if k == kind and t.casefold() == folded]
        out = [(lists, self.user_address(u).casefold(), folded) for u in users]
        if is_set:
            out += [("permission_sets", f"permission_set_groups.{g}", folded)
                    for g, (_, members) in self.live.groups.items()
                    if folded in {m.casefold() for m in members}]
        return out

    def user_address(self, username: str) -> str:
        """The address the journal gives a user (its username where it names none)."""
        folded = username.casefold()
        return next((c.resource for c in self.changes
                     if getattr(c.entry.action, "username", "").casefold() == folded),
                    f"users.{username}")

    def deleted(self, kind: str, name: str, now: Any, before: Any,
                items_of: Callable[[Any], Items]) -> None:
        """Create again what the apply deleted, unless someone has since."""
        resource = f"{kind}.{name}"
        if now is not None:
            if before is None or items_of(now) != items_of(before):
                self.left_alone.append(f"{resource}: deleted by the apply and created "
                                           "again since; left as it is")
            return
        if before is None:
            self.caveats.append(f"{resource}: deleted by the apply; the journal does not "
                                    "hold what it was, so it is not created again")
            return
        if kind == "permission_sets":
            self.sets[before.name] = before
            self.caveats.append(
                f"{resource}: deleted by the apply, created again with a new Id (anything "
                "outside this org's config that points at the old Id does not follow)")
        else:
            self.groups[before.name] = before
            self.caveats.append(f"{resource}: deleted by the apply, created again with "
                                    "a new Id")
        self.restored.append(resource)

    # -- users --

    def user(self, resource: str, changes: list[_Change]) -> None:
        username = str(getattr(changes[0].entry.action, "username", "")).casefold()
        self.addresses[username] = resource
        now = self.live.state.users.get(username)
        if now is None:
            if not any(isinstance(c.entry.action, a.CreateUser) for c in changes):
                self.left_alone.append(f"{resource}: not in the org; left as it is")
            return
        before = replaced_state(self.journal.replaced, f"users:{username}")
        base = _user_items(cast(User, before)) if before is not None else {}
        items = self.revert(_user_items(now), changes, base)
        if items is not None:
            self.users[username] = _user_of(now, items)
            if any(isinstance(c.entry.action, a.CreateUser) for c in changes) and not items[
                    ("active",)][1]:
                self.caveats.append(f"{resource}: created by the apply: deactivated, not "
                                        "deleted (Salesforce never deletes users)")

    # -- items --

    def revert(self, now: Items, changes: Iterable[_Change], base: Items) -> Items | None:
        """``now`` with each changed item set back where the org still has it as the apply
        left it; None when nothing is set back. ``base``: the resource before the apply,
        where the journal holds it (else what each action says it replaced)."""
        out = dict(now)
        restored = False
        for c in changes:
            name, before = base.get(c.key, (c.name, None)) if base else (c.name, c.before)
            have = now.get(c.key, ("", None))[1]
            if have == before:
                continue  # never landed, or already back
            if have != c.after:
                self.left_alone.append(f"{c.address}: changed since the apply "
                                           f"(now {_shown(have)}, the apply left "
                                           f"{_shown(c.after)}); left as it is")
                continue
            missing = self.missing(c) if before is not None else None
            if missing:
                self.caveats.append(f"{c.address}: not restored: {missing}")
                continue
            if before is None:
                out.pop(c.key, None)
            else:
                out[c.key] = (name, before)
            self.restored.append(c.address)
            restored = True
        return out if restored else None

    def missing(self, c: _Change) -> str | None:
        """Why an item can't be put back: what it names is gone from the org."""
        list_name = c.key[0]
        if list_name == "permission_sets":
            known = c.name.casefold() in self.live.sets or _folded(self.sets, c.name)
            return None if known else f"permission set {c.name} no longer exists"
        if list_name == "permission_set_groups":
            known = c.name.casefold() in self.live.groups or _folded(self.groups, c.name)
            return None if known else f"permission set group {c.name} no longer exists"
        if list_name == "permission_set_licenses" and c.name.casefold() not in self.live.psls:
            return f"permission set licence {c.name} is not in the org"
        return None

    # -- the config --

    def config(self, base: Config, source: str) -> Config:
        """A config of exactly the resources set back, planned authoritatively."""
        where = Location(source, 1, 1)
        sets = {n.casefold() for n in self.sets}
        groups = {n.casefold() for n in self.groups}
        refs = [Reference("permission_set", s, f"{self.addresses[u]}.permission_sets", where)
                for u, user in sorted(self.users.items()) for s in sorted(user.permission_sets)
                if s.casefold() not in sets]
        refs += [Reference("permission_set_group", g,
                           f"{self.addresses[u]}.permission_set_groups", where)
                 for u, user in sorted(self.users.items())
                 for g in sorted(user.permission_set_groups) if g.casefold() not in groups]
        refs += [Reference("permission_set", s, f"permission_set_groups.{n}.permission_sets",
                           where)
                 for n, group in sorted(self.groups.items()) for s in sorted(group.permission_sets)
                 if s.casefold() not in sets]
        resources = [*(f"permission_sets.{n}" for n in self.sets),
                     *(f"permission_set_groups.{n}" for n in self.groups),
                     *(self.addresses[u] for u in self.users)]
        # The config's own guard against destruction still holds.
        guarded = {r: Lifecycle(prevent_destroy=True) for r in resources
                   if base.lifecycle(r).prevent_destroy}
        return replace(
            base, settings=replace(base.settings, scope=Scope()),
            permission_sets=FrozenMap(self.sets), permission_set_groups=FrozenMap(self.groups),
            users=FrozenMap(self.users), locations=FrozenMap(), references=tuple(refs),
            lifecycles=FrozenMap(guarded),
            user_addresses=FrozenMap({u: self.addresses[u] for u in self.users}),
            _tree=_written(source, [self.addresses[u].split(".", 1)[1] for u in self.users]))


def _written(source: str, user_keys: Iterable[str]) -> dict[str, LMap]:
    """A located tree that writes every attribute of each user: the desired values are
    the org's own, set back, so none is a default the diff must not impose."""
    users = LMap(source, 1, 1)
    for key in user_keys:
        entry = LMap(source, 1, 1)
        for attr in USER_ATTRIBUTES:
            entry[attr] = None
            entry.pos[attr] = (1, 1, 1, 1)
        users[key] = entry
        users.pos[key] = (1, 1, 1, 1)
    return {"users": users}


def _folded(mapping: Mapping[str, Any], name: str) -> Any:
    folded = name.casefold()
    return next((v for k, v in mapping.items() if k.casefold() == folded), None)


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if value is True:
        return "it"
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return repr(value)


def _what(key: tuple[str, ...]) -> str:
    if key[0] == "held by":
        return f"held by {key[1]}"
    if key[0] == "Id":
        return "it has another Id"
    return f"{'.'.join(key)} is not as the apply left it"


def claims(journal: JournalFile, config: Config | None = None) -> Claims:
    """What to read for a rollback of ``journal``: every resource it touched, with the
    holders of its sets and groups and whatever their content names; with ``config``
    (a rollback's), what that config claims too."""
    sets: set[str] = set()
    groups: set[str] = set()
    users: set[str] = set()
    ref_sets: set[str] = set()
    ref_groups: set[str] = set()
    objects: set[str] = set()
    entities: set[SetupEntity] = set()
    for c in touched(journal):
        kind, _, name = c.resource.partition(".")
        x = c.entry.action
        if kind == "users":
            users.add(str(getattr(x, "username", "")).casefold())
            if c.key[0] in ("permission_sets", "permission_set_groups"):
                (ref_sets if c.key[0] == "permission_sets" else ref_groups).add(c.name)
        elif kind == "permission_set_groups":
            groups.add(name)
            if c.key[0] == "permission_sets":
                ref_sets.add(c.name)
        else:
            sets.add(name)
            if c.key[0] in ("objects", "fields"):
                objects.add(c.name.partition(".")[0])
            if c.key[0] == "setup_entities":
                entities.add(SetupEntity(c.key[1], c.name))
    for name in sets:
        before = replaced_state(journal.replaced, f"permission_sets.{name}")
        if isinstance(before, PermissionSet):
            objects |= {*before.objects, *(f.partition(".")[0] for f in before.fields)}
            entities |= before.setup_entities
    wanted = Claims(usernames=tuple(sorted(users)), permission_sets=tuple(sorted(sets)),
                    absent_sets=tuple(sorted(sets)), referenced_sets=tuple(sorted(ref_sets)),
                    groups=tuple(sorted(groups)), absent_groups=tuple(sorted(groups)),
                    referenced_groups=tuple(sorted(ref_groups)),
                    objects=tuple(sorted(objects, key=str.casefold)),
                    setup_entities=tuple(sorted(entities)))
    return wanted if config is None else _union(wanted, claims_for(config))


def _union(one: Claims, other: Claims) -> Claims:
    def both(name: str) -> tuple[Any, ...]:
        merged = {*getattr(one, name), *getattr(other, name)}
        return tuple(sorted(merged, key=str.casefold) if name == "objects" else sorted(merged))

    merged: dict[str, Any] = {name: both(name) for name in (
        "usernames", "permission_sets", "absent_sets", "referenced_sets", "groups",
        "absent_groups", "referenced_groups", "objects", "setup_entities")}
    return Claims(**merged)
