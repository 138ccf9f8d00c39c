"""A small declarative schema: one description gives both validation and JSON Schema.

Each :class:`Spec` checks a located YAML value (see :mod:`.yamlload`), reports
problems with their file:line:col, interpolates strings, and returns the cleaned
value, or :data:`INVALID`. The same spec renders itself as JSON Schema for
``reconciler schema``, so editors and ``validate`` can't disagree about shape.
Rules that need more than one value (cross-references, licenses) live in
:mod:`.build`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.config.interpolate import Interpolator, env_reference
from reconciler.config.suggest import Names, Suggester, bare, q
from reconciler.config.types import Location, Secret
from reconciler.config.yamlload import LList, LMap, kind_of
from reconciler.errors import Problem
from reconciler.model import FIELD_PERMISSIONS, OBJECT_PERMISSIONS, FieldAccess, ObjectAccess

__all__ = ["INVALID", "Access", "Bool", "Check", "Field", "ListOf", "MapOf", "Obj", "Str"]


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


@dataclass
class Check:
    """Shared state of one validation run."""

    problems: list[Problem]
    interpolator: Interpolator
    suggester: Suggester = field(default_factory=Suggester)

    def error(self, file: str, line: int, col: int, message: str) -> None:
        self.problems.append(Problem(message, file, line, col))


class Spec(ABC):
    """One node of the language's schema."""

    description: str = ""

    @abstractmethod
    def check(self, value: Any, file: str, line: int, col: int, path: str, ctx: Check) -> Any:
        """Validate ``value`` (written at file:line:col, address ``path``)."""

    @abstractmethod
    def json_schema(self) -> dict[str, Any]:
        """This node as JSON Schema (draft 2020-12)."""

    def _with_description(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.description:
            schema["description"] = self.description
        return schema


def _quote(value: Any) -> str:
    return q(value) if isinstance(value, str) else str(value)


def _type_error(expected: str, value: Any) -> str:
    got = kind_of(value)
    hint = ""
    if isinstance(value, int | float) and not isinstance(value, bool) and expected == "a string":
        hint = f" (quote it: {q(str(value))})"
    return f"expected {expected}, got {got}{hint}"


# Modes of a string: interpolated plainly, an org credential (a Secret whose
# unset environment variables only matter for the org in use), or a secret that
# must come from the environment.
PLAIN, CREDENTIAL, SECRET = "plain", "credential", "secret"


class Str(Spec):
    """A string, optionally interpolated, length-limited, pattern- or enum-checked."""

    def __init__(
        self,
        description: str = "",
        *,
        max_len: int | None = None,
        pattern: str | None = None,
        shape: str = "",
        enum: Iterable[str] | None = None,
        interpolate: bool = True,
        numbers: bool = False,
        mode: str = PLAIN,
        schema_pattern: bool = False,
        examples: Iterable[str] = (),
    ) -> None:
        self.description = description
        self.max_len = max_len
        self.pattern = re.compile(pattern) if pattern else None
        self.shape = shape
        self.enum = tuple(enum) if enum is not None else None
        self.enum_names = Names(self.enum or ())
        self.interpolate = interpolate and self.enum is None
        self.numbers = numbers
        self.mode = mode
        # A pattern goes into JSON Schema only where no ${…} can appear in the value.
        self.schema_pattern = schema_pattern or not self.interpolate
        self.examples = tuple(examples)

    def check(self, value: Any, file: str, line: int, col: int, path: str, ctx: Check) -> Any:
        if not isinstance(value, str) and self.mode == SECRET:
            return self._secret("", file, line, col, path, ctx)  # never echo a pasted secret
        if not isinstance(value, str):
            if self.numbers and isinstance(value, int | float) and not isinstance(value, bool):
                value = f"{float(value):.1f}" if isinstance(value, float) else str(value)
            else:
                ctx.error(file, line, col, f"{path}: {_type_error('a string', value)}")
                return INVALID
        if self.mode == SECRET:
            return self._secret(value, file, line, col, path, ctx)
        missing: list[str] = []
        env_used: list[str] = []
        if self.interpolate and "$" in value:
            rendered = ctx.interpolator.render(value, allow_missing_env=self.mode == CREDENTIAL)
            if rendered.value is None:
                for message in rendered.errors:
                    ctx.error(file, line, col, f"{path}: {message}")
                return INVALID
            value = rendered.value
            missing = rendered.missing_env
            env_used = rendered.env
        if self.mode == CREDENTIAL:
            source = "env." + ", env.".join(env_used) if env_used else "config"
            return Secret(value, source, address=path, location=Location(file, line, col),
                          missing=tuple(missing))
        return self._checked(value, file, line, col, path, ctx)

    def _checked(self, value: str, file: str, line: int, col: int, path: str,
                 ctx: Check) -> Any:
        if self.enum is not None and value not in self.enum:
            hint = ctx.suggester.did_you_mean(value, self.enum_names)
            ctx.error(file, line, col,
                      f'{path}: {q(value)} is not one of {", ".join(self.enum)}{hint}')
            return INVALID
        if self.max_len is not None and len(value) > self.max_len:
            ctx.error(file, line, col, f"{path}: is {len(value)} characters long, more than "
                                       f"the {self.max_len} allowed")
            return INVALID
        if self.pattern is not None and not self.pattern.fullmatch(value):
            ctx.error(file, line, col, f"{path}: {q(value)} {self.shape}")
            return INVALID
        return value

    def _secret(self, value: str, file: str, line: int, col: int, path: str,
                ctx: Check) -> Any:
        # The value itself is never echoed: it may be a pasted password.
        name = env_reference(value)
        if name is None:
            ctx.error(file, line, col, f"{path}: a secret must come from the environment: "
                                       "write ${env.NAME} and nothing else")
            return INVALID
        actual = ctx.interpolator.environ.get(name)
        return Secret(actual or "", f"env.{name}", address=path,
                      location=Location(file, line, col),
                      missing=() if actual is not None else (name,))

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any]
        if self.enum is not None:
            schema = {"type": "string", "enum": list(self.enum)}
        else:
            schema = {"type": ["string", "number"] if self.numbers else "string"}
            if self.max_len is not None and not self.interpolate:
                schema["maxLength"] = self.max_len
            if self.pattern is not None and self.schema_pattern:
                schema["pattern"] = self.pattern.pattern
        if self.examples:
            schema["examples"] = list(self.examples)
        return self._with_description(schema)


