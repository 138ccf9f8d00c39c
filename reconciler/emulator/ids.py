"""Salesforce record Ids: 15-character case-sensitive Ids and their 18-character form.

The three checksum characters make an Id case-insensitive: each 5-character chunk
gives a 5-bit number (bit j set when character j is an upper-case letter), mapped into
``A..Z0..5``.
"""

from __future__ import annotations

import itertools
import re
import secrets

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")
# The two instance characters and the reserved one between prefix and counter.
_POD = "5g0"
_PAIRS = tuple(a + b for a in _BASE62 for b in _BASE62)
_ID_SPACE = 62**9


# Each character of an Id as one bit: 1 for an upper-case letter.
_UPPER_BITS = str.maketrans({c: "1" if "A" <= c <= "Z" else "0" for c in _BASE62})
# A chunk's five bits, character j's first, to its checksum character: bit j of the
# number is character j, so the bits read backwards, as binary (one Id is checked or
# made per record written).
_CHUNK_CHARACTER = {"".join(bits): _CHECKSUM_ALPHABET[int("".join(reversed(bits)), 2)]
                    for bits in itertools.product("01", repeat=5)}


def checksum(id15: str) -> str:
    """The three checksum characters of a 15-character Id."""
    bits = id15.translate(_UPPER_BITS)
    return _CHUNK_CHARACTER[bits[:5]] + _CHUNK_CHARACTER[bits[5:10]] + _CHUNK_CHARACTER[bits[10:15]]


def to18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character Id (ValueError when malformed)."""
    if not is_id(record_id):
        raise ValueError(f"malformed Id: {record_id!r}")
    if len(record_id) == 18:
        return record_id  # its checksum is right, or is_id would have said no
    id15 = record_id[:15]
    return id15 + checksum(id15)


def is_id(value: object) -> bool:
    """Whether ``value`` has the shape of a 15- or 18-character Id with a valid checksum."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or checksum(value[:15]) == value[15:]


def make_id(prefix: str, counter: int) -> str:
    """A new 18-character Id for the object with key ``prefix`` and a counter value."""
    if len(prefix) != 3:
        raise ValueError(f"key prefix must be 3 characters: {prefix!r}")
    if not 0 <= counter < _ID_SPACE:
        raise ValueError("Id counter overflow")
    # Nine base-62 digits: one, then four pairs (one Id is made per record written).
    n, d4 = divmod(counter, 3844)
    n, d3 = divmod(n, 3844)
    n, d2 = divmod(n, 3844)
    n, d1 = divmod(n, 3844)
    id15 = prefix + _POD + _BASE62[n] + _PAIRS[d1] + _PAIRS[d2] + _PAIRS[d3] + _PAIRS[d4]
    return id15 + checksum(id15)


#: Organization Ids start with this key prefix.
ORG_PREFIX = "00D"


def new_org_id() -> str:
    """A random Organization Id, so no two local orgs share one (an org Id is what a saved
    plan is bound to)."""
    return make_id(ORG_PREFIX, secrets.randbelow(62**9))
