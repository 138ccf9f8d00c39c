"""What the documents the reconciler reads back (a saved plan, an apply journal) share:
reading one from its file, field types that convert nothing, and how a value read from
a file is shown in a message.

pydantic converts by default ("yes" to true, 1 to "1"); a file that says something
else than its reviewer read must be refused instead, so fields use these types. A
JSON list still reads as a tuple, which keeps the models hashable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import PlainValidator, StrictStr
from pydantic_core import PydanticCustomError

Text = StrictStr
Texts = tuple[StrictStr, ...]


def _scalar(value: object) -> str | bool | int | float | None:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise PydanticCustomError("scalar_type", "must be a string, number, true, false or null")


#: One plain JSON value: a string, a number, true, false or null.
Scalar = Annotated[str | bool | int | float | None, PlainValidator(_scalar)]


def shown(value: object) -> str:
    """A value read from a file, for a message: one escaped line of bounded length."""
    if not (_is_scalar(value) or _is_strings(value) or _is_values(value)):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def _is_strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_values(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and _is_scalar(v[1])
        for v in value)


def read_document(path: Path, what: str, limit: int,
                  error: Callable[[str], Exception]) -> tuple[Any, bytes]:
    """The JSON document at ``path`` (a ``what``, as messages name it) and its bytes.

    A file that can't be one raises ``error`` with one line saying why: missing,
    unreadable, larger than ``limit`` bytes, not UTF-8, not JSON, nested too deeply, a
    key written twice (a reviewer would read one value and the loader keep another), or
    NaN or Infinity.
    """
    try:
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as exc:
        raise error(f"{path}: not a readable {what} ({exc.strerror or exc})") from None
    if len(raw) > limit:
        raise error(f"{path}: not a readable {what}: larger than "
                    f"{limit // (1024 * 1024)} MiB")
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constant), raw
    except UnicodeDecodeError:
        raise error(f"{path}: not a readable {what}: not UTF-8 text") from None
    except RecursionError:
        raise error(f"{path}: not a readable {what}: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, a duplicate key, an absurd number
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{path}: not a readable {what}: {first}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {shown(key)}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