class Bool(Spec):
    """``true`` or ``false`` (never ``yes``/``no``: YAML 1.2 reads those as strings)."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def check(self, value: Any, file: str, line: int, col: int, path: str, ctx: Check) -> Any:
        if isinstance(value, bool):
            return value
        ctx.error(file, line, col, f"{path}: expected true or false, got {_describe(value)}")
        return INVALID

    def json_schema(self) -> dict[str, Any]:
        return self._with_description({"type": "boolean"})


def _describe(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return _quote(value)
    return kind_of(value)


class Scalar(Spec):
    """Any scalar, as a string (variable defaults and values)."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def check(self, value: Any, file: str, line: int, col: int, path: str, ctx: Check) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        ctx.error(file, line, col, f"{path}: expected a string, number or boolean, got "
                                   f"{kind_of(value)}")
        return INVALID

    def json_schema(self) -> dict[str, Any]:
        return self._with_description({"type": ["string", "number", "boolean"]})


class ListOf(Spec):
    """A list; with ``unique`` an item written twice is an error (case-insensitively
    with ``fold``, as Salesforce compares names)."""

    def __init__(self, item: Spec, description: str = "", *, unique: bool = True,
                 fold: bool = False) -> None:
        self.item = item
        self.description = description
        self.unique = unique
        self.fold = fold

    def check(self, value: Any, file: str, line: int, col: int, path: str, ctx: Check) -> Any:
        if not isinstance(value, LList):
            hint = f" (write [{bare(value)}])" if isinstance(value, str) else ""
            ctx.error(file, line, col, f"{path}: {_type_error('a list', value)}{hint}")
            return INVALID
        out: list[Any] = []
        seen: dict[Any, tuple[int, Any]] = {}
        ok = True
        for index, (item, (iline, icol)) in enumerate(zip(value.values, value.pos, strict=True)):
            item_path = f"{path}[{index}]"
            cleaned = self.item.check(item, value.file, iline, icol, item_path, ctx)
            if cleaned is INVALID:
                ok = False
                continue
            if self.unique:
                key = cleaned.casefold() if self.fold and isinstance(cleaned, str) else cleaned
                if key in seen:
                    first, written = seen[key]
                    as_written = "" if written == cleaned else f" as {q(str(written))}"
                    ctx.error(value.file, iline, icol,
                              f"{item_path}: {_quote(cleaned)} is listed twice "
                              f"(first{as_written} at [{first}])")
                    ok = False
                    continue
                seen[key] = (index, cleaned)
            out.append(cleaned)
        return out if ok else INVALID

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.json_schema()}
        if self.unique:
            schema["uniqueItems"] = True
        return self._with_description(schema)


