"""What every action kind shares: the :class:`Action` base (address, record key,
symbol, destructiveness) and its document form, the :class:`Write` it makes, and the
attribute values some kinds carry. The kinds themselves, with their facts, are in
:mod:`reconciler.actions`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from reconciler.document import Scalar, Text, shown

__all__ = ["Action", "Values", "Write", "values"]

#: A user's or a set's attributes, as sorted (name, value) pairs.
Values = tuple[tuple[Text, Scalar], ...]

def values(mapping: dict[str, Any]) -> Values:
    """A frozen, sorted form of a small attribute mapping."""
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True)
class Write:
    """The sObject an action writes and how: several actions on one record in one layer
    (a profile change and a rename of the same user) become one record write."""

    sobject: str
    operation: Literal["create", "update", "delete"]


_SYMBOLS = {"create": "+", "update": "~", "delete": "-"}


class Action(BaseModel):
    """One change to one record of the org."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    reason: Text = ""
    #: The sObject and operation of the record this kind writes.
    writes: ClassVar[Write]
    #: Fields a document leaves out when they are empty (and may lack).
    optional: ClassVar[frozenset[str]] = frozenset()
    #: The kind of resource it belongs to (the first part of its address), and the
    #: kind of record it writes (the first part of :attr:`record`).
    resource_kind: ClassVar[str]
    record_kind: ClassVar[str]

    @property
    def symbol(self) -> str:
        """``+`` adds, ``~`` changes, ``-`` removes."""
        return _SYMBOLS[self.writes.operation]

    @property
    def destructive(self) -> bool:
        """Takes away access or data: listed separately, before any approval. A delete
        does, whatever its values."""
        return self.writes.operation == "delete"

    @property
    @abc.abstractmethod
    def address(self) -> str:
        """The config address of what this action changes."""

    @property
    @abc.abstractmethod
    def record(self) -> str:
        """The key of the record it writes (see :func:`reader.record_key`)."""

    @property
    def resource(self) -> str:
        """The address of the resource (user, set, group) the action belongs to."""
        user = getattr(self, "user", None)
        if isinstance(user, str) and user:
            return f"users.{user}"  # a username used as the key may hold dots
        parts = self.address.split(".")
        return ".".join(parts[:2])

    @property
    def id(self) -> str:
        """Unique within a plan: kind and address."""
        return f"{self.kind}:{self.address}"

    @abc.abstractmethod
    def detail(self) -> str:
        """What the action does, in a line."""

    if not TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any:
            # pydantic's looks for private and extra attributes (actions have none), and
            # the ordering rules ask every action for fields only some kinds have.
            raise AttributeError(name)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data: kind, address, then the fields; :data:`AnyAction` reads it."""
        return self.model_dump(mode="json")

    @model_serializer(mode="wrap")
    def _document(self, handler: Any) -> dict[str, Any]:
        # What names the action comes first, as a reader of the file looks for it.
        fields = handler(self)
        if self.optional:
            fields = {k: v for k, v in fields.items() if k not in self.optional or v}
        return {"kind": fields.pop("kind"), "address": self.address, **fields}

    @model_validator(mode="wrap")
    @classmethod
    def _read(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """An action read from a document (it names its kind, which code never passes)
        must hold every field, and the address its fields give."""
        if not isinstance(data, dict) or "kind" not in data:
            return handler(data)
        fields = {k: v for k, v in data.items() if k != "address"}
        missing = [f for f in ("address", *cls.model_fields)
                   if f not in data and f not in cls.optional]
        if missing:
            raise PydanticCustomError("missing_key", "missing key {key}",
                                      {"key": shown(missing[0])})
        action = handler(fields)
        if data["address"] != action.address:
            raise PydanticCustomError(
                "derived", "address {got} is not the one its fields give ({want})",
                {"got": shown(data["address"]), "want": shown(action.address)})
        return action
