"""Safe YAML reading: positions, YAML 1.2 scalars and every refusal, as a user sees them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.config.yamlload import (
    MAX_FILE_BYTES,
    LList,
    LMap,
    parse_yaml_text,
    read_yaml_file,
)
from reconciler.errors import Problem


def parse(text: str) -> tuple[Any, list[str]]:
    problems: list[Problem] = []
    ok, value = parse_yaml_text(text, "f.yaml", problems)
    return (value if ok else None), [str(p) for p in problems]


def plain(value: Any) -> Any:
    """The located tree as plain data."""
    if isinstance(value, LMap):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, LList):
        return [plain(v) for v in value]
    return value


def test_keys_and_values_keep_line_and_column() -> None:
    root, errors = parse("users:\n  mulesoft:\n    email: a@b.co\n    sets: [A, B]\n")
    assert errors == []
    user = root["users"]["mulesoft"]
    assert user.pos["email"] == (3, 5, 3, 12)
    sets = user["sets"]
    assert sets.pos == [(4, 12), (4, 15)]


def test_columns_count_characters_not_bytes() -> None:
    root, _ = parse("é: [ö, 😀, x]\n")
    assert root["é"].pos == [(1, 5), (1, 8), (1, 11)]


def test_scalars_resolve_with_the_yaml_1_2_core_schema() -> None:
    root, errors = parse(
        "a: yes\nb: on\nc: true\nd: False\ne: ~\nf: null\ng: 12\nh: 0x1F\ni: 0o17\n"
        "j: 1.5\nk: .inf\nl: '12'\nm: 62.0\nn: 2024-01-01\no:\n")
    assert errors == []
    assert plain(root) == {
        "a": "yes", "b": "on", "c": True, "d": False, "e": None, "f": None, "g": 12,
        "h": 31, "i": 15, "j": 1.5, "k": float("inf"), "l": "12", "m": 62.0,
        "n": "2024-01-01", "o": None}


def test_core_tags_are_honoured_and_others_refused() -> None:
    root, errors = parse("a: !!str 12\nb: !!int abc\nc: !!bool true\nd: !custom x\n")
    assert plain(root) == {"a": "12", "b": "abc", "c": True, "d": "x"}
    assert errors == ['f.yaml:2:4: "abc" is not a valid !!int',
                      "f.yaml:4:4: tag !custom is not supported"]


def test_duplicate_key_is_an_error_and_the_first_value_is_kept() -> None:
    root, errors = parse("a: 1\nb: 2\na: 3\n")
    assert errors == ['f.yaml:3:1: duplicate key "a" (first at line 1, column 1)']
    assert plain(root) == {"a": 1, "b": 2}


def test_aliases_share_values_and_merge_keys_merge() -> None:
    root, errors = parse(
        "base: &b {x: 1, y: 2}\nlist: &l [r]\nuse: *l\n"
        "merged: {<<: *b, y: 3}\nmany: {<<: [*b, {z: 4}], x: 0}\n")
    assert errors == []
    assert plain(root)["use"] == ["r"]
    assert plain(root)["merged"] == {"y": 3, "x": 1}
    assert plain(root)["many"] == {"x": 0, "y": 2, "z": 4}


def test_a_quoted_merge_key_is_an_ordinary_key() -> None:
    root, errors = parse('a: {"<<": 1}\n')
    assert errors == [] and plain(root) == {"a": {"<<": 1}}


def test_merging_a_scalar_is_an_error() -> None:
    _, errors = parse("a: &s x\nb: {<<: *s}\n")
    assert errors == ["f.yaml:2:9: << merges mappings only, not a string"]


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    value, errors = parse("\n".join(lines) + "\n")
    assert value is None
    assert len(errors) == 1
    assert "aliases expand to more than 100000 values" in errors[0]


def test_recursive_and_undefined_aliases_are_refused() -> None:
    assert parse("a: &x [1, *x]\n") == (
        None, ["f.yaml:1:11: alias *x refers to a value that contains it (recursive alias)"])
    assert parse("a: *nope\n") == (None, ["f.yaml:1:4: alias *nope has no anchor &nope before it"])


def test_deep_nesting_is_refused_without_recursion_errors() -> None:
    assert parse("a: " + "[" * 70 + "]" * 70 + "\n") == (
        None, ["f.yaml:1:67: nesting deeper than 64 levels"])
    value, errors = parse("[" * 5000 + "]" * 5000)
    assert value is None and len(errors) == 1 and "YAML syntax error" in errors[0]


def test_a_complex_key_is_an_error() -> None:
    root, errors = parse("? [a, b]\n: 1\nc: 2\n")
    assert errors == ["f.yaml:1:3: a mapping key must be a plain name, not a list"]
    assert plain(root) == {"c": 2}


def test_only_one_document_per_file() -> None:
    assert parse("a: 1\n---\nb: 2\n")[1] == [
        "f.yaml:2:1: a file may hold only one YAML document; put the next one in its own file"]


@pytest.mark.parametrize(("text", "where"), [
    ("a:\n\tb: 1\n", "f.yaml:2:1"),
    ("a:\n  b: 1\n\tc: 2\n", "f.yaml:3:1"),
])
def test_tabs_in_indentation_get_a_clear_message(text: str, where: str) -> None:
    assert parse(text) == (None, [f"{where}: tab character: YAML indentation must use spaces"])


def test_a_tab_after_a_colon_is_fine() -> None:
    root, errors = parse("a:\tb\n")
    assert errors == [] and plain(root) == {"a": "b"}


def test_control_characters_are_refused_at_their_position() -> None:
    assert parse('a: 1\nb: "x\x07"\n') == (
        None, ["f.yaml:2:6: character U+0007 is not allowed in YAML"])


def test_empty_and_comment_only_documents_are_none() -> None:
    assert parse("") == (None, [])
    assert parse("# nothing here\n") == (None, [])


def read(path: Path) -> tuple[bool, Any, list[str]]:
    problems: list[Problem] = []
    ok, value = read_yaml_file(path, path.name, problems)
    return ok, value, [str(p) for p in problems]


def test_files_over_the_size_limit_are_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    assert read(big) == (False, None, [
        f"big.yaml: file is {MAX_FILE_BYTES + 1} bytes, more than the 5 MiB limit; split it "
        "into several files"])


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "bom.yaml"
    f.write_bytes(b"\xef\xbb\xbfa: 1\n")
    ok, value, errors = read(f)
    assert ok and errors == [] and plain(value) == {"a": 1}


def test_utf16_is_reported_as_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "utf16.yaml"
    f.write_bytes("a: 1\n".encode("utf-16"))
    ok, _, errors = read(f)
    assert not ok
    assert errors == ["utf16.yaml:1:4: NUL byte: this is a binary file or not UTF-8 text "
                      "(UTF-16?); config files must be UTF-8 YAML"]


def test_an_unreadable_path_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    ok, _, errors = read(tmp_path / "missing.yaml")
    assert not ok
    assert errors == ["missing.yaml: cannot read file: No such file or directory"]
