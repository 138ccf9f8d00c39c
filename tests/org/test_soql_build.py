"""SOQL building: quoting survives the emulator's SOQL parser, queries split to fit."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.emulator.sobjects import SYSTEM_PERMISSIONS, standard_catalog
from reconciler.emulator.soql import Comparison, InList, Like, parse
from reconciler.org.soql import (
    MAX_QUERY_URI,
    chunked_in,
    in_list,
    query_uri_length,
    quote,
    split_select,
)

CATALOG = standard_catalog()
TEMPLATE = "SELECT Id FROM User WHERE Username IN {in} ORDER BY Username"


def _text_key(value: str) -> str | None:
    """How the emulator normalises a text literal: case-folded, '' as null."""
    return value.lower() if value else None


def _like_pattern(value: str) -> tuple[tuple[str | None, ...], ...]:
    """The segments the emulator makes of an unescaped LIKE pattern: split at ``%``,
    ``_`` standing for any one character."""
    return tuple(tuple(None if c == "_" else c for c in seg) for seg in value.split("%"))


def test_quote_escapes_exactly_the_soql_escapes() -> None:
    assert quote("plain") == "'plain'"
    assert quote("o'brien") == r"'o\'brien'"
    assert quote('say "hi"') == r"""'say \"hi\"'"""
    assert quote("back\\slash") == r"'back\\slash'"
    assert quote("a\nb\rc\td\be\ff") == r"'a\nb\rc\td\be\ff'"
    assert quote("100% _sure_ ünïcode") == "'100% _sure_ ünïcode'"
    assert quote("") == "''"


def test_in_list_keeps_order_and_refuses_empty() -> None:
    assert in_list(["b", "a'"]) == r"('b', 'a\'')"
    with pytest.raises(ValueError, match="at least one value"):
        in_list([])


@given(st.text())
def test_quote_round_trips_through_the_emulator_parser(value: str) -> None:
    query = parse(f"SELECT Id FROM User WHERE Username = {quote(value)}", CATALOG)
    assert isinstance(query.where, Comparison)
    assert query.where.value == _text_key(value)
    # LIKE keeps the literal's case, so it shows the exact text the parser read.
    like = parse(f"SELECT Id FROM User WHERE Username LIKE {quote(value)}", CATALOG)
    assert isinstance(like.where, Like)
    assert like.where.pattern == _like_pattern(value)


@given(st.lists(st.text(max_size=40), max_size=60), st.integers(min_value=1100, max_value=3000))
def test_chunked_in_fits_and_covers_every_value_once(values: list[str], max_uri: int) -> None:
    queries = chunked_in(TEMPLATE, values, max_uri=max_uri)
    assert all(query_uri_length(q) <= max_uri for q in queries)
    seen: Counter[str | None] = Counter()
    for soql in queries:
        where = parse(soql, CATALOG).where
        assert isinstance(where, InList)
        seen.update(where.values)
    assert seen == Counter(_text_key(v) for v in dict.fromkeys(values))


def test_chunked_in_edge_cases() -> None:
    assert chunked_in(TEMPLATE, []) == []
    assert chunked_in(TEMPLATE, ["a", "b", "a"]) == [
        "SELECT Id FROM User WHERE Username IN ('a', 'b') ORDER BY Username"]
    exact = "SELECT Id FROM User WHERE Username IN ('a') ORDER BY Username"
    assert chunked_in(TEMPLATE, ["a"], max_uri=query_uri_length(exact)) == [exact]
    with pytest.raises(ValueError, match="can't fit"):
        chunked_in(TEMPLATE, ["a"], max_uri=query_uri_length(exact) - 1)
    with pytest.raises(ValueError, match="exactly once"):
        chunked_in("SELECT Id FROM User", ["a"])


def test_chunked_in_counts_encoded_bytes_not_characters() -> None:
    # 5,000 usernames are ~140,000 characters, and more once encoded: "@" and the
    # separators take three bytes each on the wire.
    many = [f"user{i:04d}@acme.example" for i in range(5000)]
    queries = chunked_in(TEMPLATE, many)
    assert all(query_uri_length(q) <= MAX_QUERY_URI for q in queries)
    assert sum(len(q) for q in queries) < len(queries) * MAX_QUERY_URI * 0.8
    accented = ["é" * 30] * 1 + [f"{i}" + "é" * 30 for i in range(400)]
    fits = chunked_in(TEMPLATE, accented)
    # Each "é" is six bytes on the wire: counting characters would pack five times more.
    assert all(query_uri_length(q) <= MAX_QUERY_URI for q in fits)
    assert max(len(q) for q in fits) < MAX_QUERY_URI / 4


WIDE = "SELECT Id, {columns} FROM PermissionSet WHERE Name IN {in} ORDER BY Name"
PERMISSIONS = [f"Permissions{p}" for p in SYSTEM_PERMISSIONS]


@given(st.lists(st.sampled_from(PERMISSIONS), min_size=1, max_size=120),
       st.lists(st.text(max_size=30), max_size=40),
       st.integers(min_value=1500, max_value=6000))
def test_split_select_fits_and_covers_every_column_and_value_once(
        columns: list[str], values: list[str], max_uri: int) -> None:
    queries = split_select(WIDE, columns, values, max_uri=max_uri)
    assert all(query_uri_length(q) <= max_uri for q in queries)
    pairs: Counter[tuple[str, str | None]] = Counter()
    for soql in queries:
        query = parse(soql, CATALOG)
        assert isinstance(query.where, InList)
        selected = [item.path.text for item in query.items]
        assert selected[0] == "Id"  # the key rows are merged on
        pairs.update((c, v) for c in selected[1:] for v in query.where.values)
    assert pairs == Counter((c, _text_key(v)) for c in dict.fromkeys(columns)
                            for v in dict.fromkeys(values))


def test_split_select_makes_as_few_queries_as_fit() -> None:
    ids = [f"0PS{i:015d}" for i in range(300)]
    queries = split_select(WIDE, PERMISSIONS, ids)
    assert all(query_uri_length(q) <= MAX_QUERY_URI for q in queries)
    # Every column once per share of the values: no query could take one more column
    # or one more value and still fit, or the split would have used it.
    shares = {q.split(" WHERE ")[1] for q in queries}
    columns = {q.split(" FROM ")[0] for q in queries}
    assert len(queries) == len(shares) * len(columns)
    lower_bound = -(-sum(query_uri_length(q) for q in queries) // MAX_QUERY_URI)
    assert len(queries) <= lower_bound + len(shares)
    assert split_select(WIDE, PERMISSIONS, []) == []
    with pytest.raises(ValueError, match="exactly once"):
        split_select("SELECT Id, {columns} FROM PermissionSet", PERMISSIONS, ids)
    with pytest.raises(ValueError, match="can't fit"):
        split_select(WIDE, PERMISSIONS, ["x" * 20_000])
