"""Generate the emulator's catalogue data from real Salesforce describes.

    python -m reconciler.emulator.generate_catalog [PATH_TO_shared/real-salesforce]

Reads the recorded ``describe/<Object>.describe.json`` bodies, the global describe
``describe/Global.sobjects.json`` and the system permission names of
``permissionset-fields.txt``, and writes :data:`OUTPUT` (``catalog_data.json`` beside
this module): per standard object, the object-level flags and its standard fields with
the describe keys the emulator serves; the labels the global describe gives every
object; the system permissions; and where each came from (file, upstream repository and commit, API
version), read from the ``*.SOURCES.txt`` files.

Custom fields in the recordings (``History__c``…) belonged to the recording org, not
to Salesforce: they are left out. The output is sorted, stable JSON, so running the
generator twice over the same data gives the same bytes.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("catalog_data.json")
DEFAULT_SOURCE = Path("..") / "shared" / "real-salesforce"

DESCRIBE_DIR = "describe"
GLOBAL_FILE = "Global.sobjects.json"
DESCRIBE_SOURCES = "describe.SOURCES.txt"
PERMISSIONS_FILE = "permissionset-fields.txt"
PERMISSIONS_SOURCES = "permissionset-fields.SOURCES.txt"

#: Object-level describe keys the emulator serves.
OBJECT_KEYS = ("label", "labelPlural", "keyPrefix", "createable", "updateable", "deletable",
               "queryable")
#: What the global describe tells of objects without a describe of their own.
GLOBAL_KEYS = ("label", "labelPlural")
#: Field-level describe keys the emulator serves (picklists are reduced to their values).
FIELD_KEYS = ("name", "label", "type", "length", "permissionable", "calculated", "autoNumber",
              "createable", "updateable", "nillable", "defaultedOnCreate", "defaultValue",
              "nameField", "referenceTo", "relationshipName", "restrictedPicklist")


def build(source: Path) -> dict[str, Any]:
    """The catalogue document for the real data under ``source``."""
    describe_sources = _describe_sources((source / DESCRIBE_SOURCES).read_text("utf-8"))
    objects: dict[str, Any] = {}
    described: list[dict[str, Any]] = []
    for path in sorted((source / DESCRIBE_DIR).glob("*.describe.json")):
        body = json.loads(path.read_text("utf-8"))
        name = str(body["name"])
        objects[name] = _object(body)
        described.append({"object": name, "file": f"{DESCRIBE_DIR}/{path.name}",
                          **describe_sources.get(path.name, {})})
    global_body = json.loads((source / DESCRIBE_DIR / GLOBAL_FILE).read_text("utf-8"))
    global_objects = {str(s["name"]): {k: s.get(k) for k in GLOBAL_KEYS}
                      for s in global_body["sobjects"]}
    names = sorted({line.strip() for line in
                    (source / PERMISSIONS_FILE).read_text("utf-8").splitlines()
                    if line.strip()})
    return {
        "generated_by": "python -m reconciler.emulator.generate_catalog",
        "sources": {
            "describes": described,
            "global": {"file": f"{DESCRIBE_DIR}/{GLOBAL_FILE}",
                       **describe_sources.get(GLOBAL_FILE, {})},
            "system_permissions": {
                "file": PERMISSIONS_FILE,
                "upstream": _permission_sources(
                    (source / PERMISSIONS_SOURCES).read_text("utf-8")),
            },
        },
        "objects": objects,
        "global_objects": global_objects,
        "system_permissions": names,
    }


def render(document: Mapping[str, Any]) -> str:
    """Stable JSON text: sorted keys, a final newline, and each flat entry (a field, an
    object of the global describe) on one line, so a change reads as a one-line diff."""
    return _render(document, 0) + "\n"


def _render(value: Any, depth: int) -> str:
    if not isinstance(value, (dict, list)) or (isinstance(value, dict) and _flat(value)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(value, list):
        items = [inner + _render(v, depth + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    items = [f"{inner}{json.dumps(k)}: {_render(value[k], depth + 1)}" for k in sorted(value)]
    return "{\n" + ",\n".join(items) + "\n" + pad + "}"


def _flat(value: dict[str, Any]) -> bool:
    """Only scalars and lists of scalars as values."""
    return all(not isinstance(v, (dict, list))
               or (isinstance(v, list) and not any(isinstance(x, (dict, list)) for x in v))
               for v in value.values())


def _object(body: Mapping[str, Any]) -> dict[str, Any]:
    fields = [_field(f) for f in body["fields"] if not _custom(f)]
    # Fields keep the describe's own order (Id first), as a real org lists them.
    return {**{k: body.get(k) for k in OBJECT_KEYS}, "fields": fields}


def _custom(raw: Mapping[str, Any]) -> bool:
    # The recordings carry a few of their org's own fields, some hand-marked as standard:
    # the name tells (every custom field's API name ends in __c).
    return bool(raw.get("custom")) or str(raw["name"]).endswith("__c")


def _field(raw: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: raw.get(k) for k in FIELD_KEYS}
    out["referenceTo"] = sorted(raw.get("referenceTo") or [])
    out["picklistValues"] = [str(v["value"]) for v in raw.get("picklistValues") or []
                             if v.get("active", True)]
    return out


_BLOCK_RE = re.compile(r"^(\S+\.json)\n((?:  .*\n?)+)", re.MULTILINE)


def _describe_sources(text: str) -> dict[str, dict[str, Any]]:
    """Per recorded file: upstream repository, path, commit and the API versions seen."""
    out: dict[str, dict[str, Any]] = {}
    for m in _BLOCK_RE.finditer(text):
        block = m.group(2)
        info: dict[str, Any] = {}
        src = re.search(r"source: (\S+) (\S+)", block)
        if src:
            info["repo"], info["path"] = src.group(1), src.group(2)
        commit = re.search(r"commit \(last change\): ([0-9a-f]{40})", block)
        if commit:
            info["commit"] = commit.group(1)
        info["api_versions"] = re.findall(r"'(\d+\.\d)'", block)
        out[m.group(1)] = info
    return out


def _permission_sources(text: str) -> list[dict[str, str]]:
    """The numbered upstream lists the union was made from."""
    out = []
    for section in re.split(r"^(?=\d\) )", text, flags=re.MULTILINE)[1:]:
        info = {"list": section.splitlines()[0].strip()}
        for key, pattern in (("repo", r"repo:\s+(\S+)"), ("path", r"path:\s+(\S+)"),
                             ("commit", r"commit:\s+([0-9a-f]{40})"),
                             ("api_version", r"API version:\s+(.+)")):
            m = re.search(pattern, section)
            if m:
                info[key] = m.group(1).strip()
        if "repo" in info:
            out.append(info)
    return out


def main(argv: list[str] | None = None) -> int:
    """Write :data:`OUTPUT` from the real data (default ``../shared/real-salesforce``)."""
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else DEFAULT_SOURCE
    if not (source / DESCRIBE_DIR).is_dir():
        print(f"{source}: no {DESCRIBE_DIR}/ folder of real describes here", file=sys.stderr)
        return 1
    OUTPUT.write_text(render(build(source)), encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
