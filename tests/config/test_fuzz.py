"""Property: whatever the files hold, loading ends in a Config or a ConfigError.

Random bytes, random text, mutated example files and random documents built
from the language's own keys are fed to load_config and to `reconciler validate`,
and hostile values (huge integers, deep nesting, control characters, text of
hundreds of kilobytes, misspellings by the thousand) to `reconciler validate`.
Nothing else may escape: no traceback, no hang, no forged output line.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.config import config_json_schema, load_config
from reconciler.errors import ConfigError
from tests.config.helpers import CONFIGS, EXAMPLES

FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _keys(schema: Any, out: set[str]) -> set[str]:
    """Every key and every enumerated word of the published JSON Schema."""
    if isinstance(schema, dict):
        out.update(schema.get("properties", ()))
        out.update(w for w in schema.get("enum", ()) if isinstance(w, str))
        for value in schema.values():
            _keys(value, out)
    elif isinstance(schema, list):
        for value in schema:
            _keys(value, out)
    return out


SCHEMA = config_json_schema()
BLOCKS = list(SCHEMA["properties"])
KEYS = sorted(_keys(SCHEMA, set()))
NAMES = ["INT_A", "INT_B", "mulesoft", "local", "prod", "Account", "Account.Industry",
         "Invoice__c", "env", "x-anchor", "<<", "Salesforce Integration",
         "Salesforce API Integration", "Minimum Access - API Only Integrations"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
    st.sampled_from(NAMES + KEYS + ["${var.env}", "${env.HOME}", "$${x", "${", "a@b.co",
                                    "https://acme.my.salesforce.com", "client_credentials",
                                    "jwt", "true", "yes", "62.0"]),
    st.text(max_size=20),
)
KEY = st.one_of(st.sampled_from(KEYS + NAMES), st.text(min_size=1, max_size=12))
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.dictionaries(KEY, children, max_size=6)),
    max_leaves=40,
)
TOP = st.dictionaries(st.sampled_from([*BLOCKS, "x-shared", "user"]), DOCUMENTS, max_size=6)

TOKENS = [": ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "<<: *a", "!!str ", "!!binary ",
          "!foo ", "${var.env}", "${env.X}", "$${", "\t", "---\n", "...\n", '"', "'", "#",
          "? ", "|\n", ">-\n", "\n", "  ", "\x00", "\x07", "\ufeff", "é", "😀", "~", "null",
          *KEYS]

EXAMPLE_FILES = sorted(p for e in EXAMPLES for p in (CONFIGS / e).glob("*.yaml"))
EXAMPLE_BYTES = [p.read_bytes() for p in EXAMPLE_FILES]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check(directory: Path, data: bytes, name: str = "main.yaml") -> None:
    """Load `data` as the only file of `directory`; only ConfigError may come out."""
    for old in directory.iterdir():
        old.unlink()
    (directory / name).write_bytes(data)
    try:
        config = load_config(directory, environ={"HOME": "/home/x"}, variables={})
    except ConfigError as exc:
        assert exc.problems, "a ConfigError always carries its problems"
        for problem in exc.problems:
            assert problem.message and problem.message != "None"
            assert problem.line is None or problem.line >= 1
            assert problem.column is None or problem.column >= 1
        return
    assert len(config.digest) == 64
    for org in config.orgs:
        try:
            config.org(org)
        except ConfigError as exc:
            assert exc.problems


@settings(FUZZ, max_examples=400)
@given(st.binary(max_size=300))
def test_random_bytes(workdir: Path, data: bytes) -> None:
    check(workdir, data)


@settings(FUZZ, max_examples=400)
@given(st.text(max_size=300))
def test_random_text(workdir: Path, text: str) -> None:
    check(workdir, text.encode("utf-8", errors="surrogatepass"))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(EXAMPLE_BYTES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "delete", "flip", "dup_line", "swap_lines"]))
        at = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS)).encode("utf-8")
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "flip" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if kind == "dup_line":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(FUZZ, max_examples=1500)
@given(mutated())
def test_mutated_examples(workdir: Path, data: bytes) -> None:
    check(workdir, data)


@settings(FUZZ, max_examples=1000)
@given(TOP)
def test_random_documents_in_the_language(workdir: Path, document: dict[str, Any]) -> None:
    check(workdir, yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))


@settings(FUZZ, max_examples=150)
@given(st.one_of(mutated(), TOP.map(lambda d: yaml.safe_dump(d).encode("utf-8"))))
def test_validate_command_never_raises(workdir: Path, data: bytes) -> None:
    for old in workdir.iterdir():
        old.unlink()
    (workdir / "main.yaml").write_bytes(data)
    result = CliRunner().invoke(cli, ["-c", str(workdir), "validate"], env={"HOME": "/h"})
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = result.output.splitlines()
    assert lines and all(lines)


# --- hostile values in otherwise real configs, through `reconciler validate` ---------

# Scalars that once crashed or stalled loading, or could forge output lines: integers
# past Python's digit limit (decimal, hexadecimal, as a float), long and oversized
# text, control characters, line separators, bidi overrides and terminal escapes in
# double-quoted YAML, interpolation at scale.
HOSTILE_SCALARS = st.one_of(
    st.integers(900, 6000).map(lambda n: "9" * n),
    st.integers(900, 6000).map(lambda n: "0x" + "f" * n),
    st.integers(300, 1200).map(lambda n: "!!float " + "1" * n),
    st.integers(100, 200_000).map(lambda n: "x" * n),
    st.lists(st.sampled_from(["\\n", "\\r", "\\t", "\\0", "\\e", "\\x9b", "\\x85", "\\N",
                              "\\L", "\\P", "\\u202e", "\\u2066", "\\ufeff", "\\x7f",
                              "main.yaml:1:1: forged", "é", "😀", "${var.env}", '\\"']),
             min_size=1, max_size=12).map(lambda parts: '"' + "".join(parts) + '"'),
    st.integers(1, 3000).map(lambda n: '"' + "${var.nope}" * n + '"'),
    st.text(st.characters(codec="utf-8"), max_size=40).map(
        lambda text: '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
        + '"'),
)
# Whole documents: deep nesting (flow and block), many keys, many documents.
HOSTILE_DOCUMENTS = st.one_of(
    st.integers(1, 300).map(lambda n: "users: " + "[" * n + "]" * n + "\n"),
    st.integers(1, 200).map(lambda n: "settings:\n" + "".join(
        "  " * (i + 1) + f"k{i}:\n" for i in range(n))),
    st.integers(1, 20_000).map(lambda n: "variables:\n" + "".join(
        f"  v{i}: {{default: x}}\n" for i in range(n // 2)) + "users:\n" + "".join(
        f"  u{i}: {{username: u{i}@a.co, last_name: ${{var.w{i}}}, email: a@a.co, "
        f"profile: P}}\n" for i in range(n // 2))),
    st.integers(1, 5000).map(lambda n: "settings:\n" + "".join(
        f"  key{i}: {i}\n" for i in range(n))),
    st.integers(2, 50).map(lambda n: "---\nsettings: {}\n" * n),
)
SCALAR_LINE = re.compile(rb"^( *[A-Za-z_][A-Za-z0-9_.-]*: ).+$", re.MULTILINE)


@st.composite
def hostile_configs(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(HOSTILE_DOCUMENTS).encode("utf-8")
    data = draw(st.sampled_from(EXAMPLE_BYTES))
    lines = list(SCALAR_LINE.finditer(data))
    for _ in range(draw(st.integers(1, 3))):
        line = draw(st.sampled_from(lines))
        value = draw(HOSTILE_SCALARS).encode("utf-8")
        data = data.replace(line.group(0), line.group(1) + value, 1)
    return data


# A case must end well inside this even on a loaded 2-core machine; the slowest
# hostile inputs take well under a second.
CASE_SECONDS = 10.0


@settings(FUZZ, max_examples=700)
@given(hostile_configs())
def test_hostile_values_end_in_problem_lines_never_a_traceback_or_a_hang(
        workdir: Path, data: bytes) -> None:
    for old in workdir.iterdir():
        old.unlink()
    (workdir / "main.yaml").write_bytes(data)
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["-c", str(workdir), "validate"], env={"HOME": "/h"})
    elapsed = time.monotonic() - started
    assert elapsed < CASE_SECONDS, f"validate took {elapsed:.1f} s"
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    if result.exit_code == 0:
        assert len(lines) == 1 and lines[0].startswith("The configuration is valid")
        return
    # Every line is a problem of this file or the count of those not listed: nothing
    # a value holds can print as a line of its own.
    assert 1 <= len(lines) <= 101
    for line in lines:
        assert line.startswith(f"{workdir}/main.yaml") or line.startswith("… and "), line
        assert len(line) < 2000, line[:200]
