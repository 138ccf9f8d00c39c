"""SOQL text building: string literals with escaping, IN lists, and queries split to fit.

Pure functions, no network. Every value that goes into a query the reconciler sends
passes through :func:`quote`, so a username such as ``o'brien@acme.com`` can neither
break a query nor change its meaning.

A query travels as the ``q`` parameter of a GET, percent-encoded, and Salesforce refuses
a request whose request line and headers pass :data:`MAX_REQUEST_BYTES`: every query
built here is bounded by the bytes of its encoded URI (:func:`query_uri_length`), not
by its length in characters (a space costs three bytes, a comma three, an ``é`` six).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import quote as percent_encode

__all__ = ["COLUMNS_PLACEHOLDER", "IN_PLACEHOLDER", "MAX_QUERY_URI", "MAX_REQUEST_BYTES",
           "MAX_SOQL_LENGTH", "chunked_in", "in_list", "like_prefix", "query_uri_length",
           "quote", "split_select"]

#: Salesforce refuses a SOQL statement longer than this many characters.
MAX_SOQL_LENGTH = 100_000

#: Salesforce refuses a request whose request line and headers pass this many bytes.
MAX_REQUEST_BYTES = 16_384

#: The bytes a query's URI may take: the rest of :data:`MAX_REQUEST_BYTES` is left to the
#: method and protocol words and the headers (authorization, user agent, call options;
#: well under 2 KiB from simple-salesforce).
MAX_QUERY_URI = MAX_REQUEST_BYTES - 2_048

#: The path a query is sent to, with a two-digit API version.
QUERY_PATH = "/services/data/v99.0/query/?q="

#: What :func:`chunked_in` and :func:`split_select` replace with an IN list.
IN_PLACEHOLDER = "{in}"

#: What :func:`split_select` replaces with a share of the columns.
COLUMNS_PLACEHOLDER = "{columns}"

# SOQL's escape sequences inside a quoted literal. Everything else (including % and _,
# which are wildcards only in LIKE patterns) is left as it is.
_ESCAPES = str.maketrans({
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
})


def quote(value: str) -> str:
    """``value`` as a SOQL string literal: ``o'brien`` → ``'o\\'brien'``.

    Backslash, both quote characters, newline, carriage return, tab, backspace and
    form feed are escaped; nothing else is altered.
    """
    return "'" + value.translate(_ESCAPES) + "'"


def like_prefix(prefix: str) -> str:
    """A LIKE pattern literal matching names that start with ``prefix`` (its own ``%``
    and ``_`` matched literally)."""
    literal = quote(prefix)[:-1].replace("%", "\\%").replace("_", "\\_")
    return literal + "%'"


def in_list(values: Iterable[str]) -> str:
    """A parenthesised IN list of quoted values, in the order given: ``('a', 'b')``.

    Raises ValueError for no values: ``IN ()`` is not valid SOQL.
    """
    quoted = [quote(v) for v in values]
    if not quoted:
        raise ValueError("an IN list needs at least one value")
    return "(" + ", ".join(quoted) + ")"


def query_uri_length(soql: str) -> int:
    """Bytes of the URI that carries ``soql``: the query path and the statement
    percent-encoded (UTF-8; a space as ``%20``, as the most cautious client sends it)."""
    return len(QUERY_PATH) + _encoded(soql)


@lru_cache(maxsize=8192)
def _encoded(text: str) -> int:
    return len(percent_encode(text, safe=""))


_SEPARATOR = ", "


def chunked_in(
    template: str, field_values: Sequence[str], *, max_uri: int = MAX_QUERY_URI
) -> list[str]:
    """Fill ``template``'s ``{in}`` with IN lists so that no query's encoded URI is
    longer than ``max_uri`` bytes (see :func:`query_uri_length`).

    Values are de-duplicated (first occurrence wins), keep their order, and each lands in
    exactly one query; a value is never split. No values give no queries. Raises
    ValueError when ``template`` lacks exactly one ``{in}``, or when a single value alone
    can't fit.

    >>> chunked_in("SELECT Id FROM User WHERE Username IN {in}", ["a", "b"])
    ["SELECT Id FROM User WHERE Username IN ('a', 'b')"]
    """
    if template.count(IN_PLACEHOLDER) != 1:
        raise ValueError(f"the query template must contain {IN_PLACEHOLDER} exactly once")
    head, tail = template.split(IN_PLACEHOLDER)
    fixed = query_uri_length(head + "()" + tail)
    chunks = _pack([quote(v) for v in dict.fromkeys(field_values)], max_uri - fixed)
    if chunks is None:
        raise ValueError(f"a value can't fit in a query of at most {max_uri} bytes")
    return [head + "(" + _SEPARATOR.join(chunk) + ")" + tail for chunk in chunks]


def split_select(
    template: str, columns: Sequence[str], key_values: Sequence[str], *,
    max_uri: int = MAX_QUERY_URI,
) -> list[str]:
    """Queries that between them select every one of ``columns`` for every one of
    ``key_values``, each within ``max_uri`` encoded bytes, as few as can be.

    ``template`` holds ``{columns}`` (filled with a comma-separated share of the columns)
    and ``{in}`` (filled with an IN list of a share of the values), and selects the key
    the caller merges rows on, e.g. ``SELECT Id, {columns} FROM PermissionSet WHERE Id IN
    {in}``. Every (column, value) pair lands in exactly one query. No values give no
    queries. Raises ValueError when a placeholder is missing or repeated, or when one
    column and one value can't fit together.
    """
    if template.count(IN_PLACEHOLDER) != 1 or template.count(COLUMNS_PLACEHOLDER) != 1:
        raise ValueError(f"the query template must contain {COLUMNS_PLACEHOLDER} and "
                         f"{IN_PLACEHOLDER} exactly once each")
    cols = list(dict.fromkeys(columns))
    literals = [quote(v) for v in dict.fromkeys(key_values)]
    if not literals:
        return []
    if not cols:
        raise ValueError("a query needs at least one column")
    fixed = query_uri_length(template.replace(COLUMNS_PLACEHOLDER, "")
                             .replace(IN_PLACEHOLDER, "()"))
    best: tuple[int, list[list[str]], list[list[str]]] | None = None
    # Try the values in 1, 2, 3… even shares; the wider each share, the fewer columns fit
    # beside it. Keep the split that makes the fewest queries.
    for shares in range(1, len(literals) + 1):
        size = math.ceil(len(literals) / shares)
        value_chunks = [literals[i:i + size] for i in range(0, len(literals), size)]
        if best is not None and len(value_chunks) >= best[0]:
            break
        widest = max(_joined(chunk) for chunk in value_chunks)
        column_chunks = _pack(cols, max_uri - fixed - widest)
        if column_chunks is None:
            continue
        cost = len(value_chunks) * len(column_chunks)
        if best is None or cost < best[0]:
            best = (cost, value_chunks, column_chunks)
    if best is None:
        raise ValueError(f"a column and a value can't fit in a query of at most {max_uri} "
                         "bytes")
    _, value_chunks, column_chunks = best
    return [template.replace(COLUMNS_PLACEHOLDER, _SEPARATOR.join(cc))
            .replace(IN_PLACEHOLDER, "(" + _SEPARATOR.join(vc) + ")")
            for vc in value_chunks for cc in column_chunks]


def _joined(items: Sequence[str]) -> int:
    """Encoded bytes of ``items`` joined by the separator."""
    return sum(_encoded(item) for item in items) + _encoded(_SEPARATOR) * (len(items) - 1)


def _pack(items: Sequence[str], room: int) -> list[list[str]] | None:
    """``items`` in order, in runs whose joined encoded size fits ``room``; None when one
    item alone doesn't."""
    sep = _encoded(_SEPARATOR)
    runs: list[list[str]] = []
    run: list[str] = []
    size = 0
    for item in items:
        cost = _encoded(item)
        if cost > room:
            return None
        if run and size + sep + cost > room:
            runs.append(run)
            run, size = [], 0
        size += cost + (sep if run else 0)
        run.append(item)
    if run:
        runs.append(run)
    return runs
