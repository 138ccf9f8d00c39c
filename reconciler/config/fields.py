"""The kinds of value the config language is made of, as pydantic annotations.

Each marker below builds its pydantic-core schema once (validation runs in Rust
except where a string may hold ``${…}`` or a list must be checked for twins) and
its JSON Schema, and carries what :mod:`.validate` needs to word a problem: the
shape a pattern stands for, the permission words of a list. The models that use
them are in :mod:`.schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from reconciler.config.interpolate import Interpolator, Rendered, env_reference

__all__ = ["Distinct", "DistinctKeys", "Finding", "Scalar", "SecretRef", "Text", "Words",
           "findings", "scalar_text"]


class Finding(NamedTuple):
    """A problem a record-level rule finds, relative to the record it checks.

    ``where`` leads from the record to the key (or list item) the problem is about
    (empty: the record itself); ``at_value`` points at the value instead of the
    key; ``own_address`` prefixes the message with that key's address instead of
    the record's.
    """

    where: tuple[str | int, ...]
    message: str
    at_value: bool = False
    own_address: bool = False


def findings(found: list[Finding]) -> PydanticCustomError:
    """The error a rule raises for what it found (:mod:`.validate` locates each)."""
    return PydanticCustomError("findings", "record-level problems", {"found": found})


def _interpolator(info: ValidationInfo) -> Interpolator:
    interpolator = info.context
    assert isinstance(interpolator, Interpolator)  # given to every block with ${…} strings
    return interpolator


@dataclass(frozen=True)
class Text:
    """A string: rendered for ``${var.…}``/``${env.…}`` unless ``interpolate`` is off,
    then checked for length and ``pattern`` (whose failure reads ``"value" <shape>``).

    With ``numbers`` a YAML number is read as its text (``api_version: 62.0``).
    """

    max_len: int | None = None
    pattern: str | None = None
    shape: str = ""
    interpolate: bool = True
    numbers: bool = False

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        schema = core_schema.str_schema(max_length=self.max_len, pattern=self.pattern,
                                        strict=True)
        if self.numbers:
            return core_schema.no_info_before_validator_function(_number_text, schema)
        if self.interpolate:
            return core_schema.with_info_before_validator_function(_render, schema)
        return schema

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out: dict[str, Any] = {"type": ["string", "number"] if self.numbers else "string"}
        # Length and pattern hold for the rendered value, so only where no ${…} can be.
        if not self.interpolate:
            if self.max_len is not None:
                out["maxLength"] = self.max_len
            if self.pattern is not None:
                out["pattern"] = self.pattern
        return out


def _number_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{float(value):.1f}" if isinstance(value, float) else str(value)
    return value


def _render(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and "$" in value:
        rendered = _interpolator(info).render(value)
        if rendered.value is None:
            raise PydanticCustomError("interpolation", "cannot interpolate",
                                      {"messages": rendered.errors})
        return rendered.value
    return value


@dataclass(frozen=True)
class SecretRef:
    """A credential, read as the :class:`~.interpolate.Rendered` text it stands for.

    With ``only_env`` it must be exactly ``${env.NAME}`` (the value is never echoed:
    it may be a pasted password). An unset environment variable is no problem here:
    it only matters for the org in use, so it is recorded (``missing_env``) for
    :mod:`.build` to put on the :class:`~.types.Secret`.
    """

    only_env: bool = False

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(
            _env_only if self.only_env else _credential)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string"}


def _credential(value: Any, info: ValidationInfo) -> Rendered:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "expected a string")
    rendered = _interpolator(info).render(value, allow_missing_env=True)
    if rendered.value is None:
        raise PydanticCustomError("interpolation", "cannot interpolate",
                                  {"messages": rendered.errors})
    return rendered


def _env_only(value: Any, info: ValidationInfo) -> Rendered:
    name = env_reference(value) if isinstance(value, str) else None
    if name is None:
        raise PydanticCustomError("secret", "a secret must come from the environment")
    actual = _interpolator(info).environ.get(name)
    return Rendered(actual or "", env=[name], missing_env=[] if actual is not None else [name])


def scalar_text(value: Any) -> str | None:
    """A scalar as the text a variable holds; None for a mapping or a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


@dataclass(frozen=True)
class Scalar:
    """Any scalar, as a string (variable defaults and values)."""

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(_scalar)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": ["string", "number", "boolean"]}


def _scalar(value: Any) -> str:
    text = scalar_text(value)
    if text is None:
        raise PydanticCustomError("scalar_type", "expected a scalar")
    return text


@dataclass(frozen=True)
class Distinct:
    """A list whose items may each appear once (case-insensitively with ``fold``,
    as Salesforce compares names)."""

    fold: bool = False

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "uniqueItems": True}

    def _check(self, items: list[Any]) -> list[Any]:
        keys = [i.casefold() if self.fold and isinstance(i, str) else i for i in items]
        if len(set(keys)) == len(keys):
            return items
        first: dict[Any, int] = {}
        twins: list[tuple[int, int]] = []
        for index, key in enumerate(keys):
            if key in first:
                twins.append((index, first[key]))
            else:
                first[key] = index
        raise PydanticCustomError("listed_twice", "listed twice",
                                  {"twins": twins, "items": list(items)})


@dataclass(frozen=True)
class Words:
    """A list of permission words (each once) made into an access value by ``make``."""

    what: str
    words: tuple[str, ...]
    make: Callable[[Iterable[str]], Any]
    description: str = ""

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        items = core_schema.list_schema(core_schema.literal_schema(list(self.words)),
                                        strict=True)
        return core_schema.no_info_after_validator_function(self._make, items)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "array", "items": {"type": "string", "enum": list(self.words)},
                "uniqueItems": True, "description": self.description}

    def _make(self, items: list[str]) -> Any:
        if len(set(items)) == len(items):
            return self.make(items)
        seen: set[str] = set()
        twice = []
        for index, item in enumerate(items):
            if item in seen:
                twice.append(index)
            seen.add(item)
        raise PydanticCustomError("word_twice", "listed twice", {"indexes": twice})


@dataclass(frozen=True)
class DistinctKeys:
    """A mapping whose keys are Salesforce names: two that differ only in case are
    the same ``what``."""

    what: str

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def _check(self, entries: dict[str, Any]) -> dict[str, Any]:
        folded: dict[str, str] = {}
        twins: list[tuple[str, str]] = []
        for key in entries:
            other = folded.setdefault(key.casefold(), key)
            if other != key:
                twins.append((key, other))
        if twins:
            raise PydanticCustomError("same_name", "same name", {"twins": twins})
        return entries
