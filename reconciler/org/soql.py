"""SOQL text building: string literals with escaping, IN lists, and IN lists split to fit.

Pure functions, no network. Every value that goes into a query the reconciler sends
passes through :func:`quote`, so a username such as ``o'brien@acme.com`` can neither
break a query nor change its meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["IN_PLACEHOLDER", "MAX_SOQL_LENGTH", "chunked_in", "in_list", "quote"]

#: Salesforce refuses a SOQL statement longer than this many characters.
MAX_SOQL_LENGTH = 100_000

#: What :func:`chunked_in` replaces with an IN list.
IN_PLACEHOLDER = "{in}"

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


def in_list(values: Iterable[str]) -> str:
    """A parenthesised IN list of quoted values, in the order given: ``('a', 'b')``.

    Raises ValueError for no values: ``IN ()`` is not valid SOQL.
    """
    quoted = [quote(v) for v in values]
    if not quoted:
        raise ValueError("an IN list needs at least one value")
    return "(" + ", ".join(quoted) + ")"


def chunked_in(
    template: str, field_values: Sequence[str], *, max_length: int = 8000
) -> list[str]:
    """Fill ``template``'s ``{in}`` with IN lists so that no query is longer than
    ``max_length`` characters.

    Queries go out as URL parameters of a GET, where servers and proxies cap the line
    length long before SOQL's own 100,000-character limit, hence the small default.
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
    fixed = len(head) + len(tail) + len("()")
    queries: list[str] = []
    chunk: list[str] = []
    size = fixed
    for value in dict.fromkeys(field_values):
        literal = quote(value)
        # Every literal after the first is preceded by ", ".
        added = len(literal) + (2 if chunk else 0)
        if chunk and size + added > max_length:
            queries.append(head + "(" + ", ".join(chunk) + ")" + tail)
            chunk, size, added = [], fixed, len(literal)
        if size + added > max_length:
            raise ValueError(
                f"a value of {len(value)} characters can't fit in a query of at most "
                f"{max_length} characters")
        chunk.append(literal)
        size += added
    if chunk:
        queries.append(head + "(" + ", ".join(chunk) + ")" + tail)
    return queries
