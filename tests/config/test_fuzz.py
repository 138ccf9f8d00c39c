"""Property: whatever the files hold, loading ends in a Config or a ConfigError.

Random bytes, random text, mutated example files and random documents built
from the language's own keys are fed to load_config and to `reconciler validate`.
Nothing else may escape: no traceback, whatever the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.config import load_config
from reconciler.config.language import BLOCKS
from reconciler.config.spec import Access, ListOf, MapOf, Obj
from reconciler.errors import ConfigError
from tests.config.helpers import CONFIGS, EXAMPLES

FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _keys(spec: Any, out: set[str]) -> set[str]:
    if isinstance(spec, Obj):
        out.update(spec.fields)
        for field in spec.fields.values():
            _keys(field.spec, out)
    elif isinstance(spec, MapOf):
        _keys(spec.value, out)
    elif isinstance(spec, ListOf):
        _keys(spec.item, out)
    elif isinstance(spec, Access):
        out.update(spec.words)
    return out


KEYS = sorted(set().union(*(_keys(s, set()) for s in BLOCKS.values()), BLOCKS))
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
