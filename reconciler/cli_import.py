"""The commands that move access between forms: ``import`` (an org, SFDX files or an SFDX
project → config) and ``export`` (config → SFDX files). Registered on the command group
by :mod:`reconciler.cli`, which hands over its error reporter."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli_fleet import load
from reconciler.cli_setup import Fail, count
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.importer.imported import Imported


# long: the two commands' option declarations; their bodies are short.
def add_import_commands(group: click.Group, fail: Fail) -> None:
    """``import`` and ``export``, reporting errors with ``fail``."""

    @group.command("import")
    @click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
    @click.option("--org", "org_name", default=None,
                  help="Org to read (default: the global --org, else settings.default_org).")
    @click.option("--user", "usernames", multiple=True, metavar="USERNAME",
                  help="Import this user and what it holds; repeatable.")
    @click.option("--permission-set", "set_names", multiple=True, metavar="NAME",
                  help="Import this permission set; repeatable.")
    @click.option("--integration-users", is_flag=True,
                  help="Import every active user on the Salesforce Integration license or an "
                       "API-only profile.")
    @click.option("--from-metadata", is_flag=True,
                  help="Read PATHS instead of an org: SFDX *.permissionset-meta.xml and "
                       "*.permissionsetgroup-meta.xml files or directories of them.")
    @click.option("--from-sf-project", "sf_project", type=click.Path(path_type=Path), default=None,
                  metavar="DIR", help="Read the permission files under the package directories "
                                      "of the SFDX project in DIR (its sfdx-project.json).")
    @click.option("--integration-candidates", is_flag=True,
                  help="Only list full-license users that are API-only, and the integration "
                       "seats free; writes nothing.")
    @click.option("-o", "--out", type=click.Path(path_type=Path), default=None, metavar="DIR",
                  help="Directory to write the YAML files into.")
    @click.option("--force", is_flag=True, help="Overwrite existing files.")
    @click.pass_obj
    def import_cmd(obj: Any, paths: tuple[Path, ...], org_name: str | None,
                   usernames: tuple[str, ...], set_names: tuple[str, ...],
                   integration_users: bool, from_metadata: bool, sf_project: Path | None,
                   integration_candidates: bool, out: Path | None, force: bool) -> None:
        """Turn an org's users and permission sets, or SFDX permission files, into config.

        \b
        reconciler import --org prod --integration-users -o config/
        reconciler import --org prod --user api@acme.com --permission-set INT_X -o config/
        reconciler import --from-metadata force-app/main/default -o config/
        reconciler import --org prod --integration-candidates
        """
        from reconciler import importer

        _import_mode(bool(usernames or set_names or integration_users), from_metadata, paths,
                     sf_project, integration_candidates, out)
        try:
            if from_metadata:
                imported = importer.read_metadata(paths)
            elif sf_project is not None:
                imported = importer.read_sf_project(sf_project)
            else:
                from reconciler.org.connect import open_org

                config = load(obj, obj.org)
                with open_org(config, org_name or obj.org) as (org, client):
                    if integration_candidates:
                        from reconciler.importer.render import candidates_lines
                        from reconciler.org.discover import integration_candidates as find

                        for line in candidates_lines(find(client)):
                            click.echo(line)
                        return
                    imported = importer.import_from_org(
                        client, org_name=org.name, usernames=usernames, permission_sets=set_names,
                        integration_users=integration_users)
            assert out is not None
            written = importer.write_config(imported, out, force=force)
        except ReconcilerError as exc:
            fail(exc, obj)
        _report(imported, written)

    @group.command("export")
    @click.option("--to-metadata", "to_metadata", type=click.Path(path_type=Path), required=True,
                  metavar="DIR", help="Where to write permissionsets/ and permissionsetgroups/.")
    @click.option("--force", is_flag=True, help="Overwrite existing files.")
    @click.pass_obj
    def export_cmd(obj: Any, to_metadata: Path, force: bool) -> None:
        """Write the config's permission sets and groups as SFDX source files."""
        from reconciler import importer

        try:
            config = load(obj, obj.org)
            written = importer.export_metadata(config, to_metadata, force=force)
        except ReconcilerError as exc:
            fail(exc, obj)
        for warning in importer.export_warnings(config):
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"Wrote {count(len(written), 'file')} under {to_metadata}")


def _import_mode(from_org: bool, from_metadata: bool, paths: tuple[Path, ...],
                 sf_project: Path | None, integration_candidates: bool,
                 out: Path | None) -> None:
    """Refuse a mix of import sources, or a source without what it needs."""
    if sum((from_org, from_metadata, sf_project is not None, integration_candidates)) != 1:
        raise click.UsageError("choose one of: --user/--permission-set/--integration-users, "
                               "--from-metadata PATH..., --from-sf-project DIR, "
                               "--integration-candidates")
    if paths and not from_metadata:
        raise click.UsageError("PATHS are read only with --from-metadata")
    if from_metadata and not paths:
        raise click.UsageError("--from-metadata needs at least one file or directory")
    if out is None and not integration_candidates:
        raise click.UsageError("say where to write the YAML files: -o DIR")


def _report(imported: Imported, written: list[Path]) -> None:
    """What was written, and what the config language left out."""
    from reconciler.importer import FILE_NAMES

    for warning in imported.warnings:
        click.echo(f"warning: {warning}", err=True)
    counts = {"permission_sets": len(imported.permission_sets),
              "permission_set_groups": len(imported.permission_set_groups),
              "users": len(imported.users)}
    nouns = {"permission_sets": "permission set",
             "permission_set_groups": "permission set group", "users": "user"}
    for path in written:
        kind = next(k for k, name in FILE_NAMES.items() if name == path.name)
        click.echo(f"Wrote {path} ({count(counts[kind], nouns[kind])})")
    if imported.warnings:
        click.echo(f"{count(len(imported.warnings), 'warning')}: what the config language "
                   "does not model yet was left out (listed above).")
