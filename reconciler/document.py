"""What the documents the reconciler reads back (a saved plan) share with those it
only writes (the apply journal): field types that convert nothing, and how a value
read from a file is shown in a message.

pydantic converts by default ("yes" to true, 1 to "1"); a file that says something
else than its reviewer read must be refused instead, so fields use these types. A
JSON list still reads as a tuple, which keeps the models hashable.
"""

from __future__ import annotations

import json
from typing import Annotated

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
