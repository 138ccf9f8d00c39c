"""``reconciler init``: a first config directory, ready to validate and plan.

Two starts:

- the starter (:func:`starter`): the integration-user walkthrough, commented, against
  the embedded org, with the seed that gives that org the walkthrough's custom object;
- from an org the Salesforce CLI has logged in (:func:`from_org`): the org, logged in
  through ``sf``, and its integration users imported as ``import --integration-users``
  would write them.

Both add a ``.gitignore`` for saved plans, apply journals and ``.reconciler/``, and
neither overwrites a file: existing ones are named and nothing is written.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from reconciler import importer
from reconciler.config import load_config
from reconciler.config.schema import ORG_NAME
from reconciler.errors import UsageError

CONFIG_FILE = "reconciler.yaml"
_STARTER = {CONFIG_FILE: "reconciler.yaml", "seeds/local-org.yaml": "local-org.seed.yaml",
            ".gitignore": "gitignore"}


def _template(name: str) -> str:
    return resources.files("reconciler").joinpath("starter", name).read_text(encoding="utf-8")


def starter(directory: Path) -> list[Path]:
    """Write the starter config into ``directory``; the files written."""
    return _write(directory, {target: _template(name) for target, name in _STARTER.items()})


def org_file(alias: str, ca_bundle: Path | None) -> tuple[str, str]:
    """(org name, the YAML of an org logged in through the CLI's ``alias``)."""
    name = alias if re.match(ORG_NAME, alias) else "main"
    lines = [f"# Made by `reconciler init --from-org {alias}`: the org the Salesforce CLI has",
             "# logged in, and its integration users (permission_sets.yaml, users.yaml).",
             "", "settings:", f"  default_org: {name}", "", "orgs:", f"  {name}:",
             f"    auth: {{flow: sf_cli, target_org: {_quoted(alias)}}}"]
    if ca_bundle is not None:
        lines.append(f"    ca_bundle: {_quoted(str(ca_bundle.resolve()))}")
    return name, "\n".join(lines) + "\n"


def from_org(directory: Path, alias: str,
             ca_bundle: Path | None = None) -> tuple[str, list[Path]]:
    """Write an org file for ``alias`` and import the org's integration users into
    ``directory``: (the org's name in the config, the files written; the org file and
    .gitignore alone when the org has no integration user yet)."""
    from reconciler.org.connect import open_org
    from reconciler.org.discover import integration_usernames

    name, text = org_file(alias, ca_bundle)
    files = {CONFIG_FILE: text, ".gitignore": _template("gitignore")}
    _refuse_existing(directory, [*files, *importer.FILE_NAMES.values()])
    with tempfile.TemporaryDirectory(prefix="reconciler-init-") as tmp:
        (Path(tmp) / CONFIG_FILE).write_text(text, encoding="utf-8")
        config = load_config(Path(tmp), variables={}, var_files=[])
        with open_org(config, name) as (org, client):
            # A new org may have none yet: the org file is still a start.
            imported = importer.import_from_org(
                client, org_name=org.name, integration_users=True,
            ) if integration_usernames(client) else None
    written = _write(directory, files)
    if imported is not None:
        written += importer.write_config(imported, directory)
    return name, written


def _quoted(value: str) -> str:
    """A YAML scalar that stays the string given (aliases may hold ':' or '#')."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _refuse_existing(directory: Path, names: list[str]) -> None:
    existing = [str(directory / n) for n in names if (directory / n).exists()]
    if existing:
        raise UsageError(f"refusing to overwrite {', '.join(existing)}: init writes a new "
                         "config; move them away or choose another directory")


def _write(directory: Path, files: Mapping[str, str]) -> list[Path]:
    _refuse_existing(directory, list(files))
    written = []
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def next_commands(directory: Path, org: str) -> list[str]:
    """The next three commands (after a ``cd`` when ``directory`` is not the current
    one: plans are saved under ./plans, which the .gitignore there covers)."""
    here = directory.resolve() == Path.cwd().resolve()
    return [*([] if here else [f"cd {directory}"]), "reconciler validate",
            "reconciler plan", f"reconciler apply plans/{org}.plan.json"]