class Access(Spec):
    """A list of permission words, turned into :class:`ObjectAccess`/:class:`FieldAccess`.

    Implied permissions are added by the model (edit ⇒ read and so on).
    """

    def __init__(self, words: tuple[str, ...], make: Callable[[Iterable[str]], Any],
                 what: str, description: str = "") -> None:
        self.words = words
        self.word_set = frozenset(words)
        self.word_names = Names(words)
        self.make = make
        self.what = what
        self.description = description

    def check(self, value: Any, file: str, line: int, col: int, path: str, ctx: Check) -> Any:
        if isinstance(value, LList):
            items = value.values
            # The common case, checked in one go: known words, each written once.
            if self.word_set.issuperset(items) and len(set(items)) == len(items):
                return self.make(items)
            ok = True
            seen: set[str] = set()
            for index, (item, (iline, icol)) in enumerate(zip(items, value.pos, strict=True)):
                if not isinstance(item, str):
                    ctx.error(value.file, iline, icol,
                              f"{path}[{index}]: {_type_error('a permission word', item)}")
                    ok = False
                elif item not in self.word_set:
                    hint = ctx.suggester.did_you_mean(item, self.word_names)
                    ctx.error(value.file, iline, icol,
                              f"{path}[{index}]: unknown {self.what} permission {q(item)}{hint} "
                              f'(use {", ".join(self.words)})')
                    ok = False
                elif item in seen:
                    ctx.error(value.file, iline, icol,
                              f"{path}[{index}]: {q(item)} is listed twice")
                    ok = False
                if isinstance(item, str):
                    seen.add(item)
            return self.make(items) if ok else INVALID
        hint = f" (write [{value}])" if isinstance(value, str) and value in self.word_set else ""
        ctx.error(file, line, col,
                  f"{path}: expected a list of {self.what} permissions, got {kind_of(value)}"
                  f"{hint}")
        return INVALID

    def json_schema(self) -> dict[str, Any]:
        return self._with_description({
            "type": "array", "items": {"type": "string", "enum": list(self.words)},
            "uniqueItems": True})


ObjectWords = Access(OBJECT_PERMISSIONS, ObjectAccess.of, "object",
                     "Object permissions: read create edit delete view_all modify_all. "
                     "Implied ones are added (edit ⇒ read, modify_all ⇒ everything).")
FieldWords = Access(FIELD_PERMISSIONS, FieldAccess.of, "field",
                    "Field permissions: read edit (edit ⇒ read).")


@dataclass
class Key:
    """What the keys of a :class:`MapOf` must look like."""

    pattern: str
    shape: str  # completes '"<key>" …' in the error message
    max_len: int | None = None
    fold: bool = False  # keys that differ only in case are the same Salesforce name
    what: str = "name"
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(self.pattern)

    def problem(self, key: str) -> str | None:
        if not self.regex.fullmatch(key):
            return f"{q(key)} {self.shape}"
        if self.max_len is not None and len(key) > self.max_len:
            return f"{q(key)} is {len(key)} characters long, more than the {self.max_len} allowed"
        return None


