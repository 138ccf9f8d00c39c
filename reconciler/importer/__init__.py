"""``import`` and ``export``: existing access becomes config, and config becomes SFDX files.

Public surface::

    import_from_org(client, org_name=..., usernames=..., permission_sets=...,
                    integration_users=...) -> Imported
    read_metadata(paths) -> Imported                 # SFDX *.permissionset-meta.xml …
    write_config(imported, out_dir, force=False) -> list[Path]
    export_metadata(config, out_dir, force=False) -> list[Path]
    export_warnings(config) -> list[Problem]         # what SFDX set files can't carry

Modules: :mod:`.imported` (the value both sources build), :mod:`.fromorg` (the org
side, through the plan's reader), :mod:`.metadata` (SFDX XML both ways),
:mod:`.render` and :mod:`.yamltext` (YAML text with comments). Nothing is written
until everything has been read and the YAML loads back as a valid config; existing
files are never overwritten without ``force``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from reconciler.config import Config, load_config
from reconciler.errors import ConfigError, Problem, UsageError
from reconciler.importer.fromorg import import_from_org
from reconciler.importer.imported import Imported
from reconciler.importer.metadata import GROUP_SUFFIX, SET_SUFFIX, group_xml, read_metadata, set_xml
from reconciler.importer.render import FILE_NAMES, render
from reconciler.model import SETUP_ENTITY_TYPES

__all__ = [
    "FILE_NAMES",
    "Imported",
    "export_metadata",
    "export_warnings",
    "import_from_org",
    "read_metadata",
    "render",
    "write_config",
]


def write_config(imported: Imported, out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the imported config into ``out_dir``; the paths written, in order.

    The YAML is loaded back with the config loader first; a problem there is raised as
    :class:`ConfigError` against the file it would have been in, and nothing is written.
    """
    files = render(imported)
    if not files:
        raise UsageError("nothing to import: no permission sets, groups or users found")
    _validate(files, out_dir)
    return _write(files, out_dir, force=force)


def _validate(files: Mapping[str, str], out_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="reconciler-import-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        try:
            load_config(Path(tmp), variables={}, var_files=[], environ={})
        except ConfigError as exc:
            raise ConfigError([
                Problem(f"the imported config would be invalid: {p.message}"
                        + _origin_of(files, p),
                        file=str(out_dir / Path(p.file).name) if p.file else None,
                        line=p.line, column=p.column)
                for p in exc.problems]) from None


def _origin_of(files: Mapping[str, str], problem: Problem) -> str:
    """`` (from X.permissionset-meta.xml)`` when the resource at the problem's line says
    where it came from: the YAML is not written, the source file is what to fix."""
    if not problem.file or not problem.line:
        return ""
    lines = files.get(Path(problem.file).name, "").splitlines()[: problem.line]
    resources = 0
    for line in reversed(lines):
        if line.startswith("  # from "):
            return f" (from {line[len('  # from '):]})"
        if line.startswith("  ") and not line.startswith("   ") and line.endswith(":"):
            resources += 1  # a resource's key: one more and we are in the one before
            if resources > 1:
                return ""
    return ""


def _write(files: Mapping[str, str], out_dir: Path, *, force: bool) -> list[Path]:
    targets = {out_dir / name: text for name, text in files.items()}
    existing = sorted(str(p) for p in targets if p.exists())
    if existing and not force:
        raise UsageError(f"refusing to overwrite {', '.join(existing)}: move it away or "
                         "pass --force")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is not a directory")
    written: list[Path] = []
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then rename: a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def export_metadata(config: Config, out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the config's permission sets and groups as SFDX source files under
    ``out_dir/permissionsets/`` and ``out_dir/permissionsetgroups/``.

    Sets and groups declared ``absent`` are not written. Users have no SFDX form.
    """
    files: dict[str, str] = {}
    for name, ps in config.permission_sets.items():
        if not ps.absent:
            files[f"permissionsets/{name}{SET_SUFFIX}"] = set_xml(ps)
    for name, group in config.permission_set_groups.items():
        if not group.absent:
            files[f"permissionsetgroups/{name}{GROUP_SUFFIX}"] = group_xml(group)
    if not files:
        raise UsageError("nothing to export: the config declares no permission sets or groups")
    return _write(files, out_dir, force=force)


def export_warnings(config: Config) -> list[Problem]:
    """What :func:`export_metadata` leaves out, one warning per set: connected-app access,
    which a permission set's SFDX file has no element for (Salesforce keeps it in each
    connected app's metadata, under ``permissionSetName``)."""
    out = []
    for name, ps in config.permission_sets.items():
        apps = sorted(e.name for e in ps.setup_entities
                      if e.type == SETUP_ENTITY_TYPES["connected_apps"])
        if apps and not ps.absent:
            out.append(Problem(
                f"permission set {name}: connected-app access ({', '.join(apps)}) is not "
                "written: SFDX keeps it in each connected app's own metadata "
                "(<permissionSetName> in its .connectedApp-meta.xml)"))
    return out
