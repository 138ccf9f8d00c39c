"""The emulator's SOQL engine: tokenizer, recursive-descent parser, closure compiler, executor.

``parse()`` turns a query into a frozen AST, checking every object, field and
relationship against the catalogue and type-checking every literal, so a bad query
fails the way Salesforce fails it (``MALFORMED_QUERY``, ``INVALID_FIELD``,
``INVALID_TYPE``) before any record is read. ``execute()`` compiles the WHERE clause
into Python closures once per call (no AST walk per row), narrows the candidates
through the record source's index when a top-level conjunct pins an Id or reference
field, then filters, sorts, pages and shapes the rows into the REST API's JSON records.
``columns()`` describes a parsed query's SELECT list as the query resource does for
``columns=true``.

Supported: field lists with parent paths (up to 5 hops, polymorphic ``Id``/``Name``/
``Type``), child subqueries, ``COUNT()`` and ``COUNT(field)``; WHERE with comparisons,
``[NOT] IN`` lists and semi-/anti-joins, ``LIKE``, ``AND``/``OR``/``NOT``, date and
datetime literals and the date functions TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n,
NEXT_N_DAYS:n, LAST_N_HOURS:n, NEXT_N_HOURS:n; ORDER BY with NULLS FIRST/LAST; LIMIT;
OFFSET. Anything else (GROUP BY, HAVING, WITH, FOR UPDATE, TYPEOF, functions such as
toLabel) is refused with ``MALFORMED_QUERY`` rather than answered wrongly.

Deliberate approximations, each marked where it is implemented:
- date functions use UTC, not the running user's time zone;
- a boolean field missing from a stored record counts as false in WHERE and ORDER BY
  (Salesforce checkboxes are never null) but is output as stored (null);
- without ORDER BY rows come in source order; a query narrowed on ``Id`` comes in Id
  order, which is creation order for Ids the emulator minted.
"""

from __future__ import annotations

import dataclasses
import re
import time as clock
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from reconciler.emulator.catalog import (
    ADDRESS,
    BOOLEAN,
    CURRENCY,
    DATE,
    DATETIME,
    DOUBLE,
    ID,
    INT,
    NUMBER_TYPES,
    PERCENT,
    REFERENCE,
    TEXT_TYPES,
    Catalog,
    Field,
    SObject,
)
from reconciler.emulator.ids import is_id, to18

__all__ = [
    "And",
    "Comparison",
    "CountItem",
    "DateFunction",
    "FieldItem",
    "FieldPath",
    "Hop",
    "InList",
    "Like",
    "Not",
    "Or",
    "OrderItem",
    "Query",
    "RecordSource",
    "Result",
    "SemiJoin",
    "SoqlError",
    "SubqueryItem",
    "columns",
    "execute",
    "like_matcher",
    "parse",
]

Record = dict[str, Any]
Getter = Callable[[Record], Any]
Predicate = Callable[[Record], bool]
Shaper = Callable[[Record, str], dict[str, Any]]

MAX_OFFSET = 2000
MAX_RELATIONSHIP_HOPS = 5
#: Salesforce refuses a SOQL statement longer than this many characters.
MAX_QUERY_LENGTH = 100_000
#: How deep parentheses may nest in WHERE: an emulator bound (Salesforce documents none)
#: that keeps the recursive-descent parser and the compiled closures far from Python's
#: recursion limit.
MAX_NESTING = 64
#: How long one query may run before it is refused with QUERY_TIMEOUT. Salesforce allows
#: two minutes; the emulator answers from memory under the org's lock, so it stops far
#: sooner rather than hold every other request up.
QUERY_TIMEOUT_SECONDS = 10.0
_TIMEOUT_MESSAGE = "Your query request was running for too long."
# How many rows pass between two looks at the clock (one row costs at most a linear LIKE
# over its value, so a stretch of rows can't overrun the deadline by much).
_CLOCK_EVERY = 64


