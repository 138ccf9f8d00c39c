"""The base of the config language's models (:mod:`.schema`, :mod:`.policies`)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["Record"]


class Record(BaseModel):
    """A mapping with a fixed set of keys; unknown keys get a "did you mean"."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    #: Unknown keys worth a sentence of their own, by key.
    HINTS: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _given(cls, data: Any) -> Any:
        # `key:` with nothing after it means "not given"; a required key left empty is
        # then missing, which validate words as "needs a value".
        if data is None:
            return {}
        if isinstance(data, dict) and None in data.values():
            fields = cls.model_fields
            return {k: v for k, v in data.items() if v is not None or k not in fields}
        return data
