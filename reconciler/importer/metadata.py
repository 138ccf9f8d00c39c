"""SFDX permission metadata: ``*.permissionset-meta.xml`` and
``*.permissionsetgroup-meta.xml`` files ↔ model values.

Reading (salesforce.md §5): ``label``, ``description``, ``license`` (``userLicense`` in
old files), ``userPermissions`` → system permissions, ``objectPermissions`` → object
access, ``fieldPermissions`` → field access, ``classAccesses``, ``pageAccesses``,
``customPermissions`` and ``applicationVisibilities`` → setup-entity access; for groups
``label``, ``description`` and ``permissionSets``. Everything else (tab settings,
record types, flow access…) is not in the config language yet: each kind of element
becomes one warning naming the file, the element and how many there were. Entries that
grant nothing are dropped without a word, because leaving them out means the same
thing. A set's connected-app access has no element here: Salesforce keeps it in the
connected app's own metadata (``permissionSetName``).

XML goes through ``defusedxml`` with DTDs forbidden, so no entity is ever expanded.
A file that is not XML, is malformed, or has another root element is an error; all
files are read before anything is returned, so one bad file means nothing is written.

Writing produces the layout ``sf project retrieve`` does: elements in alphabetical
order, four-space indentation, the metadata namespace, one file per set or group
under ``permissionsets/`` and ``permissionsetgroups/``.
"""

from __future__ import annotations

# Only ParseError comes from the standard parser; parsing itself goes through defusedxml.
import errno
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import defusedxml
import defusedxml.ElementTree as SafeET

from reconciler.config.readfile import read_limited
from reconciler.config.suggest import bare, q
from reconciler.errors import ConfigError, Problem
from reconciler.importer.imported import Imported
from reconciler.model import (
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    PermissionSetGroup,
    SetupEntity,
)

__all__ = ["GROUP_SUFFIX", "NAMESPACE", "SET_SUFFIX", "group_xml", "read_metadata", "set_xml"]

NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
SET_SUFFIX = ".permissionset-meta.xml"
GROUP_SUFFIX = ".permissionsetgroup-meta.xml"
# Also accepted when a file is named explicitly (Metadata API format).
_OTHER_SUFFIXES = (".permissionset", ".permissionsetgroup", ".xml")
_MAX_BYTES = 20 * 1024 * 1024
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([^"'>]*)""")

# objectPermissions child → permission word.
OBJECT_ELEMENTS = {
    "allowRead": "read", "allowCreate": "create", "allowEdit": "edit",
    "allowDelete": "delete", "viewAllRecords": "view_all", "modifyAllRecords": "modify_all",
}

# Setup-entity access elements: element → (SetupEntityType, the child naming the entity,
# the child saying it is granted).
ENTITY_ELEMENTS: dict[str, tuple[str, str, str]] = {
    "applicationVisibilities": ("TabSet", "application", "visible"),
    "classAccesses": ("ApexClass", "apexClass", "enabled"),
    "customPermissions": ("CustomPermission", "name", "enabled"),
    "pageAccesses": ("ApexPage", "apexPage", "enabled"),
}

# What the config language does not model yet, with a word for the warning.
_UNMODELLED = {
    "customMetadataTypeAccesses": "custom metadata type access",
    "customSettingAccesses": "custom setting access",
    "emailRoutingAddressAccesses": "email routing address access",
    "externalCredentialPrincipalAccesses": "external credential principal access",
    "externalDataSourceAccesses": "external data source access",
    "flowAccesses": "flow access",
    "recordTypeVisibilities": "record type visibility",
    "servicePresenceStatusAccesses": "service presence status access",
    "tabSettings": "tab settings",
    "mutingPermissionSets": "muting permission sets",
}


@dataclass
class _File:
    """What one file yields."""

    path: Path
    kind: str  # "set" | "group"
    name: str
    value: PermissionSet | PermissionSetGroup | None
    warnings: list[Problem]

    def kind_word(self) -> str:
        return "permission set" if self.kind == "set" else "permission set group"


def read_metadata(paths: Sequence[Path]) -> Imported:
    """Read files and directories of SFDX permission metadata.

    Directories are searched recursively for ``*.permissionset-meta.xml`` and
    ``*.permissionsetgroup-meta.xml``. Raises :class:`ConfigError` with one problem per
    bad file (and nothing else happens).
    """
    files, problems = _collect(paths)
    results: list[_File] = []
    for path in files:
        try:
            results.append(_read_file(path))
        except _Bad as bad:
            problems.append(bad.problem)
    seen: dict[tuple[str, str], Path] = {}
    for result in results:
        if result.value is None:
            continue
        slot = (result.kind, result.name.casefold())
        if slot in seen:
            problems.append(Problem(f"{result.kind_word()} {bare(result.name)} is also defined in "
                                    f"{seen[slot]}", file=str(result.path)))
        else:
            seen[slot] = result.path
    if problems:
        raise ConfigError(problems)
    sets = {r.name: r.value for r in results if isinstance(r.value, PermissionSet)}
    groups = {r.name: r.value for r in results if isinstance(r.value, PermissionSetGroup)}
    origins = {f"{'permission_sets' if r.kind == 'set' else 'permission_set_groups'}."
               f"{r.name}": r.path.name for r in results if r.value is not None}
    return Imported(
        source="SFDX metadata",
        permission_sets=FrozenMap(sets),
        permission_set_groups=FrozenMap(groups),
        origins=FrozenMap(origins),
        warnings=tuple(w for r in results for w in r.warnings),
    )


class _Bad(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _collect(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            # Not only regular files: a metadata-named device or FIFO is reported.
            found = sorted(p for p in path.rglob("*")
                           if p.name.endswith((SET_SUFFIX, GROUP_SUFFIX)) and not p.is_dir())
            if not found:
                problems.append(Problem(f"no *{SET_SUFFIX} or *{GROUP_SUFFIX} files in this "
                                        "directory", file=str(path)))
            files.extend(found)
        elif path.exists():
            files.append(path)  # a device or FIFO is refused when read, with its reason
        else:
            problems.append(Problem("no such file or directory", file=str(path)))
    unique = list(dict.fromkeys(files))
    return unique, problems


def _api_name(path: Path) -> str:
    name = path.name
    for suffix in (SET_SUFFIX, GROUP_SUFFIX, *_OTHER_SUFFIXES):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _local(tag: Any) -> tuple[str | None, str]:
    """(namespace, local name) of an element tag."""
    text = str(tag)
    if text.startswith("{"):
        ns, _, local = text[1:].partition("}")
        return ns, local
    return None, text


def _parse(path: Path) -> Any:
    try:
        data = read_limited(path, _MAX_BYTES)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise _Bad(Problem(f"{exc.strerror}: not a permission metadata file",
                               file=str(path))) from None
        raise _Bad(Problem(f"cannot read: {exc.strerror or exc}", file=str(path))) from None
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        raise _Bad(Problem("not an XML file (SFDX permission metadata is XML)",
                           file=str(path)))
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        reason = str(exc).split(":")[0]
        raise _Bad(Problem(f"malformed XML: {reason}", file=str(path), line=line,
                           column=column + 1 if column is not None else None)) from None
    except defusedxml.DefusedXmlException as exc:
        kind = {"DTDForbidden": "a DTD", "EntitiesForbidden": "XML entities",
                "ExternalReferenceForbidden": "an external reference"}.get(
                    type(exc).__name__, "something unsafe")
        raise _Bad(Problem(f"refused: the file declares {kind} (SFDX files have none, and "
                           "entities are never expanded)", file=str(path))) from None
    except (LookupError, ValueError) as exc:  # after DefusedXmlException, a ValueError
        # expat hands an encoding it doesn't know to Python's codecs, whose errors
        # (unknown, multi-byte or not a text codec) are not ParseErrors.
        declared = _DECLARED_ENCODING.search(data[:1024])
        what = (f"the encoding {q(declared.group(1).decode('latin-1'))} its XML declaration "
                "names" if declared else f"its encoding ({q(str(exc))})")
        raise _Bad(Problem(f"cannot read {what}; SFDX metadata files are UTF-8",
                           file=str(path))) from None


def _read_file(path: Path) -> _File:
    root = _parse(path)
    ns, local = _local(root.tag)
    if ns not in (None, NAMESPACE) or local not in ("PermissionSet", "PermissionSetGroup"):
        shown = local if ns in (None, NAMESPACE) else f"{{{ns}}}{local}"
        raise _Bad(Problem(f"unknown root element <{shown}>: expected <PermissionSet> or "
                           f"<PermissionSetGroup> of the metadata namespace {NAMESPACE}",
                           file=str(path)))
    name = _api_name(path)
    full_name = _text(root, "fullName")
    if full_name:
        name = full_name
    kind = "set" if local == "PermissionSet" else "group"
    warnings: list[Problem] = []
    if "__" in name:
        namespace, _, local_name = name.partition("__")
        what = "permission set" if kind == "set" else "permission set group"
        warnings.append(Problem(
            f"{what} {bare(name)} not imported: it belongs to the package namespace "
            f"{bare(namespace)} (as {bare(local_name)}); only the package can change it, and "
            "the config language has no namespaced sets", file=str(path)))
        return _File(path, kind, name, None, warnings)
    if kind == "set":
        return _File(path, kind, name, _read_set(path, name, root, warnings), warnings)
    return _File(path, kind, name, _read_group(path, name, root, warnings), warnings)


def _children(root: Any) -> list[tuple[str, Any]]:
    out = []
    for child in root:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        out.append((_local(child.tag)[1], child))
    return out


def _text(element: Any, name: str) -> str | None:
    for tag, child in _children(element):
        if tag == name:
            return (child.text or "").strip()
    return None


def _bool(path: Path, element: Any, name: str) -> bool:
    text = _text(element, name)
    if text is None or text == "":
        return False
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise _Bad(Problem(f"<{name}> must be true or false, not {text!r}", file=str(path)))


class _Unmodelled:
    """Counts elements left out, for one warning per kind per file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: dict[str, int] = {}
        self.notes: dict[str, str] = {}

    def add(self, element: str, note: str = "") -> None:
        self.counts[element] = self.counts.get(element, 0) + 1
        if note:
            self.notes[element] = note

    def warnings(self) -> list[Problem]:
        out = []
        for element in sorted(self.counts):
            count = self.counts[element]
            what = self.notes.get(element) or _UNMODELLED.get(element, "not in the language")
            times = f"{count} " if count > 1 else ""
            out.append(Problem(f"{times}<{element}> left out ({what}: not in the config "
                               "language yet)", file=str(self.path)))
        return out


def _read_set(path: Path, name: str, root: Any, warnings: list[Problem]) -> PermissionSet:
    left = _Unmodelled(path)
    label = description = ""
    license_name: str | None = None
    system: set[str] = set()
    objects: dict[str, ObjectAccess] = {}
    fields: dict[str, FieldAccess] = {}
    entities: set[SetupEntity] = set()
    for tag, child in _children(root):
        if tag == "label":
            label = (child.text or "").strip()
        elif tag == "description":
            description = (child.text or "").strip()
        elif tag in ("license", "userLicense"):
            license_name = (child.text or "").strip() or None
        elif tag == "fullName":
            continue
        elif tag == "hasActivationRequired":
            if _bool(path, root, tag):
                left.add(tag, "session activation")
        elif tag == "userPermissions":
            perm = _required(path, child, tag, "name")
            if _bool(path, child, "enabled"):
                system.add(perm)
        elif tag == "objectPermissions":
            obj = _required(path, child, tag, "object")
            words = [w for element, w in OBJECT_ELEMENTS.items() if _bool(path, child, element)]
            for sub, element in _children(child):
                value = (element.text or "").strip().lower()
                if sub not in (*OBJECT_ELEMENTS, "object") and value not in ("", "false"):
                    left.add(f"objectPermissions/{sub}", sub)
            access = ObjectAccess.of([*words, *(objects[obj].words if obj in objects else ())])
            if not access.empty:
                objects[obj] = access
        elif tag == "fieldPermissions":
            fname = _required(path, child, tag, "field")
            faccess = FieldAccess(read=_bool(path, child, "readable"),
                                  edit=_bool(path, child, "editable"))
            if faccess.empty:
                continue
            if _unpermissionable(fname):
                warnings.append(Problem(
                    f"<fieldPermissions> for {bare(fname)} left out: Salesforce keeps no field "
                    "permissions for it (always readable and writable)", file=str(path)))
                continue
            if fname in fields:
                faccess = FieldAccess(read=True, edit=faccess.edit or fields[fname].edit)
            fields[fname] = faccess
        elif tag in ENTITY_ELEMENTS:
            entities.update(_entity_access(path, tag, child, left))
        else:
            left.add(tag)
    warnings.extend(left.warnings())
    return PermissionSet(name=name, label=label or name, description=description,
                         license=license_name, system_permissions=frozenset(system),
                         objects=FrozenMap(objects), fields=FrozenMap(fields),
                         setup_entities=frozenset(entities))


def _entity_access(path: Path, tag: str, element: Any,
                   left: _Unmodelled) -> tuple[SetupEntity, ...]:
    """The setup entity an access element grants, if it grants it."""
    entity_type, name_tag, flag_tag = ENTITY_ELEMENTS[tag]
    name = _required(path, element, tag, name_tag)
    if tag == "applicationVisibilities" and _bool(path, element, "default"):
        left.add(f"{tag}/default", "the default app, a profile setting")
    return (SetupEntity(entity_type, name),) if _bool(path, element, flag_tag) else ()


def _unpermissionable(field_name: str) -> bool:
    """Fields Salesforce never keeps FieldPermissions rows for: the Name of a custom
    object (always readable and writable) and the system audit fields."""
    obj, _, fname = field_name.partition(".")
    if fname in ("Id", "CreatedById", "CreatedDate", "LastModifiedById", "LastModifiedDate",
                 "SystemModstamp", "IsDeleted"):
        return True
    return fname == "Name" and obj.endswith("__c")


def _required(path: Path, element: Any, tag: str, child: str) -> str:
    value = _text(element, child)
    if not value:
        raise _Bad(Problem(f"<{tag}> without <{child}>", file=str(path)))
    return value


def _read_group(path: Path, name: str, root: Any,
                warnings: list[Problem]) -> PermissionSetGroup:
    left = _Unmodelled(path)
    label = description = ""
    members: list[str] = []
    for tag, child in _children(root):
        if tag == "label":
            label = (child.text or "").strip()
        elif tag == "description":
            description = (child.text or "").strip()
        elif tag == "permissionSets":
            member = (child.text or "").strip()
            if "__" in member:
                warnings.append(Problem(
                    f"<permissionSets> member {bare(member)} left out: it belongs to the "
                    f"package namespace {bare(member.partition('__')[0])}, and the config "
                    "language has no namespaced sets; a plan would take it out of the group",
                    file=str(path)))
            elif member:
                members.append(member)
        elif tag in ("fullName", "status"):
            continue  # status is the platform's recalculation state, not a setting
        elif tag == "hasActivationRequired":
            if _bool(path, root, tag):
                left.add(tag, "session activation")
        else:
            left.add(tag)
    warnings.extend(left.warnings())
    return PermissionSetGroup(name=name, label=label or name, description=description,
                              permission_sets=frozenset(members))


# -- writing ------------------------------------------------------------------------------


def _element(lines: list[str], tag: str, value: str | bool, indent: int = 1) -> None:
    text = ("true" if value else "false") if isinstance(value, bool) else escape(value)
    lines.append(f"{'    ' * indent}<{tag}>{text}</{tag}>")


def _document(root: str, body: Iterable[str]) -> str:
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>',
                      f'<{root} xmlns="{NAMESPACE}">', *body, f"</{root}>"]) + "\n"


def _entity_elements(lines: list[str], ps: PermissionSet, elements: Iterable[str]) -> None:
    """The set's setup-entity access of the given element kinds, in element order."""
    for element in elements:
        entity_type, name_tag, flag_tag = ENTITY_ELEMENTS[element]
        names = sorted((e.name for e in ps.setup_entities if e.type == entity_type),
                       key=str.casefold)
        for entity in names:
            lines.append(f"    <{element}>")
            # Children in alphabetical order, as sf project retrieve writes them.
            children: dict[str, str | bool] = {name_tag: entity, flag_tag: True}
            for tag in sorted(children):
                _element(lines, tag, children[tag], 2)
            lines.append(f"    </{element}>")


def set_xml(ps: PermissionSet) -> str:
    """One permission set as a ``.permissionset-meta.xml`` document.

    Connected-app access is not written: it has no permission-set element (Salesforce
    keeps it in the connected app's metadata).
    """
    lines: list[str] = []
    _entity_elements(lines, ps, ("applicationVisibilities", "classAccesses",
                                 "customPermissions"))
    if ps.description:
        _element(lines, "description", ps.description)
    for fname, faccess in ps.fields.items():
        lines.append("    <fieldPermissions>")
        _element(lines, "editable", faccess.edit, 2)
        _element(lines, "field", fname, 2)
        _element(lines, "readable", faccess.read, 2)
        lines.append("    </fieldPermissions>")
    _element(lines, "hasActivationRequired", False)
    _element(lines, "label", ps.label)
    if ps.license:
        _element(lines, "license", ps.license)
    for obj, access in ps.objects.items():
        lines.append("    <objectPermissions>")
        values = {element: getattr(access, word) for element, word in OBJECT_ELEMENTS.items()}
        values["object"] = obj
        for element in sorted(values):
            _element(lines, element, values[element], 2)
        lines.append("    </objectPermissions>")
    _entity_elements(lines, ps, ("pageAccesses",))
    for perm in sorted(ps.system_permissions, key=str.casefold):
        lines.append("    <userPermissions>")
        _element(lines, "enabled", True, 2)
        _element(lines, "name", perm, 2)
        lines.append("    </userPermissions>")
    return _document("PermissionSet", lines)


def group_xml(group: PermissionSetGroup) -> str:
    """One permission set group as a ``.permissionsetgroup-meta.xml`` document."""
    lines: list[str] = []
    if group.description:
        _element(lines, "description", group.description)
    _element(lines, "hasActivationRequired", False)
    _element(lines, "label", group.label)
    for member in sorted(group.permission_sets, key=str.casefold):
        _element(lines, "permissionSets", member)
    return _document("PermissionSetGroup", lines)