class SoqlError(Exception):
    """A query Salesforce would refuse: ``error_code`` is the REST errorCode."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


class RecordSource(Protocol):
    """Where execute() reads records from (the emulator's store, or a test fake)."""

    def records(self, sobject: str, include_deleted: bool = False) -> Iterable[dict[str, Any]]:
        """Every record of ``sobject`` in source (insertion) order."""
        ...

    def get(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        """(sObject name, record) for an Id, or None."""
        ...

    def find(
        self, sobject: str, field: str, values: Collection[str]
    ) -> Iterable[dict[str, Any]] | None:
        """Records whose Id/reference ``field`` is one of ``values``, in source order,
        through an index; None when there is no index (execute() then scans)."""
        ...


# ---------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class Hop:
    """One step up a parent relationship: ``PermissionSetId`` → ``PermissionSet``."""

    field: str  # the reference field holding the parent's Id
    relationship: str  # its relationship name, the key of the nested JSON record
    target: str | None  # the parent sObject; None when the reference is polymorphic


@dataclass(frozen=True)
class FieldPath:
    """A resolved field reference such as ``PermissionSet.License.Name``."""

    text: str  # canonical dotted form, for messages and duplicate checks
    hops: tuple[Hop, ...]
    name: str  # the leaf field (canonical case), or Id/Name/Type after a polymorphic hop
    type: str  # the leaf's catalogue field type
    polymorphic_leaf: bool = False


@dataclass(frozen=True)
class FieldItem:
    """A plain or dotted field in the SELECT list."""

    path: FieldPath


@dataclass(frozen=True)
class CountItem:
    """``COUNT()`` (path None) or ``COUNT(field) [alias]``."""

    path: FieldPath | None
    alias: str


@dataclass(frozen=True)
class SubqueryItem:
    """A child subquery in the SELECT list: ``(SELECT … FROM Assignments)``."""

    relationship: str  # canonical child relationship name, the JSON key
    field: str  # the child's reference field pointing at the parent
    query: Query


@dataclass(frozen=True)
class DateFunction:
    """A relative date literal: TODAY, LAST_N_DAYS:7, …; resolved at execute time."""

    name: str
    n: int = 0


@dataclass(frozen=True)
class Comparison:
    """``path op value``; ``value`` is already normalised to the field's comparison key."""

    path: FieldPath
    op: str  # = != < <= > >=
    value: Any


@dataclass(frozen=True)
class InList:
    """``path [NOT] IN (v1, v2, …)`` with normalised values."""

    path: FieldPath
    values: tuple[Any, ...]
    negated: bool


#: A LIKE pattern split at its unescaped ``%``: each segment is a run of characters, None
#: standing for ``_`` (any one character).
LikePattern = tuple[tuple[str | None, ...], ...]


@dataclass(frozen=True)
class Like:
    """``path LIKE 'pattern'``; ``pattern`` is the pattern's segments (:data:`LikePattern`)."""

    path: FieldPath
    pattern: LikePattern


@dataclass(frozen=True)
class SemiJoin:
    """``path [NOT] IN (SELECT idField FROM …)``."""

    path: FieldPath
    query: Query
    negated: bool
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    operand: Expr


Expr = Comparison | InList | Like | SemiJoin | And | Or | Not
SelectItem = FieldItem | CountItem | SubqueryItem


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key."""

    path: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    """A parsed, validated query."""

    sobject: str  # canonical sObject name
    items: tuple[SelectItem, ...]
    where: Expr | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    count_only: bool  # SELECT COUNT() …: the answer is totalSize with no records
    catalog: Catalog = dataclasses.field(compare=False, repr=False)

    @property
    def aggregate(self) -> bool:
        """Whether the SELECT list is COUNT(field) items answered as one AggregateResult."""
        return not self.count_only and any(isinstance(i, CountItem) for i in self.items)


@dataclass
class Result:
    """What a query returns: totalSize and the JSON-shaped records."""

    total_size: int
    records: list[dict[str, Any]]


# ---------------------------------------------------------------------------
# Tokenizer

_NAME, _STRING, _NUMBER, _OP = "name", "string", "number", "op"
_DATE, _DATETIME = "date", "datetime"
_LPAREN, _RPAREN, _COMMA, _COLON, _EOF = "(", ")", ",", ":", "end"

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>[+-]?(?:\d+(?:\.\d+)?|\.\d+))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op><>|!=|<=|>=|=|<|>)
    | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_WORD_CHAR = re.compile(r"[A-Za-z0-9_.]")
_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b",
            "f": "\f"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    value: Any
    pos: int
    like: LikePattern = ()  # for strings: the literal read as a LIKE pattern


def _position(soql: str, pos: int) -> str:
    row = soql.count("\n", 0, pos) + 1
    col = pos - (soql.rfind("\n", 0, pos) + 1) + 1
    return f"Row:{row}:Column:{col}"


def _pointed(soql: str, pos: int, message: str) -> str:
    """Salesforce's wording of a query error: the query's line, a caret under the spot,
    ``ERROR at Row:R:Column:C``, then why (``shared/real-salesforce/errors.txt``)."""
    start = soql.rfind("\n", 0, pos) + 1
    end = soql.find("\n", pos)
    line = soql[start:] if end < 0 else soql[start:end]
    return f"\n{line}\n{' ' * (pos - start)}^\nERROR at {_position(soql, pos)}\n{message}"


def _malformed(soql: str, pos: int, message: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", f"{message} (at {_position(soql, pos)})")


def _read_string(soql: str, start: int) -> _Token:
    """A quoted literal from ``start`` (the opening quote), with SOQL's escapes."""
    chars: list[str] = []
    segments: list[tuple[str | None, ...]] = []
    segment: list[str | None] = []
    i = start + 1
    while i < len(soql):
        c = soql[i]
        if c == "'":
            segments.append(tuple(segment))
            return _Token(_STRING, soql[start : i + 1], "".join(chars), start, tuple(segments))
        if c == "\\":
            esc = soql[i + 1] if i + 1 < len(soql) else ""
            if esc in _ESCAPES:
                ch = _ESCAPES[esc]
            elif esc in ("%", "_"):
                # An escaped wildcard is a literal % or _ in LIKE, and itself elsewhere.
                ch = esc
            else:
                raise _malformed(soql, i, f"invalid escape sequence '\\{esc}' in string literal")
            chars.append(ch)
            segment.append(ch)
            i += 2
            continue
        chars.append(c)
        if c == "%":
            segments.append(tuple(segment))
            segment = []
        else:
            segment.append(None if c == "_" else c)
        i += 1
    raise _malformed(soql, start, "unterminated string literal")


def _fold(text: str) -> str:
    """``text`` lower-cased character for character (as a case-insensitive match compares):
    a character whose lower case is longer, such as U+0130, stays as it is."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


class _Segment:
    """One ``%``-free run of a LIKE pattern, matched without backtracking."""

    def __init__(self, chars: tuple[str | None, ...]) -> None:
        self.chars = tuple(None if c is None else _fold(c) for c in chars)
        self.size = len(chars)
        self.literal = None if None in chars else "".join(self.chars)  # type: ignore[arg-type]
        # Shift-And: bit j of masks[c] says position j accepts c; wildcards accept all.
        self.wild = 0
        self.masks: dict[str, int] = {}
        for j, c in enumerate(self.chars):
            if c is None:
                self.wild |= 1 << j
            else:
                self.masks[c] = self.masks.get(c, 0) | 1 << j

    def at(self, text: str, pos: int) -> bool:
        """Whether the segment matches ``text`` at ``pos``."""
        if pos + self.size > len(text):
            return False
        if self.literal is not None:
            return text.startswith(self.literal, pos)
        return all(c is None or text[pos + j] == c for j, c in enumerate(self.chars))

    def find(self, text: str, start: int, stop: int) -> int:
        """Where the leftmost match inside ``text[start:stop]`` ends, or -1: one pass over
        the window (``str.find`` for a literal, else a bit-parallel Shift-And scan)."""
        if self.literal is not None:
            at = text.find(self.literal, start, stop)
            return -1 if at < 0 else at + self.size
        top, state, wild, masks = 1 << (self.size - 1), 0, self.wild, self.masks
        for i in range(start, stop):
            state = ((state << 1) | 1) & (masks.get(text[i], 0) | wild)
            if state & top:
                return i + 1
        return -1


def like_matcher(pattern: LikePattern) -> Callable[[str], bool]:
    """A case-insensitive test of a whole value against a LIKE pattern, in time linear in
    the value's length.

    The first segment must match at the start and the last at the end; each segment
    between is taken at its leftmost match after the previous one (taking it any later
    can only leave less room for the rest). Each character of the value is looked at by
    one segment search only, so nothing is ever retried: no pattern can make a match
    backtrack the way a regular expression such as ``(.*a){5}b`` does.
    """
    segs = [_Segment(chars) for chars in pattern]
    first, last = segs[0], segs[-1]
    if len(segs) == 1:
        return lambda text: len(t := _fold(text)) == first.size and first.at(t, 0)
    middle = segs[1:-1]

    def match(text: str) -> bool:
        t = _fold(text)
        pos, stop = first.size, len(t) - last.size
        if stop < pos or not first.at(t, 0):
            return False
        for seg in middle:
            pos = seg.find(t, pos, stop)
            if pos < 0:
                return False
        return last.at(t, stop)

    return match


def _tokenize(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(soql):
        if soql[pos] == "'":
            tok = _read_string(soql, pos)
            tokens.append(tok)
            pos += len(tok.text)
            continue
        m = _TOKEN_RE.match(soql, pos)
        if m is None:
            raise _malformed(soql, pos, f"unexpected character {soql[pos]!r}")
        kind = m.lastgroup
        text = m.group()
        end = m.end()
        if kind in ("number", "date", "datetime") and end < len(soql) and _WORD_CHAR.match(
            soql, end
        ):
            # "5abc", "2026-01-01T10:00" (no zone) or "1.2.3": never a valid literal.
            stop = end
            while stop < len(soql) and (_WORD_CHAR.match(soql, stop) or soql[stop] in ":+-"):
                stop += 1
            raise _malformed(soql, pos, f"invalid literal '{soql[pos:stop]}'")
        if kind == "number":
            value: Any = float(text) if "." in text else int(text)
            tokens.append(_Token(_NUMBER, text, value, pos))
        elif kind == "date":
            try:
                value = date.fromisoformat(text)
            except ValueError:
                raise _malformed(soql, pos, f"invalid date literal '{text}'") from None
            tokens.append(_Token(_DATE, text, value, pos))
        elif kind == "datetime":
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                raise _malformed(soql, pos, f"invalid datetime literal '{text}'") from None
            tokens.append(_Token(_DATETIME, text, value, pos))
        elif kind == "name":
            tokens.append(_Token(_NAME, text, text, pos))
        elif kind == "op":
            tokens.append(_Token(_OP, text, "!=" if text == "<>" else text, pos))
        elif kind == "punct":
            tokens.append(_Token(text, text, text, pos))
        pos = end
    tokens.append(_Token(_EOF, "", None, len(soql)))
    return tokens


# ---------------------------------------------------------------------------
# Comparison keys: how a stored value and a literal are made comparable per field type


def _text_key(v: Any) -> Any:
    # Salesforce stores no empty strings (they become null) and compares text
    # case-insensitively.
    if v is None or v == "":
        return None
    return v.lower() if isinstance(v, str) else str(v).lower()


def _id_key(v: Any) -> Any:
    return v or None


def _plain_key(v: Any) -> Any:
    return v


def _date_key(v: Any) -> Any:
    if v is None or v == "":
        return None
    if isinstance(v, date):
        return v.date() if isinstance(v, datetime) else v
    return date.fromisoformat(str(v)[:10])


def _datetime_key(v: Any) -> Any:
    if v is None or v == "":
        return None
    d = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
    # Stored values carry +0000; treat a zone-less one as UTC rather than fail to compare.
    return d if d.tzinfo is not None else d.replace(tzinfo=UTC)


def _key_for(type_: str) -> Callable[[Any], Any]:
    if type_ in (ID, REFERENCE):
        return _id_key
    if type_ == BOOLEAN or type_ in NUMBER_TYPES:
        return _plain_key
    if type_ == DATE:
        return _date_key
    if type_ == DATETIME:
        return _datetime_key
    return _text_key


def _sf_type(type_: str) -> str:
    """The type name Salesforce's filter-criterion error uses for a field type."""
    if type_ in NUMBER_TYPES or type_ in (BOOLEAN, DATE):
        return type_
    return {DATETIME: "dateTime", REFERENCE: "reference", ID: "id"}.get(type_, "string")


# ---------------------------------------------------------------------------
# Parser

_DAY_FUNCTIONS = frozenset({"TODAY", "YESTERDAY", "TOMORROW"})
_N_DAY_FUNCTIONS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS"})
_N_HOUR_FUNCTIONS = frozenset({"LAST_N_HOURS", "NEXT_N_HOURS"})
_OTHER_DATE_FUNCTIONS = frozenset({
    "THIS_WEEK", "LAST_WEEK", "NEXT_WEEK", "THIS_MONTH", "LAST_MONTH", "NEXT_MONTH",
    "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER",
    "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR", "THIS_FISCAL_QUARTER", "LAST_FISCAL_QUARTER",
    "NEXT_FISCAL_QUARTER", "THIS_FISCAL_YEAR", "LAST_FISCAL_YEAR", "NEXT_FISCAL_YEAR",
    "NEXT_N_WEEKS", "LAST_N_WEEKS", "NEXT_N_MONTHS", "LAST_N_MONTHS", "NEXT_N_QUARTERS",
    "LAST_N_QUARTERS", "NEXT_N_YEARS", "LAST_N_YEARS", "N_DAYS_AGO", "N_WEEKS_AGO",
    "N_MONTHS_AGO", "N_QUARTERS_AGO", "N_YEARS_AGO",
})

# Keywords the emulator recognises but refuses, with the message it refuses them with.
_UNSUPPORTED = {
    "GROUP": "GROUP BY is not supported by the emulator",
    "HAVING": "HAVING is not supported by the emulator",
    "WITH": "WITH clauses (SECURITY_ENFORCED, USER_MODE, DATA CATEGORY…) are not supported "
            "by the emulator",
    "USING": "USING SCOPE is not supported by the emulator",
    "FOR": "FOR UPDATE / FOR VIEW / FOR REFERENCE are not supported by the emulator",
    "UPDATE": "UPDATE TRACKING / UPDATE VIEWSTAT are not supported by the emulator",
    "TYPEOF": "TYPEOF is not supported by the emulator",
    "INCLUDES": "INCLUDES is not supported by the emulator",
    "EXCLUDES": "EXCLUDES is not supported by the emulator",
    "ALL": "ALL ROWS is Apex-only; use the queryAll resource instead",
}
_RESERVED = frozenset({
    "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
    "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH",
    "ORDER", "BY", "OFFSET", "FOR", "USING", "TYPEOF", "TRUE", "FALSE", "UPDATE",
})

_NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom "
    "field, be sure to append the '__c' after the custom field name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)
_BAD_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in {where}. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_BAD_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, "
    "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


class _Parser:
    """Recursive descent over the token list; one instance per parse() call."""

    def __init__(self, soql: str, catalog: Catalog) -> None:
        self.soql = soql
        self.catalog = catalog
        self.tokens = _tokenize(soql)
        self.i = 0
        self.depth = 0  # parentheses open in WHERE

    # -- token helpers --------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> _Token:
        tok = self.peek()
        if tok.kind != _EOF:
            self.i += 1
        return tok

    def at(self, *keywords: str) -> bool:
        tok = self.peek()
        return tok.kind == _NAME and tok.text.upper() in keywords

    def error(self, tok: _Token, message: str) -> SoqlError:
        return _malformed(self.soql, tok.pos, message)

    def unexpected(self, tok: _Token) -> SoqlError:
        if tok.kind == _EOF:
            return self.error(tok, "unexpected end of query")
        if tok.kind == _NAME and tok.text.upper() in _UNSUPPORTED:
            return self.error(tok, _UNSUPPORTED[tok.text.upper()])
        return self.error(tok, f"unexpected token: '{tok.text}'")

    def expect(self, kind: str) -> _Token:
        tok = self.next()
        if tok.kind != kind:
            raise self.unexpected(tok)
        return tok

    def expect_keyword(self, keyword: str) -> _Token:
        tok = self.next()
        if tok.kind != _NAME or tok.text.upper() != keyword:
            raise self.unexpected(tok)
        return tok

    # -- query ------------------------------------------------------------------

    def query(
        self, mode: str, parent: SObject | None = None
    ) -> tuple[Query, tuple[str, str] | None]:
        """A SELECT; ``mode`` is "top", "child" (a subquery in a SELECT list) or "semi".

        Returns the query and, for a child subquery, (relationship name, child field).
        """
        self.expect_keyword("SELECT")
        select_at = self.i
        from_at = self._find_from()
        # The SELECT list can only be resolved once FROM names the object, so read
        # FROM first, then come back to the list.
        self.i = from_at + 1
        name_tok, sobj, relationship = self._from(mode, parent)
        after_from = self.i
        self.i = select_at
        items = self._select_list(sobj, mode)
        if self.i != from_at:
            raise self.unexpected(self.peek())
        self.i = after_from

        where = None
        if self.at("WHERE"):
            self.next()
            where = self._expr(sobj)
            self._check_semijoins(where)
        order_by = self._order_by_clause(sobj, items, mode)
        limit, offset = self._limit_offset(mode)
        count_only = any(isinstance(i, CountItem) and i.path is None for i in items)
        q = Query(sobj.name, items, where, order_by, limit, offset, count_only, self.catalog)
        if mode == "semi":
            self._check_semi_select(q, name_tok)
        return q, relationship

    def _from(self, mode: str, parent: SObject | None
              ) -> tuple[_Token, SObject, tuple[str, str] | None]:
        """The object FROM names (a child relationship in a subquery): its token, the
        object and, for a child subquery, (relationship name, child field)."""
        name_tok = self.next()
        # Reserved words are refused, except real objects such as Order.
        if name_tok.kind != _NAME or (
            name_tok.text.upper() in _RESERVED and name_tok.text not in self.catalog
        ):
            raise self.unexpected(name_tok)
        if mode == "child":
            assert parent is not None
            rel = parent.child(name_tok.text)
            child = self.catalog.get(rel.child_sobject) if rel is not None else None
            if rel is None or child is None:
                raise SoqlError("INVALID_TYPE", _BAD_RELATIONSHIP.format(
                    name=name_tok.text, where="FROM part of query call"))
            return name_tok, child, (rel.name, rel.field)
        found = self.catalog.get(name_tok.text)
        if found is None or not found.queryable:
            raise SoqlError("INVALID_TYPE", _pointed(
                self.soql, name_tok.pos, _BAD_TYPE.format(name=name_tok.text)))
        return name_tok, found, None

    def _order_by_clause(self, sobj: SObject, items: tuple[SelectItem, ...],
                         mode: str) -> tuple[OrderItem, ...]:
        if not self.at("ORDER"):
            return ()
        order_tok = self.next()
        self.expect_keyword("BY")
        order_by = self._order_by(sobj)
        if mode == "semi":
            raise self.error(order_tok, "ORDER BY is not allowed in a semi-join sub-select")
        if any(isinstance(i, CountItem) and i.path is not None for i in items):
            raise self.error(order_tok, "ORDER BY is not supported by the emulator in an "
                             "aggregate query without GROUP BY")
        return order_by

    def _limit_offset(self, mode: str) -> tuple[int | None, int | None]:
        limit = offset = None
        if self.at("LIMIT"):
            limit_tok = self.next()
            limit = self._non_negative_int("LIMIT")
            if mode == "semi":
                raise self.error(limit_tok, "LIMIT is not allowed in a semi-join sub-select")
        if self.at("OFFSET"):
            offset_tok = self.next()
            offset = self._non_negative_int("OFFSET")
            if mode == "semi":
                raise self.error(offset_tok, "OFFSET is not allowed in a semi-join sub-select")
            if offset > MAX_OFFSET:
                raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE",
                                f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        return limit, offset

    def _find_from(self) -> int:
        depth = 0
        j = self.i
        while True:
            tok = self.tokens[j]
            if tok.kind == _EOF:
                raise self.error(tok, "missing FROM clause")
            if tok.kind == _LPAREN:
                depth += 1
            elif tok.kind == _RPAREN:
                depth -= 1
                if depth < 0:
                    raise self.error(tok, "missing FROM clause")
            elif depth == 0 and tok.kind == _NAME and tok.text.upper() == "FROM":
                return j
            j += 1

    def _non_negative_int(self, clause: str) -> int:
        tok = self.next()
        if tok.kind != _NUMBER or not isinstance(tok.value, int) or tok.value < 0:
            raise self.error(tok, f"{clause} must be a non-negative integer, not "
                             f"'{tok.text or 'end of query'}'")
        return tok.value

    # -- SELECT list ----------------------------------------------------------------

    def _select_list(self, sobj: SObject, mode: str) -> tuple[SelectItem, ...]:
        items: list[SelectItem] = []
        seen: set[str] = set()
        first_field: _Token | None = None
        while True:
            tok = self.peek()
            if tok.kind == _LPAREN:
                if mode != "top":
                    raise self.error(tok, "nested subqueries are not supported; a child "
                                     "subquery can only appear in the top-level SELECT list")
                self.next()
                if not self.at("SELECT"):
                    raise self.unexpected(self.peek())
                sub, rel = self.query("child", parent=sobj)
                self.expect(_RPAREN)
                assert rel is not None
                key = "(" + rel[0].lower()
                if key in seen:
                    raise self.error(tok, f"duplicate child relationship selected: {rel[0]}")
                seen.add(key)
                items.append(SubqueryItem(rel[0], rel[1], sub))
            elif tok.kind == _NAME and tok.text.upper() not in _RESERVED:
                self.next()
                if self.peek().kind == _LPAREN:
                    items.append(self._function(tok, sobj, mode, items))
                else:
                    path = self._path(tok, sobj)
                    if path.text.lower() in seen:
                        raise self.error(tok, f"duplicate field selected: {path.text}")
                    seen.add(path.text.lower())
                    first_field = first_field or tok
                    items.append(FieldItem(path))
            else:
                raise self.unexpected(tok)
            if self.peek().kind != _COMMA:
                break
            self.next()

        counts = [i for i in items if isinstance(i, CountItem)]
        if any(c.path is None for c in counts) and len(items) > 1:
            raise self.error(tok, "COUNT() must be the only item in the SELECT list")
        if counts and len(counts) != len(items):
            other = next(i for i in items if not isinstance(i, CountItem))
            name = other.path.text if isinstance(other, FieldItem) else other.relationship
            raise self.error(first_field or tok, f"Field must be grouped or aggregated: {name}")
        return tuple(items)

    def _function(
        self, name_tok: _Token, sobj: SObject, mode: str, items: list[SelectItem]
    ) -> CountItem:
        name = name_tok.text
        if name.upper() != "COUNT":
            raise self.error(name_tok, f"function '{name}()' is not supported by the emulator")
        if mode != "top":
            raise self.error(name_tok, "COUNT is only supported in the top-level query")
        self.expect(_LPAREN)
        if self.peek().kind == _RPAREN:
            self.next()
            return CountItem(None, "")
        arg = self.expect(_NAME)
        if self.peek().kind == _LPAREN:
            raise self.error(arg, f"function '{arg.text}()' is not supported by the emulator")
        path = self._path(arg, sobj)
        self.expect(_RPAREN)
        if self.peek().kind == _NAME and self.peek().text.upper() not in _RESERVED:
            alias_tok = self.next()
            if any(isinstance(i, CountItem) and i.alias.lower() == alias_tok.text.lower()
                   for i in items):
                raise self.error(alias_tok, f"duplicate alias: {alias_tok.text}")
            return CountItem(path, alias_tok.text)
        # Salesforce names unaliased aggregates expr0, expr1… in SELECT-list order.
        n = sum(1 for i in items if isinstance(i, CountItem) and i.path is not None
                and re.fullmatch(r"expr\d+", i.alias))
        return CountItem(path, f"expr{n}")

    # -- field paths ------------------------------------------------------------

    def _path(self, tok: _Token, sobj: SObject) -> FieldPath:
        """Resolve ``A.B.Field`` from ``sobj`` through parent relationships."""
        parts = tok.text.split(".")
        # "SELECT User.Username FROM User" is legal: the object name may prefix a path.
        if len(parts) > 1 and parts[0].lower() == sobj.name.lower() and sobj.relationship(
            parts[0]
        ) is None:
            parts = parts[1:]
        hops: list[Hop] = []
        current: SObject | None = sobj
        poly_rel = ""
        for part in parts[:-1]:
            if current is None:
                raise SoqlError("INVALID_FIELD", _NO_SUCH_COLUMN.format(
                    field=part, entity="Name") + f" '{poly_rel}' is a polymorphic relationship:"
                    " without TYPEOF only Id, Name and Type can be selected through it.")
            ref = current.relationship(part)
            if ref is None or ref.relationship_name is None:
                raise SoqlError("INVALID_FIELD", _BAD_RELATIONSHIP.format(
                    name=part, where="field path"))
            if ref.polymorphic:
                hops.append(Hop(ref.name, ref.relationship_name, None))
                poly_rel = ref.relationship_name
                current = None
                continue
            target = self.catalog.get(ref.reference_to[0]) if ref.reference_to else None
            if target is None:
                raise SoqlError("INVALID_FIELD", _BAD_RELATIONSHIP.format(
                    name=part, where="field path"))
            hops.append(Hop(ref.name, ref.relationship_name, target.name))
            current = target
        if len(hops) > MAX_RELATIONSHIP_HOPS:
            raise self.error(tok, f"a field path can traverse at most {MAX_RELATIONSHIP_HOPS} "
                             f"relationships: {tok.text}")
        leaf = parts[-1]
        prefix = "".join(h.relationship + "." for h in hops)
        if current is None:
            poly = {"id": ("Id", ID), "name": ("Name", "string"), "type": ("Type", "string")}
            if leaf.lower() not in poly:
                raise SoqlError("INVALID_FIELD", _NO_SUCH_COLUMN.format(
                    field=leaf, entity="Name") + f" '{poly_rel}' is a polymorphic relationship:"
                    " without TYPEOF only Id, Name and Type can be selected through it.")
            name, type_ = poly[leaf.lower()]
            return FieldPath(prefix + name, tuple(hops), name, type_, polymorphic_leaf=True)
        f = current.field(leaf)
        if f is None:
            raise SoqlError("INVALID_FIELD", _NO_SUCH_COLUMN.format(
                field=leaf, entity=current.name))
        return FieldPath(prefix + f.name, tuple(hops), f.name, f.type)

    # -- WHERE ------------------------------------------------------------------

    def _expr(self, sobj: SObject) -> Expr:
        """A condition group. SOQL has no AND/OR precedence: mixing them needs parentheses,
        and NOT may only open a group, so neither is ever guessed."""
        if self.at("NOT"):
            self.next()
            operand = self._term(sobj)
            if self.at("AND", "OR"):
                raise self.error(self.peek(), f"unexpected token: '{self.peek().text}' (NOT "
                                 "followed by AND/OR is ambiguous: write (NOT a) AND b)")
            return Not(operand)
        first = self._term(sobj)
        if not self.at("AND", "OR"):
            return first
        op = self.peek().text.upper()
        operands = [first]
        while self.at("AND", "OR"):
            tok = self.next()
            if tok.text.upper() != op:
                raise self.error(tok, f"unexpected token: '{tok.text}' (mixing AND and OR "
                                 "needs parentheses)")
            if self.at("NOT"):
                raise self.error(self.peek(), f"unexpected token: 'NOT' (write {op} (NOT …))")
            operands.append(self._term(sobj))
        return And(tuple(operands)) if op == "AND" else Or(tuple(operands))

    def _term(self, sobj: SObject) -> Expr:
        if self.peek().kind == _LPAREN:
            tok = self.next()
            if self.depth >= MAX_NESTING:
                raise self.error(tok, f"conditions nest more than {MAX_NESTING} levels deep")
            self.depth += 1
            inner = self._expr(sobj)
            self.depth -= 1
            self.expect(_RPAREN)
            return inner
        return self._condition(sobj)

    def _condition(self, sobj: SObject) -> Expr:
        tok = self.next()
        if tok.kind != _NAME or tok.text.upper() in _RESERVED:
            raise self.unexpected(tok)
        if self.peek().kind == _LPAREN:
            raise self.error(tok, f"function '{tok.text}()' is not supported by the emulator")
        path = self._path(tok, sobj)
        if path.type == ADDRESS:
            raise self.error(tok, f"compound field '{path.text}' can't be filtered; filter on "
                             "its component fields")
        op_tok = self.next()
        if op_tok.kind == _OP:
            return Comparison(path, op_tok.value, self._value(path, op_tok.value))
        if op_tok.kind == _NAME:
            word = op_tok.text.upper()
            if word == "IN":
                return self._in(path, sobj, negated=False, pos=op_tok.pos)
            if word == "NOT" and self.at("IN"):
                self.next()
                return self._in(path, sobj, negated=True, pos=op_tok.pos)
            if word == "NOT":
                raise self.error(op_tok, "unexpected token: 'NOT' (only NOT IN is infix; "
                                 "write NOT field LIKE …)")
            if word == "LIKE":
                return self._like(path)
        raise self.unexpected(op_tok)

    def _like(self, path: FieldPath) -> Like:
        tok = self.next()
        if tok.kind != _STRING:
            raise self.error(tok, "LIKE needs a quoted string pattern")
        if _key_for(path.type) is not _text_key:
            raise self.error(tok, f"LIKE is only valid on text fields; '{path.text}' is of "
                             f"type {path.type}")
        return Like(path, tok.like)

    def _in(self, path: FieldPath, sobj: SObject, *, negated: bool, pos: int) -> Expr:
        self.expect(_LPAREN)
        if self.at("SELECT"):
            if path.type not in (ID, REFERENCE):
                raise self.error(self.peek(), f"semi-join sub-selects need an Id or reference "
                                 f"field on the left; '{path.text}' is of type {path.type}")
            inner, _ = self.query("semi")
            self.expect(_RPAREN)
            return SemiJoin(path, inner, negated, pos)
        values = []
        while True:
            values.append(self._value(path, "=", in_list=True))
            if self.peek().kind != _COMMA:
                break
            self.next()
        self.expect(_RPAREN)
        return InList(path, tuple(values), negated)

    def _value(self, path: FieldPath, op: str, in_list: bool = False) -> Any:
        """The literal after an operator, type-checked against ``path`` and normalised to
        the comparison key execute() uses for that field type."""
        tok = self.next()
        raw = self._literal(tok)
        if raw is None:
            if op not in ("=", "!="):
                raise self.error(tok, f"null can only be compared with = or !=, not {op}")
            return None
        if isinstance(raw, DateFunction):
            if in_list:
                raise self.error(tok, "date functions can't be used in an IN list")
            if path.type == DATE and raw.name in _N_HOUR_FUNCTIONS:
                raise self.error(tok, f"{raw.name} is only valid on dateTime fields; "
                                 f"'{path.text}' is a date")
            if path.type not in (DATE, DATETIME):
                raise self._wrong_type(path, tok)
            return raw
        if path.type == BOOLEAN:
            if not isinstance(raw, bool):
                raise self._wrong_type(path, tok)
            if op not in ("=", "!="):
                raise self.error(tok, f"operator {op} is not valid on boolean field "
                                 f"'{path.text}'")
            return raw
        if path.type in NUMBER_TYPES:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise self._wrong_type(path, tok)
            return raw
        if path.type == DATETIME:
            if not isinstance(raw, datetime):
                raise self._wrong_type(path, tok)
            return _datetime_key(raw)
        if path.type == DATE:
            if isinstance(raw, datetime) or not isinstance(raw, date):
                raise self._wrong_type(path, tok)
            return raw
        if not isinstance(raw, str):
            raise self._wrong_type(path, tok)
        if path.type in (ID, REFERENCE):
            return self._id_literal(tok, raw)
        return _text_key(raw)

    def _literal(self, tok: _Token) -> Any:
        """What a value token says: None, a bool, a date function, a string, number,
        date or datetime; or the error for what can't be a value."""
        if tok.kind == _NAME:
            word = tok.text.upper()
            if word == "NULL":
                return None
            if word in ("TRUE", "FALSE"):
                return word == "TRUE"
            if word in _DAY_FUNCTIONS | _N_DAY_FUNCTIONS | _N_HOUR_FUNCTIONS:
                return self._date_function(tok, word)
            if word in _OTHER_DATE_FUNCTIONS:
                raise self.error(tok, f"date literal {word} is not supported by the emulator")
            raise self.error(tok, f"unexpected token: '{tok.text}' (a value must be a "
                             "literal; SOQL can't compare two fields)")
        if tok.kind in (_STRING, _NUMBER, _DATE, _DATETIME):
            return tok.value
        if tok.kind == _COLON:
            raise self.error(tok, "bind variables (:name) are only available in Apex")
        raise self.unexpected(tok)

    def _id_literal(self, tok: _Token, raw: str) -> str | None:
        if raw == "":
            return None
        # Ids are case-sensitive in their first 15 characters only; normalise both 15-
        # and 18-character forms (checksum in any case) to the canonical 18.
        candidate = raw[:15] + raw[15:].upper() if len(raw) == 18 else raw
        if not is_id(candidate):
            raise self.error(tok, f"invalid ID field: {raw}")
        return to18(candidate)

    def _date_function(self, tok: _Token, word: str) -> DateFunction:
        if word in _DAY_FUNCTIONS:
            return DateFunction(word)
        if self.peek().kind != _COLON:
            raise self.error(tok, f"{word} needs a number: {word}:n")
        self.next()
        n_tok = self.next()
        if n_tok.kind != _NUMBER or not isinstance(n_tok.value, int) or n_tok.value < 0:
            raise self.error(n_tok, f"{word}:n needs a non-negative integer n")
        return DateFunction(word, n_tok.value)

    def _wrong_type(self, path: FieldPath, tok: _Token) -> SoqlError:
        sf_type = "string" if path.polymorphic_leaf and path.name != "Id" else _sf_type(
            path.type)
        quoted = sf_type in ("string", "id", "reference")
        return SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{path.text}' must be of type {sf_type} and "
            f"should {'' if quoted else 'not '}be enclosed in quotes (got {tok.text})",
        )

    def _check_semijoins(self, where: Expr) -> None:
        """Salesforce allows semi-/anti-joins only as top-level AND-ed conditions."""
        top = where.operands if isinstance(where, And) else (where,)
        for expr in top:
            if not isinstance(expr, SemiJoin):
                self._no_semijoin_inside(expr)

    def _no_semijoin_inside(self, expr: Expr) -> None:
        if isinstance(expr, SemiJoin):
            raise _malformed(self.soql, expr.pos, "Semi join sub-selects are only allowed at "
                             "the top level WHERE expressions and not in nested WHERE "
                             "expressions.")
        if isinstance(expr, And | Or):
            for o in expr.operands:
                self._no_semijoin_inside(o)
        elif isinstance(expr, Not):
            self._no_semijoin_inside(expr.operand)

    def _check_semi_select(self, q: Query, from_tok: _Token) -> None:
        items = q.items
        ok = (
            len(items) == 1
            and isinstance(items[0], FieldItem)
            and not items[0].path.hops
            and items[0].path.type in (ID, REFERENCE)
        )
        if not ok:
            raise self.error(from_tok, "a semi-join sub-select must select exactly one Id or "
                             "reference field, without relationship paths")

    # -- ORDER BY -------------------------------------------------------------------

    def _order_by(self, sobj: SObject) -> tuple[OrderItem, ...]:
        out: list[OrderItem] = []
        while True:
            tok = self.next()
            if tok.kind != _NAME or tok.text.upper() in _RESERVED:
                raise self.unexpected(tok)
            if self.peek().kind == _LPAREN:
                raise self.error(tok, f"function '{tok.text}()' is not supported by the "
                                 "emulator")
            path = self._path(tok, sobj)
            if path.type == ADDRESS:
                raise self.error(tok, f"compound field '{path.text}' can't be sorted")
            descending = False
            if self.at("ASC", "DESC"):
                descending = self.next().text.upper() == "DESC"
            # Salesforce's default: nulls first ascending, last descending.
            nulls_first = not descending
            if self.at("NULLS"):
                self.next()
                which = self.next()
                if which.kind != _NAME or which.text.upper() not in ("FIRST", "LAST"):
                    raise self.unexpected(which)
                nulls_first = which.text.upper() == "FIRST"
            out.append(OrderItem(path, descending, nulls_first))
            if self.peek().kind != _COMMA:
                return tuple(out)
            self.next()


def parse(soql: str, catalog: Catalog) -> Query:
    """Parse and validate a SOQL query against ``catalog``; raises SoqlError."""
    if len(soql) > MAX_QUERY_LENGTH:
        raise SoqlError("MALFORMED_QUERY", "SOQL statements can not be longer than "
                        f"{MAX_QUERY_LENGTH} characters")
    parser = _Parser(soql, catalog)
    query, _ = parser.query("top")
    if parser.peek().kind != _EOF:
        raise parser.unexpected(parser.peek())
    return query


# ---------------------------------------------------------------------------
# Executor

_MISSING: Any = object()
_VALUE, _POLY, _REL, _SUB = 0, 1, 2, 3


@dataclass
class _Entry:
    """One key of an output record, in SELECT-list order."""

    kind: int
    key: str
    field: str = ""
    node: _Node | None = None
    sub: int = 0
    target: str | None = None  # a relationship's parent sObject (None: polymorphic)


@dataclass
class _Node:
    """How to shape a record (the top one or a parent reached through a relationship)."""

    entries: list[_Entry] = dataclasses.field(default_factory=list)
    rels: dict[str, _Node] = dataclasses.field(default_factory=dict)

    def add_path(self, path: FieldPath) -> None:
        node = self
        for hop in path.hops:
            sub = node.rels.get(hop.relationship)
            if sub is None:
                sub = node.rels[hop.relationship] = _Node()
                node.entries.append(_Entry(_REL, hop.relationship, hop.field, sub,
                                           target=hop.target))
            node = sub
        kind = _POLY if path.polymorphic_leaf else _VALUE
        if not any(e.key == path.name and e.kind in (_VALUE, _POLY) for e in node.entries):
            node.entries.append(_Entry(kind, path.name, path.name))


def _all(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda r: a(r) and b(r)
    return lambda r: all(p(r) for p in preds)


def _any(preds: list[Predicate]) -> Predicate:
    if len(preds) == 2:
        a, b = preds
        return lambda r: a(r) or b(r)
    return lambda r: any(p(r) for p in preds)


def _slice(rows: list[Any], query: Query) -> list[Any]:
    start = query.offset or 0
    if query.limit is None:
        return rows[start:] if start else rows
    return rows[start : start + query.limit]


class _Run:
    """One execute() call: its clock, its parent-lookup cache and its compiled closures."""

    def __init__(
        self, catalog: Catalog, source: RecordSource, api_version: str, include_deleted: bool,
        deadline: float | None = None,
    ) -> None:
        self.deadline = deadline
        self.catalog = catalog
        self.source = source
        self.include_deleted = include_deleted
        self.url_prefix = f"/services/data/v{api_version.lstrip('vV')}/sobjects/"
        self.now = datetime.now(UTC)
        self._parents: dict[str, tuple[str, Record] | None] = {}
        self._semi: dict[int, frozenset[str]] = {}
        self._name_fields: dict[str, str] = {}

    def paced(self, rows: Iterable[Record]) -> Iterator[Record]:
        """``rows``, refused with QUERY_TIMEOUT once the query has run past its deadline."""
        deadline = self.deadline
        if deadline is None:
            yield from rows
            return
        for n, r in enumerate(rows):
            if not n % _CLOCK_EVERY and clock.monotonic() > deadline:
                raise SoqlError("QUERY_TIMEOUT", _TIMEOUT_MESSAGE)
            yield r

    # -- values -------------------------------------------------------------

    def resolve(self, ref: str) -> tuple[str, Record] | None:
        """The record an Id points at, looked up once per execute()."""
        got = self._parents.get(ref, _MISSING)
        if got is _MISSING:
            got = self._parents[ref] = self.source.get(ref)
        return got  # type: ignore[no-any-return]

    def parent(self, ref: str | None, target: str | None) -> tuple[str, Record] | None:
        """The parent a relationship reaches: none when the Id names a record of another
        sObject than the lookup's (a permission row or group component whose parent is
        a MutingPermissionSet reads ``PermissionSet``/``Parent`` as null)."""
        got = self.resolve(ref) if ref else None
        if got is None or (target is not None and got[0] != target):
            return None
        return got

    def _name_field(self, sobject: str) -> str:
        name = self._name_fields.get(sobject)
        if name is None:
            s = self.catalog.get(sobject)
            name = self._name_fields[sobject] = s.name_field if s is not None else "Name"
        return name

    def _leaf(self, path: FieldPath) -> Callable[[str, Record], Any]:
        name = path.name
        if path.polymorphic_leaf:
            if name == "Type":
                return lambda typ, rec: typ
            if name == "Name":
                return lambda typ, rec: rec.get(self._name_field(typ))
            return lambda typ, rec: rec.get("Id")
        if path.type == BOOLEAN:
            # A checkbox is never null in Salesforce: a missing one is false.
            return lambda typ, rec: bool(rec.get(name))
        return lambda typ, rec: rec.get(name)

    def getter(self, path: FieldPath) -> Getter:
        """A function record → the raw value at ``path`` (None through a null parent)."""
        name = path.name
        if not path.hops:
            if path.type == BOOLEAN:
                return lambda r: bool(r.get(name))
            return lambda r: r.get(name)
        leaf = self._leaf(path)
        parent = self.parent
        if len(path.hops) == 1:
            ref_field, target = path.hops[0].field, path.hops[0].target

            def one_hop(r: Record) -> Any:
                got = parent(r.get(ref_field), target)
                return None if got is None else leaf(got[0], got[1])

            return one_hop
        ref_fields = [(h.field, h.target) for h in path.hops]

        def many_hops(r: Record) -> Any:
            typ, cur = "", r
            for f, target in ref_fields:
                got = parent(cur.get(f), target)
                if got is None:
                    return None
                typ, cur = got
            return leaf(typ, cur)

        return many_hops

    def valuer(self, path: FieldPath) -> Getter:
        """A function record → the comparison key of the value at ``path``."""
        get = self.getter(path)
        key = _key_for(path.type)
        if key is _plain_key:
            return get
        return lambda r: key(get(r))

    # -- WHERE --------------------------------------------------------------

    def predicate(self, expr: Expr) -> Predicate:
        """Compile a condition into a closure over records."""
        if isinstance(expr, Comparison):
            return self._comparison(expr)
        if isinstance(expr, InList):
            get = self.valuer(expr.path)
            values = frozenset(expr.values)
            if expr.negated:
                return lambda r: get(r) not in values
            return lambda r: get(r) in values
        if isinstance(expr, Like):
            raw = self.getter(expr.path)
            match = like_matcher(expr.pattern)
            return lambda r: (v := raw(r)) is not None and match(str(v))
        if isinstance(expr, SemiJoin):
            raw = self.getter(expr.path)
            ids = self.semi_ids(expr)
            if expr.negated:
                return lambda r: raw(r) not in ids
            return lambda r: raw(r) in ids
        if isinstance(expr, And):
            return _all([self.predicate(o) for o in expr.operands])
        if isinstance(expr, Or):
            return _any([self.predicate(o) for o in expr.operands])
        inner = self.predicate(expr.operand)
        return lambda r: not inner(r)

    def _comparison(self, c: Comparison) -> Predicate:
        get = self.valuer(c.path)
        op, lit = c.op, c.value
        if isinstance(lit, DateFunction):
            lo, hi = self._date_range(lit, c.path.type)
            ranged: dict[str, Predicate] = {
                "=": lambda r: (v := get(r)) is not None and lo <= v < hi,
                "!=": lambda r: (v := get(r)) is None or not lo <= v < hi,
                "<": lambda r: (v := get(r)) is not None and v < lo,
                "<=": lambda r: (v := get(r)) is not None and v < hi,
                ">": lambda r: (v := get(r)) is not None and v >= hi,
                ">=": lambda r: (v := get(r)) is not None and v >= lo,
            }
            return ranged[op]
        if op == "=":
            return lambda r: get(r) == lit
        if op == "!=":
            # Unlike SQL, SOQL's != matches records whose value is null.
            return lambda r: get(r) != lit
        if lit is None:
            # Only '' gets here (the null keyword is refused with < and >): it is null, as
            # Salesforce stores no empty strings, and nothing orders against null.
            return lambda r: False
        ordered: dict[str, Predicate] = {
            "<": lambda r: (v := get(r)) is not None and v < lit,
            "<=": lambda r: (v := get(r)) is not None and v <= lit,
            ">": lambda r: (v := get(r)) is not None and v > lit,
            ">=": lambda r: (v := get(r)) is not None and v >= lit,
        }
        return ordered[op]

    def _date_range(self, fn: DateFunction, type_: str) -> tuple[Any, Any]:
        """[lo, hi) for a date function, in the field's domain (dates or UTC datetimes).

        Salesforce evaluates these in the running user's time zone; the emulator uses UTC.
        """
        now = self.now
        if fn.name == "LAST_N_HOURS":
            return now - timedelta(hours=fn.n), now + timedelta(microseconds=1)
        if fn.name == "NEXT_N_HOURS":
            return now, now + timedelta(hours=fn.n)
        today = now.date()
        day = timedelta(days=1)
        first, last = {
            "TODAY": (today, today),
            "YESTERDAY": (today - day, today - day),
            "TOMORROW": (today + day, today + day),
            # LAST_N_DAYS:n includes today, so it spans n + 1 days.
            "LAST_N_DAYS": (today - fn.n * day, today),
            "NEXT_N_DAYS": (today + day, today + fn.n * day),
        }[fn.name]
        if type_ == DATE:
            return first, last + day
        return (datetime.combine(first, time(), UTC), datetime.combine(last + day, time(), UTC))

    def semi_ids(self, node: SemiJoin) -> frozenset[str]:
        """The Ids a semi-join's sub-select yields, computed once per execute()."""
        got = self._semi.get(id(node))
        if got is None:
            item = node.query.items[0]
            assert isinstance(item, FieldItem)
            get = self.getter(item.path)
            got = frozenset(v for r in self.matching(node.query) if (v := get(r)))
            self._semi[id(node)] = got
        return got

    # -- rows ---------------------------------------------------------------

    def _index_hint(self, expr: Expr) -> tuple[str, list[str]] | None:
        """(field, Ids) when a top-level conjunct pins an Id/reference field to Ids."""
        path: FieldPath
        if isinstance(expr, Comparison) and expr.op == "=" and isinstance(expr.value, str):
            path, values = expr.path, [expr.value]
        elif isinstance(expr, InList) and not expr.negated and None not in expr.values:
            path, values = expr.path, list(dict.fromkeys(expr.values))
        elif isinstance(expr, SemiJoin) and not expr.negated:
            path, values = expr.path, sorted(self.semi_ids(expr))
        else:
            return None
        if path.hops or path.type not in (ID, REFERENCE):
            return None
        return path.name, values

    def _candidates(self, query: Query) -> list[Record]:
        # The source's index only knows live records, so queryAll always scans.
        if query.where is not None and not self.include_deleted:
            conjuncts = query.where.operands if isinstance(query.where, And) else (query.where,)
            best: tuple[str, list[str]] | None = None
            for c in conjuncts:
                hint = self._index_hint(c)
                if hint is not None and (best is None or len(hint[1]) < len(best[1])):
                    best = hint
            if best is not None:
                if not best[1]:
                    return []
                found = self.source.find(query.sobject, best[0], best[1])
                if found is not None:
                    rows = list(found)
                    if best[0] == "Id":
                        # An Id lookup comes back in request order; Id order is creation
                        # order for emulator Ids, the nearest thing to source order.
                        rows.sort(key=lambda r: str(r.get("Id")))
                    return rows
        return list(self.source.records(query.sobject, self.include_deleted))

    def matching(self, query: Query) -> list[Record]:
        """Rows of ``query`` that pass its WHERE, in ORDER BY order (no LIMIT/OFFSET)."""
        rows = self._candidates(query)
        if query.where is not None:
            pred = self.predicate(query.where)
            rows = [r for r in self.paced(rows) if pred(r)]
        self.sort(rows, query.order_by)
        return rows

    def sort(self, rows: list[Record], order_by: tuple[OrderItem, ...]) -> None:
        """Sort in place; stable, so earlier keys win when applied last-to-first."""
        for item in reversed(order_by):
            get = self.valuer(item.path)
            # With reverse=True the rank order flips, so nulls-first needs rank 2 there.
            null_rank = 0 if item.nulls_first != item.descending else 2

            def key(r: Record, get: Getter = get, null_rank: int = null_rank) -> tuple[Any, ...]:
                v = get(r)
                return (null_rank,) if v is None else (1, v)

            rows.sort(key=key, reverse=item.descending)

    # -- shaping ------------------------------------------------------------

    def shaper(self, node: _Node, subs: list[dict[str, Any]]) -> Shaper:
        """Compile ``node`` into a function (record, sObject type) → JSON record with
        attributes, then the selected keys in SELECT-list order.

        Compiled once per query because shaping, not filtering, dominates a 100,000-row
        result: a node of plain fields becomes a tight loop over (key, field) pairs.
        """
        prefix = self.url_prefix
        parent = self.parent
        name_field = self._name_field
        plan: list[tuple[int, str, str, Any]] = []
        for e in node.entries:
            if e.kind == _REL:
                assert e.node is not None
                plan.append((_REL, e.key, e.field, (self.shaper(e.node, []), e.target)))
            elif e.kind == _SUB:
                plan.append((_SUB, e.key, "", subs[e.sub]))
            else:
                plan.append((e.kind, e.key, e.field, None))

        if all(kind == _VALUE for kind, _, _, _ in plan):
            pairs = tuple((key, f) for _, key, f, _ in plan)

            def shape_values(rec: Record, typ: str) -> dict[str, Any]:
                rid = rec.get("Id", "")
                out: dict[str, Any] = {"attributes": {"type": typ, "url": f"{prefix}{typ}/{rid}"}}
                get = rec.get
                for key, f in pairs:
                    out[key] = get(f)
                return out

            return shape_values

        def shape(rec: Record, typ: str) -> dict[str, Any]:
            rid = rec.get("Id", "")
            out: dict[str, Any] = {"attributes": {"type": typ, "url": f"{prefix}{typ}/{rid}"}}
            for kind, key, f, extra in plan:
                if kind == _VALUE:
                    out[key] = rec.get(f)
                elif kind == _REL:
                    shape_parent, target = extra
                    got = parent(rec.get(f), target)
                    out[key] = None if got is None else shape_parent(got[1], got[0])
                elif kind == _SUB:
                    out[key] = extra.get(rid)
                elif key == "Type":
                    out[key] = typ
                elif key == "Name":
                    out[key] = rec.get(name_field(typ))
                else:
                    out[key] = rid
            return out

        return shape

    def children(self, item: SubqueryItem, parent_ids: list[str]) -> dict[str, Any]:
        """Parent Id → the nested query result of a child subquery (absent when empty)."""
        q = item.query
        found = None if self.include_deleted else self.source.find(
            q.sobject, item.field, parent_ids)
        if found is None:
            wanted = set(parent_ids)
            found = (r for r in self.source.records(q.sobject, self.include_deleted)
                     if r.get(item.field) in wanted)
        pred = self.predicate(q.where) if q.where is not None else None
        groups: dict[str, list[Record]] = {}
        for r in self.paced(found):
            if pred is None or pred(r):
                groups.setdefault(r[item.field], []).append(r)
        node = _Node()
        for i in q.items:
            if isinstance(i, FieldItem):
                node.add_path(i.path)
        shape = self.shaper(node, [])
        out: dict[str, Any] = {}
        for parent_id, rows in groups.items():
            self.sort(rows, q.order_by)
            page = _slice(rows, q)
            if page:
                out[parent_id] = {
                    "totalSize": len(page),
                    "done": True,
                    "records": [shape(r, q.sobject) for r in page],
                }
        return out


def execute(
    query: Query, source: RecordSource, *, api_version: str, include_deleted: bool = False,
    timeout: float | None = None,
) -> Result:
    """Run a parsed query against ``source``; ``api_version`` ("62.0") goes into the
    records' attribute URLs, ``include_deleted`` is queryAll. Past ``timeout`` seconds
    the query is refused with ``QUERY_TIMEOUT``, as Salesforce refuses a long query."""
    deadline = None if timeout is None else clock.monotonic() + timeout
    run = _Run(query.catalog, source, api_version, include_deleted, deadline)
    rows = run.matching(query)
    if query.count_only:
        return Result(len(_slice(rows, query)), [])
    if query.aggregate:
        agg: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for item in query.items:
            assert isinstance(item, CountItem) and item.path is not None
            get = run.getter(item.path)
            agg[item.alias] = sum(1 for r in rows if get(r) is not None)
        records = _slice([agg], query)
        return Result(len(records), records)

    page = _slice(rows, query)
    node = _Node()
    subs: list[dict[str, Any]] = []
    parent_ids = [str(r.get("Id")) for r in page]
    for item in query.items:
        if isinstance(item, FieldItem):
            node.add_path(item.path)
        elif isinstance(item, SubqueryItem):
            node.entries.append(_Entry(_SUB, item.relationship, sub=len(subs)))
            subs.append(run.children(item, parent_ids) if parent_ids else {})
    typ = query.sobject
    shape = run.shaper(node, subs)
    return Result(len(page), [shape(r, typ) for r in run.paced(page)])


# ---------------------------------------------------------------------------
# Column metadata (the query resource's ``columns=true``)

# The Apex type a column's values have; text-like types not listed are String.
_APEX_TYPES = {ID: "Id", REFERENCE: "Id", BOOLEAN: "Boolean", INT: "Integer",
               DOUBLE: "Double", PERCENT: "Double", CURRENCY: "Decimal", DATE: "Date",
               DATETIME: "Datetime", ADDRESS: "Address"}


def columns(query: Query) -> dict[str, Any]:
    """What ``GET query?q=…&columns=true`` answers: the SELECT list's columns, not its
    rows. A parent path is one column per relationship whose ``joinColumns`` hold the
    fields read through it; a child subquery is an ``aggregate`` column whose
    ``joinColumns`` are the subquery's own columns; ``COUNT(field)`` is an aggregate
    column named by its alias. ``COUNT()`` alone has no column."""
    sobj = query.catalog.get(query.sobject)
    assert sobj is not None  # parse() resolved it
    return {
        "columnMetadata": _columns(query),
        "entityName": sobj.name,
        "groupBy": False,
        "idSelected": any(isinstance(i, FieldItem) and not i.path.hops and i.path.name == "Id"
                          for i in query.items),
        "keyPrefix": sobj.key_prefix,
    }


def _columns(query: Query) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in query.items:
        if isinstance(item, CountItem):
            if item.path is not None:
                out.append(_column(item.alias, aggregate=True, number=True,
                                   display=f"count({item.path.text})"))
        elif isinstance(item, SubqueryItem):
            out.append(_column(item.relationship, aggregate=True, joins=_columns(item.query)))
        else:
            out_level = out
            owner = query.catalog.get(query.sobject)
            for hop in item.path.hops:
                rel = next((c for c in out_level if c["foreignKeyName"] == hop.field), None)
                if rel is None:
                    ref = owner.field(hop.field) if owner is not None else None
                    rel = _column(hop.relationship, joins=[], foreign_key=hop.field,
                                  custom=ref is not None and ref.custom)
                    out_level.append(rel)
                out_level = rel["joinColumns"]
                owner = query.catalog.get(hop.target) if hop.target else None
            leaf = owner.field(item.path.name) if owner is not None else None
            out_level.append(_field_column(item.path, leaf))
    return out


def _field_column(path: FieldPath, leaf: Field | None) -> dict[str, Any]:
    """A plain field's column; ``leaf`` is None past a polymorphic hop (Id, Name, Type)."""
    type_ = leaf.type if leaf is not None else path.type
    return _column(
        path.name, apex_type=_APEX_TYPES.get(type_, "String"),
        text=type_ in TEXT_TYPES and type_ not in (ID, REFERENCE),
        number=type_ in NUMBER_TYPES, boolean=type_ == BOOLEAN,
        custom=leaf is not None and leaf.custom,
        insertable=leaf is not None and leaf.createable and type_ != ID,
        updatable=leaf is not None and leaf.updateable and type_ != ID)


def _column(name: str, *, aggregate: bool = False, apex_type: str | None = None,
            text: bool = False, number: bool = False, boolean: bool = False,
            custom: bool = False, insertable: bool = False, updatable: bool = False,
            display: str | None = None, foreign_key: str | None = None,
            joins: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"aggregate": aggregate, "apexType": apex_type, "booleanType": boolean,
            "columnName": name, "custom": custom, "displayName": display or name,
            "foreignKeyName": foreign_key, "insertable": insertable,
            "joinColumns": joins or [], "numberType": number, "textType": text,
            "updatable": updatable}
