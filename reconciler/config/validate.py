"""Validate merged blocks with the models of :mod:`.schema`, and word what is wrong.

pydantic checks the located YAML tree as it is (:class:`~.yamlload.LMap` is a
dict). Each error it reports has a ``loc``: this module follows it through the
tree to the file:line:col of the key or value, and through the model to the
words the problem needs (the shape of a name, the allowed values, the keys to
suggest), so a problem reads the same whatever check found it.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from reconciler.config.fields import DistinctKeys, Finding, Text, Words
from reconciler.config.interpolate import Interpolator
from reconciler.config.schema import BLOCKS, ConfigFile, Record
from reconciler.config.suggest import Names, Suggester, bare, q
from reconciler.config.types import Location
from reconciler.config.yamlload import LList, LMap, kind_of
from reconciler.errors import Problem

__all__ = ["scalar_problem", "validate_block"]

Loc = tuple[str | int, ...]
_KEY = "[key]"  # how pydantic marks an error in a mapping's key


def validate_block(block: str, raw: LMap, interpolator: Interpolator | None,
                   problems: list[Problem], suggester: Suggester) -> Any:
    """The validated block (a model, or a dict of models by name), or None.

    Problems are appended to ``problems``. A block of named entries keeps its valid
    entries when others are invalid, so that cross-checks still run on them.
    """
    words = _Words(block, raw, problems, suggester)
    data: Mapping[str, Any] = raw
    what = BLOCKS[block]
    if what is not None:
        data = words.distinct_keys(raw, what)
    adapter = _ADAPTERS[block]
    try:
        return adapter.validate_python(data, context=interpolator)
    except ValidationError as exc:
        words.report(exc.errors(include_url=False))
    if block in ("settings", "policies"):  # one record, not entries to salvage
        return None
    # Salvage the valid entries; a second run must not spend the suggestion budget.
    quiet = (Interpolator(interpolator.declared, interpolator.environ, Suggester(0))
             if interpolator is not None else None)
    kept: dict[str, Any] = {}
    for key, value in data.items():
        try:
            kept.update(adapter.validate_python({key: value}, context=quiet))
        except ValidationError:
            continue
    return kept


# --- from loc to type --------------------------------------------------------------

def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """A type without ``Annotated`` and ``| None``, and the metadata it carried."""
    meta: list[Any] = []
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp, *more = get_args(tp)
            meta += more
        elif origin in (Union, types.UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp, meta


def _block_type(block: str) -> Any:
    base, _ = _unwrap(ConfigFile.model_fields[block].annotation)
    return base


_TYPES = {block: _block_type(block) for block in BLOCKS}
_ADAPTERS = {block: TypeAdapter(tp) for block, tp in _TYPES.items()}


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _type_at(block: str, loc: Loc) -> tuple[Any, list[Any]]:
    """The type (and its metadata) of the node at ``loc``."""
    tp: Any = _TYPES[block]
    meta: list[Any] = []
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if _is_model(tp):
            field = tp.model_fields[part]
            tp, inner = _unwrap(field.annotation)
            meta = list(field.metadata) + inner
        elif get_origin(tp) is dict:
            key, value = get_args(tp)
            if parts and parts[0] == _KEY:
                parts.pop(0)
                tp, meta = _unwrap(key)
            else:
                tp, meta = _unwrap(value)
        elif get_origin(tp) is list:
            tp, meta = _unwrap(get_args(tp)[0])
        else:  # an item of a permission list
            words = _marker(meta, Words)
            meta = [words] if words is not None else []
            tp = str
    return tp, meta


def _marker(meta: Iterable[Any], kind: type[Any]) -> Any:
    return next((m for m in meta if isinstance(m, kind)), None)


@cache
def _names(choices: tuple[str, ...]) -> Names:
    return Names(choices)


# --- from loc to position and address -----------------------------------------------

def _address(block: str, loc: Loc) -> str:
    return block + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                           for p in loc if p != _KEY)


def _where(file: str, other_file: str, line: int, col: int) -> str:
    if file == other_file:
        return f"line {line}, column {col}"
    return f"{other_file}:{line}:{col}"


class _Step:
    """Where the node at a loc is written: its key (or list item) and its value."""

    def __init__(self, node: Any, key: Location, value: Location) -> None:
        self.node = node
        self.key = key
        self.value = value

    @property
    def start(self) -> Location:
        """Where the node starts: a mapping at its first key, anything else at its value."""
        node = self.node
        if isinstance(node, LMap | LList):
            return Location(node.file, node.line, node.col)
        return self.value


def _follow(raw: LMap, loc: Loc) -> _Step:
    here = Location(raw.file, raw.line, raw.col)
    step = _Step(raw, here, here)
    for part in loc:
        node = step.node
        if isinstance(node, LMap) and isinstance(part, str) and part in node.pos:
            kline, kcol, vline, vcol = node.pos[part]
            file = node.file_of(part)
            step = _Step(node[part], Location(file, kline, kcol), Location(file, vline, vcol))
        elif isinstance(node, LList) and isinstance(part, int) and part < len(node):
            where = Location(node.file, *node.at(part))
            step = _Step(node[part], where, where)
        elif part != _KEY:
            break
    return step


# --- the words ---------------------------------------------------------------------

def _type_error(expected: str, value: Any) -> str:
    hint = ""
    if isinstance(value, int | float) and not isinstance(value, bool) and expected == "a string":
        hint = f" (quote it: {q(str(value))})"
    return f"expected {expected}, got {kind_of(value)}{hint}"


def scalar_problem(value: Any) -> str:
    """What is wrong with a variable value that is not a scalar."""
    return f"expected a string, number or boolean, got {kind_of(value)}"


def _quote(value: Any) -> str:
    return q(value) if isinstance(value, str) else str(value)


def _describe(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return _quote(value)
    return kind_of(value)


class _Words:
    """Turns the pydantic errors of one block into located problems."""

    def __init__(self, block: str, raw: LMap, problems: list[Problem],
                 suggester: Suggester) -> None:
        self.block = block
        self.raw = raw
        self.problems = problems
        self.suggester = suggester

    def add(self, where: Location, message: str) -> None:
        self.problems.append(where.problem(message))

    def distinct_keys(self, raw: LMap, what: str) -> dict[str, Any]:
        """The entries of a block of Salesforce names, without those that repeat an
        earlier name in another case (each reported)."""
        folded: dict[str, str] = {}
        kept: dict[str, Any] = {}
        for key, value in raw.items():
            other = folded.setdefault(key.casefold(), key)
            if other == key:
                kept[key] = value
            else:
                self.same_name((), key, other, what)
        return kept

    def same_name(self, loc: Loc, key: str, other: str, what: str) -> None:
        step, first = _follow(self.raw, (*loc, key)), _follow(self.raw, (*loc, other))
        where = _where(step.key.file, first.key.file, first.key.line, first.key.column)
        self.add(step.key, f"{_address(self.block, loc)}: {q(key)} and {q(other)} ({where}) "
                           f"are the same {what}: Salesforce ignores case")

    def report(self, errors: list[Any]) -> None:
        # A bad key says all there is to say about its entry.
        bad_keys = {e["loc"][:-1] for e in errors if e["loc"][-1:] == (_KEY,)}
        missing: dict[Loc, list[str]] = {}
        for error in errors:
            loc: Loc = error["loc"]
            if any(loc[:len(k)] == k and loc != (*k, _KEY) for k in bad_keys):
                continue
            if error["type"] == "missing":
                missing.setdefault(loc[:-1], []).append(str(loc[-1]))
            else:
                self.error(error["type"], loc, error["input"], error.get("ctx") or {},
                           error["msg"])
        for loc, keys in missing.items():
            self.missing(loc, keys)

    def missing(self, loc: Loc, keys: list[str]) -> None:
        step = _follow(self.raw, loc)
        path = _address(self.block, loc)
        absent = []
        for key in keys:
            if isinstance(step.node, LMap) and key in step.node:  # written, left empty
                self.add(_follow(self.raw, (*loc, key)).key, f'{path}: "{key}" needs a value')
            else:
                absent.append(key)
        if absent:
            names = ", ".join(f'"{k}"' for k in absent)
            self.add(step.start,
                     f"{path}: missing required key{'s' if len(absent) > 1 else ''} {names}")

    def error(self, kind: str, loc: Loc, value: Any, ctx: dict[str, Any], msg: str) -> None:
        path = _address(self.block, loc)
        if loc[-1:] == (_KEY,):
            self.key_error(kind, loc, value, ctx, _address(self.block, loc[:-2]))
        elif kind == "extra_forbidden":
            model, _ = _type_at(self.block, loc[:-1])
            self.add(_follow(self.raw, loc).key,
                     f"{_address(self.block, loc[:-1])}: {self.unknown_key(model, str(loc[-1]))}")
        elif kind == "findings":
            for found in ctx["found"]:
                self.finding(loc, found)
        elif kind in ("listed_twice", "word_twice", "same_name"):
            self.twins(kind, loc, ctx, path)
        elif kind == "interpolation":
            where = _follow(self.raw, loc).value
            for message in ctx["messages"]:
                self.add(where, f"{path}: {message}")
        else:
            message = self.value_error(kind, loc, value, ctx, msg)
            self.add(_follow(self.raw, loc).value, f"{path}: {message}")

    def key_error(self, kind: str, loc: Loc, key: str, ctx: dict[str, Any], path: str) -> None:
        _, meta = _type_at(self.block, loc)
        text: Text = _marker(meta, Text)
        where = _follow(self.raw, loc[:-1]).key
        # pydantic checks the length first; a malformed name is told its shape first.
        if kind == "string_pattern_mismatch" or (
                text.pattern is not None and not re.fullmatch(text.pattern, key)):
            self.add(where, f"{path}: {q(key)} {text.shape}")
        else:  # too long
            self.add(where, f"{path}: {q(key)} is {len(key)} characters long, more than the "
                            f"{ctx['max_length']} allowed")

    def unknown_key(self, model: type[Record], key: str) -> str:
        """The message for an unknown key, with the closest known key or the list of them."""
        if key in model.HINTS:
            return f"unknown key {q(key)}; {model.HINTS[key]}"
        match = self.suggester.close(key, _names(tuple(model.model_fields)))
        if match is not None:
            return f"unknown key {q(key)}; did you mean {q(match)}?"
        return f'unknown key {q(key)}; valid keys are {", ".join(model.model_fields)}'

    def finding(self, loc: Loc, found: Finding) -> None:
        target = (*loc, *found.where)
        step = _follow(self.raw, target)
        where = step.value if found.at_value else step.key if found.where else step.start
        address = _address(self.block, target if found.own_address else loc)
        self.add(where, f"{address}: {found.message}")

    def twins(self, kind: str, loc: Loc, ctx: dict[str, Any], path: str) -> None:
        if kind == "same_name":
            _, meta = _type_at(self.block, loc)
            for key, other in ctx["twins"]:
                self.same_name(loc, key, other, _marker(meta, DistinctKeys).what)
        elif kind == "word_twice":
            node = _follow(self.raw, loc).node
            for index in ctx["indexes"]:
                self.add(_follow(self.raw, (*loc, index)).value,
                         f"{path}[{index}]: {q(node[index])} is listed twice")
        else:
            items = ctx["items"]
            for index, first in ctx["twins"]:
                value, written = items[index], items[first]
                as_written = "" if written == value else f" as {q(str(written))}"
                self.add(_follow(self.raw, (*loc, index)).value,
                         f"{path}[{index}]: {_quote(value)} is listed twice "
                         f"(first{as_written} at [{first}])")

    def value_error(self, kind: str, loc: Loc, value: Any, ctx: dict[str, Any],
                    msg: str) -> str:
        tp, meta = _type_at(self.block, loc)
        words: Words | None = _marker(meta, Words)
        if kind == "literal_error":
            choices: tuple[str, ...] = words.words if words is not None else get_args(tp)
            if not isinstance(value, str):
                return _type_error("a permission word" if words else "a string", value)
            hint = self.suggester.did_you_mean(value, _names(choices))
            if words is not None:
                return (f"unknown {words.what} permission {q(value)}{hint} "
                        f'(use {", ".join(choices)})')
            return f'{q(value)} is not one of {", ".join(choices)}{hint}'
        if kind == "list_type":
            if words is not None:
                hint = f" (write [{value}])" if value in words.words else ""
                return f"expected a list of {words.what} permissions, got {kind_of(value)}{hint}"
            hint = f" (write [{bare(value)}])" if isinstance(value, str) else ""
            return f"{_type_error('a list', value)}{hint}"
        if kind == "string_pattern_mismatch":
            return f"{q(value)} {_marker(meta, Text).shape}"
        if kind in ("string_too_long", "too_long"):
            return f"is {len(value)} characters long, more than the {ctx['max_length']} allowed"
        if kind == "secret":
            return "a secret must come from the environment: write ${env.NAME} and nothing else"
        return _VALUE_ERRORS.get(kind, lambda v: msg)(value)


_VALUE_ERRORS = {
    "string_type": lambda v: _type_error("a string", v),
    "bool_type": lambda v: f"expected true or false, got {_describe(v)}",
    "model_type": lambda v: _type_error("a mapping", v),
    "dict_type": lambda v: _type_error("a mapping", v),
    "scalar_type": scalar_problem,
}
