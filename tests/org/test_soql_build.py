"""SOQL building: quoting survives the emulator's SOQL parser, IN lists split to fit."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.emulator.catalog import standard_catalog
from reconciler.emulator.soql import Comparison, InList, Like, parse
from reconciler.org.soql import MAX_SOQL_LENGTH, chunked_in, in_list, quote

CATALOG = standard_catalog()
TEMPLATE = "SELECT Id FROM User WHERE Username IN {in} ORDER BY Username"


def _text_key(value: str) -> str | None:
    """How the emulator normalises a text literal: case-folded, '' as null."""
    return value.lower() if value else None


def _like_pattern(value: str) -> str:
    """The regular expression the emulator makes of an unescaped LIKE pattern."""
    return "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value)


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


@given(st.lists(st.text(max_size=40), max_size=60), st.integers(min_value=120, max_value=600))
def test_chunked_in_fits_and_covers_every_value_once(values: list[str], max_length: int) -> None:
    queries = chunked_in(TEMPLATE, values, max_length=max_length)
    assert all(len(q) <= max_length for q in queries)
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
    assert chunked_in(TEMPLATE, ["a"], max_length=len(exact)) == [exact]
    with pytest.raises(ValueError, match="can't fit"):
        chunked_in(TEMPLATE, ["a"], max_length=len(exact) - 1)
    with pytest.raises(ValueError, match="exactly once"):
        chunked_in("SELECT Id FROM User", ["a"])
    many = [f"user{i:04d}@acme.example" for i in range(5000)]
    queries = chunked_in(TEMPLATE, many, max_length=MAX_SOQL_LENGTH)
    assert len(queries) == 2 and all(len(q) <= MAX_SOQL_LENGTH for q in queries)