class MapOf(Spec):
    """A mapping from names (checked by :class:`Key`) to values of one spec."""

    def __init__(self, key: Key, value: Spec, description: str = "", *,
                 partial: bool = False) -> None:
        self.key = key
        self.value = value
        self.description = description
        # partial: keep the valid entries when some are invalid (top-level blocks, so
        # that cross-checks still run on what is valid).
        self.partial = partial

    def check(self, value: Any, file: str, line: int, col: int, path: str, ctx: Check) -> Any:
        if not isinstance(value, LMap):
            if value is None:
                return {}
            ctx.error(file, line, col, f"{path}: {_type_error('a mapping', value)}")
            return INVALID
        out: dict[str, Any] = {}
        ok = True
        folded: dict[str, str] = {}
        key_spec = self.key
        regex = key_spec.regex
        max_len = key_spec.max_len
        check_value = self.value.check
        for key, item in value.values.items():
            kline, kcol, vline, vcol = value.pos[key]
            efile = value.file_of(key)
            if not regex.fullmatch(key) or (max_len is not None and len(key) > max_len):
                ctx.error(efile, kline, kcol, f"{path}: {key_spec.problem(key)}")
                ok = False
                continue
            if key_spec.fold:
                fkey = key.casefold()
                other = folded.get(fkey)
                if other is not None:
                    oline, ocol = value.pos[other][:2]
                    where = _where(efile, value.file_of(other), oline, ocol)
                    ctx.error(efile, kline, kcol,
                              f"{path}: {q(key)} and {q(other)} ({where}) are the same "
                              f"{key_spec.what}: Salesforce ignores case")
                    ok = False
                    continue
                folded[fkey] = key
            cleaned = check_value(item, efile, vline, vcol, f"{path}.{key}", ctx)
            if cleaned is INVALID:
                ok = False
                continue
            out[key] = cleaned
        return out if ok or self.partial else INVALID

    def json_schema(self) -> dict[str, Any]:
        return self._with_description({
            "type": "object",
            "propertyNames": {"pattern": self.key.pattern},
            "additionalProperties": self.value.json_schema(),
        })


def _where(file: str, other_file: str, line: int, col: int) -> str:
    if file == other_file:
        return f"line {line}, column {col}"
    return f"{other_file}:{line}:{col}"


@dataclass
class Field:
    """One key of an :class:`Obj`."""

    spec: Spec
    required: bool = False


# A post-check sees the cleaned object, the located mapping and the path; it
# reports cross-key problems and may return INVALID.
PostCheck = Callable[[dict[str, Any], LMap, str, Check], Any]


class Obj(Spec):
    """A mapping with a fixed set of keys; unknown keys get a "did you mean"."""

    def __init__(self, fields: Mapping[str, Field], description: str = "", *,
                 hints: Mapping[str, str] | None = None, post: PostCheck | None = None,
                 schema_extra: Mapping[str, Any] | None = None) -> None:
        self.fields = dict(fields)
        self.field_names = Names(self.fields)
        self.description = description
        self.hints = dict(hints or {})
        self.post = post
        self.schema_extra = dict(schema_extra or {})

    def check(self, value: Any, file: str, line: int, col: int, path: str, ctx: Check) -> Any:
        if value is None:
            value = LMap(file, line, col)  # `name:` with nothing after it: an empty mapping
        if not isinstance(value, LMap):
            ctx.error(file, line, col, f"{path}: {_type_error('a mapping', value)}")
            return INVALID
        out: dict[str, Any] = {}
        ok = True
        for key, item in value.values.items():
            kline, kcol, vline, vcol = value.pos[key]
            efile = value.file_of(key)
            spec_field = self.fields.get(key)
            if spec_field is None:
                ctx.error(efile, kline, kcol, f"{path}: {self.unknown_key(key, ctx.suggester)}")
                ok = False
                continue
            if item is None:
                if spec_field.required:
                    ctx.error(efile, kline, kcol, f'{path}: "{key}" needs a value')
                    ok = False
                continue  # an empty optional key means "not given"
            cleaned = spec_field.spec.check(item, efile, vline, vcol, f"{path}.{key}", ctx)
            if cleaned is INVALID:
                ok = False
                continue
            out[key] = cleaned
        missing = [k for k, f in self.fields.items() if f.required and k not in value.values]
        if missing:
            names = ", ".join(f'"{k}"' for k in missing)
            ctx.error(value.file, value.line, value.col,
                      f"{path}: missing required key{'s' if len(missing) > 1 else ''} {names}")
            ok = False
        if not ok:
            return INVALID
        if self.post is not None:
            return self.post(out, value, path, ctx)
        return out

    def unknown_key(self, key: str, suggester: Suggester) -> str:
        """The message for an unknown key, with the closest known key or the list of them."""
        if key in self.hints:
            return f"unknown key {q(key)}; {self.hints[key]}"
        match = suggester.close(key, self.field_names)
        if match is not None:
            return f"unknown key {q(key)}; did you mean {q(match)}?"
        return f'unknown key {q(key)}; valid keys are {", ".join(self.fields)}'

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {k: f.spec.json_schema() for k, f in self.fields.items()},
            "additionalProperties": False,
        }
        required = [k for k, f in self.fields.items() if f.required]
        if required:
            schema["required"] = required
        schema.update(self.schema_extra)
        return self._with_description(schema)
