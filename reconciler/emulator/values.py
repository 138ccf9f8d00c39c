"""A field's value as Salesforce checks it on a write: its type, reference, format,
picklist and length, with the error a real org gives for each."""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.apierror import bad_request
from reconciler.emulator.catalog import (
    BOOLEAN,
    CURRENCY,
    DATE,
    DATETIME,
    DOUBLE,
    EMAIL,
    INT,
    NUMBER_TYPES,
    PERCENT,
    PICKLIST,
    REFERENCE,
    Field,
)
from reconciler.emulator.ids import is_id, to18
from reconciler.emulator.store import Store

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def check_value(f: Field, value: Any, store: Store) -> Any:
    """``value`` converted for field ``f``, or the error Salesforce gives for it."""
    if value is None or value == "":
        if f.type == BOOLEAN:
            raise bad_request("INVALID_TYPE_ON_FIELD_IN_RECORD",
                              f"{f.name}: value not of required type: null", [f.name])
        return None
    if f.type == BOOLEAN:
        if not isinstance(value, bool):
            raise bad_request("JSON_PARSER_ERROR",
                              f"Cannot deserialize instance of boolean from value {value!r} "
                              f"(field {f.name})", [f.name])
        return value
    if f.type in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value) if f.type != INT else int(value)
            except (TypeError, ValueError):
                raise bad_request("INVALID_TYPE_ON_FIELD_IN_RECORD",
                                  f"{f.name}: value not of required type: {value}",
                                  [f.name]) from None
        return int(value) if f.type == INT else float(value) if f.type in (
            DOUBLE, CURRENCY, PERCENT) else value
    if not isinstance(value, str):
        raise bad_request("JSON_PARSER_ERROR",
                          f"Cannot deserialize instance of string from value {value!r} "
                          f"(field {f.name})", [f.name])
    if f.type == REFERENCE:
        # A stored record's Id is found without checking its shape; any other value is.
        got = store.get(value)
        if got is None and not is_id(value):
            raise bad_request("MALFORMED_ID", f"{f.name}: id value of incorrect type: {value}",
                              [f.name])
        if got is None or (f.reference_to and got[0] not in (*f.reference_to, *f.also_to)):
            raise bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                              [f.name])
        return value if len(value) == 18 else to18(value)
    if f.type == DATE and not _DATE_RE.match(value):
        raise bad_request("INVALID_TYPE_ON_FIELD_IN_RECORD",
                          f"{f.name}: value not of required type: {value}", [f.name])
    if f.type == DATETIME and not _DATETIME_RE.match(value):
        raise bad_request("INVALID_TYPE_ON_FIELD_IN_RECORD",
                          f"{f.name}: value not of required type: {value}", [f.name])
    if f.type == EMAIL and not _EMAIL_RE.match(value):
        raise bad_request("INVALID_EMAIL_ADDRESS", f"{f.name}: invalid email address: {value}",
                          [f.name])
    if f.type == PICKLIST and f.restricted_picklist and value not in f.picklist:
        raise bad_request("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"{f.label or f.name}: bad value for restricted picklist field: {value}",
                          [f.name])
    if f.length and len(value) > f.length:
        raise bad_request("STRING_TOO_LONG",
                          f"{f.label or f.name}: data value too large: {value[:40]} "
                          f"(max length={f.length})", [f.name])
    return value
