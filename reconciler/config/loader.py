"""``load_config``: files → merged blocks → variables → validation → :class:`Config`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.config.build import build
from reconciler.config.desired import Config, gc_paused
from reconciler.config.fields import scalar_text
from reconciler.config.interpolate import VAR_ENV_PREFIX, Interpolator
from reconciler.config.jsonschema import document_schema
from reconciler.config.schema import BLOCKS
from reconciler.config.suggest import Names, Suggester, bare, q
from reconciler.config.validate import scalar_problem, validate_block
from reconciler.config.yamlload import LMap, MergedMap, kind_of, read_yaml_file
from reconciler.errors import ConfigError, Problem
from reconciler.model import FrozenMap

__all__ = ["config_json_schema", "load_config"]

CONFIG_SUFFIXES = (".yaml", ".yml")
POLICY_DIR = "policies"
EXTENSION_PREFIX = "x-"
_BLOCK_NAMES = Names(BLOCKS)


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one config file, for editors and ``reconciler schema``.

    It describes shape only; ``reconciler validate`` also checks what needs the
    whole config (references, licenses, duplicates across files).
    """
    return document_schema()


def load_config(
    path: Path,
    *,
    variables: Mapping[str, str] | None = None,
    var_files: Sequence[Path] = (),
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load and validate the config at ``path`` (a directory of YAML files, or one file).

    Variable values, lowest precedence first: ``default`` in the config, the
    environment variable ``RECONCILER_VAR_<NAME>``, each ``var_files`` file in
    order, then ``variables`` (``--var``). ``environ`` defaults to ``os.environ``.

    Raises :class:`~reconciler.errors.ConfigError` with every problem found.
    """
    with gc_paused():
        return _Loader(Path(path), dict(variables or {}), list(var_files),
                       os.environ if environ is None else environ).load()


def declared_orgs(path: Path) -> list[str]:
    """The org names the config at ``path`` declares (``local`` when it declares none),
    read without variables: names are keys, never interpolated, so no org's variables
    are needed to list them. Raises :class:`~reconciler.errors.ConfigError`."""
    loader = _Loader(Path(path), {}, [], {})
    tree: dict[str, MergedMap] = {}
    for file in loader.discover():
        ok, root = read_yaml_file(file, str(file), loader.problems)
        if ok:
            loader.merge(root, str(file), tree)
    if loader.problems:
        raise ConfigError(loader.problems)
    orgs = tree.get("orgs")
    return [str(name) for name in orgs] if isinstance(orgs, dict) and orgs else ["local"]


class _Loader:
    def __init__(self, path: Path, variables: dict[str, str], var_files: list[Path],
                 environ: Mapping[str, str]) -> None:
        self.path = path
        self.cli_variables = variables
        self.var_files = var_files
        self.environ = environ
        self.problems: list[Problem] = []
        self.suggester = Suggester()

    def load(self) -> Config:
        files = self.discover()
        tree: dict[str, MergedMap] = {}
        for file in files:
            display = str(file)
            ok, root = read_yaml_file(file, display, self.problems)
            if ok:
                self.merge(root, display, tree)
        declared = self.variables(tree.get("variables"))
        interpolator = Interpolator(declared, self.environ, self.suggester)
        cleaned: dict[str, Any] = {}
        for block in BLOCKS:
            if block in tree and block != "variables":
                cleaned[block] = validate_block(block, tree[block], interpolator,
                                                self.problems, self.suggester)
        built = build(tree, cleaned, self.problems, self.suggester)
        if self.problems:
            raise ConfigError(self.problems)
        return Config(
            path=self.path,
            files=tuple(str(f) for f in files),
            settings=built.settings,
            orgs=FrozenMap(built.orgs),
            permission_sets=FrozenMap(built.permission_sets),
            permission_set_groups=FrozenMap(built.permission_set_groups),
            users=FrozenMap(built.users),
            variables=FrozenMap((k, v) for k, v in declared.items() if v is not None),
            locations=FrozenMap(built.locations),
            references=tuple(built.references),
            lifecycles=FrozenMap(built.lifecycles),
            user_addresses=FrozenMap(built.user_addresses),
            _tree=tree,
            policies=cleaned.get("policies"),
        )

    def discover(self) -> list[Path]:
        path = self.path
        if not path.exists():
            raise ConfigError([Problem(f"config path {q(str(path))} does not exist")])
        if path.is_dir():
            try:
                # Not only regular files: a config-named FIFO or device is reported
                # when it is read, not silently left out.
                files = sorted(
                    p for p in path.iterdir()
                    if p.suffix in CONFIG_SUFFIXES and not p.name.startswith(".")
                    and not p.is_dir())
                # Policy files may sit apart, in policies/, where a security team owns them.
                if (path / POLICY_DIR).is_dir():
                    files += sorted(
                        p for p in (path / POLICY_DIR).iterdir()
                        if p.suffix in CONFIG_SUFFIXES and not p.name.startswith(".")
                        and not p.is_dir())
            except OSError as exc:
                problem = Problem(f"cannot list {q(str(path))}: {exc.strerror or exc}")
                raise ConfigError([problem]) from exc
            if not files:
                raise ConfigError([Problem(f"no *.yaml or *.yml files in {q(str(path))}")])
            return files
        return [path]

    def merge(self, root: Any, display: str, tree: dict[str, MergedMap]) -> None:
        """Add one file's blocks to the tree; an address defined twice is an error."""
        if root is None:
            return  # an empty file (or only comments) declares nothing
        if not isinstance(root, LMap):
            self.problems.append(Problem(
                f"the top level must be a mapping of blocks ({', '.join(BLOCKS)}), "
                f"not {kind_of(root)}", display, 1, 1))
            return
        for block, value in root.items():
            kline, kcol, vline, vcol = root.pos[block]
            if block.startswith(EXTENSION_PREFIX):
                continue  # scratch space for anchors, as in docker-compose files
            if block not in BLOCKS:
                hint = self.suggester.did_you_mean(block, _BLOCK_NAMES)
                self.problems.append(Problem(
                    f'unknown block {q(block)}{hint or "; blocks are " + ", ".join(BLOCKS)}',
                    display, kline, kcol))
                continue
            if value is None:
                continue  # `users:` with nothing under it
            if not isinstance(value, LMap):
                self.problems.append(Problem(
                    f"{block}: expected a mapping, got {kind_of(value)}", display, vline, vcol))
                continue
            merged = tree.get(block)
            if merged is None:
                merged = tree[block] = MergedMap(display, kline, kcol)
            for key, item in value.items():
                if key in merged:
                    first_line, first_col = merged.pos[key][:2]
                    line, col = value.pos[key][:2]
                    self.problems.append(Problem(
                        f"{block}.{key} is already defined at "
                        f"{merged.files[key]}:{first_line}:{first_col}", display, line, col))
                    continue
                merged[key] = item
                merged.pos[key] = value.pos[key]
                merged.files[key] = display

    def variables(self, raw: MergedMap | None) -> dict[str, str | None]:
        """Declared variables and their values: default < environment < var files < --var."""
        declared: dict[str, str | None] = {}
        if raw is not None:
            cleaned = validate_block("variables", raw, None, self.problems, self.suggester)
            for name, variable in cleaned.items():
                declared[name] = variable.default
        for name in declared:
            value = self.environ.get(VAR_ENV_PREFIX + name)
            if value is not None:
                declared[name] = value
        names = Names(declared)
        for var_file in self.var_files:
            self.var_file(var_file, declared, names)
        for name, value in self.cli_variables.items():
            if name not in declared:
                self.problems.append(Problem(
                    f"--var {bare(name)}: no variable {q(name)} is declared"
                    f"{self.suggester.did_you_mean(name, names)}"))
                continue
            declared[name] = value
        return declared

    def var_file(self, path: Path, declared: dict[str, str | None], names: Names) -> None:
        display = str(path)
        if not path.exists():
            self.problems.append(Problem(f"var file {q(display)} does not exist"))
            return
        ok, root = read_yaml_file(path, display, self.problems)
        if not ok or root is None:
            return
        if not isinstance(root, LMap):
            self.problems.append(Problem(
                f"a var file must be a mapping of variable names to values, not {kind_of(root)}",
                display, 1, 1))
            return
        for name, value in root.items():
            kline, kcol, vline, vcol = root.pos[name]
            if name not in declared:
                self.problems.append(Problem(
                    f"no variable {q(name)} is declared{self.suggester.did_you_mean(name, names)}",
                    display, kline, kcol))
                continue
            text = scalar_text(value)
            if text is None:
                self.problems.append(Problem(f"{name}: {scalar_problem(value)}", display,
                                             vline, vcol))
                continue
            declared[name] = text
