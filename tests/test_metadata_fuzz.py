"""Property: `import --from-metadata` of any file ends in YAML that validates, or in
problem lines and nothing written; never a traceback or a hang.

Files are the real SFDX files of ../shared/real-metadata (or a small set when that
folder is absent) mutated byte by byte, truncated, re-declared in other encodings,
given DTDs and entities, nested deep, padded with huge text, or given names that try
to print as extra output lines.
"""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from tests.test_metadata import REAL_FILES

FUZZ = settings(deadline=None, database=None, derandomize=True, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
CASE_SECONDS = 10.0

_SMALL = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
          b'<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">\n'
          b"    <label>Small</label>\n    <objectPermissions>\n"
          b"        <allowRead>true</allowRead>\n        <object>Account</object>\n"
          b"    </objectPermissions>\n</PermissionSet>\n")
SOURCES = [p.read_bytes() for p in REAL_FILES] or [_SMALL]

ENCODINGS = ["x-nonsense", "utf-32", "utf-16", "UTF-7", "base64", "rot13", "idna",
             "punycode", "undefined", "cp037", "shift_jis", "latin-1", "ascii", "", "utf-8"]
FRAGMENTS = [
    b'<!DOCTYPE PermissionSet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x">%p;]>',
    b'<!DOCTYPE x SYSTEM "http://127.0.0.1:1/x.dtd">',
    b"&a;", b"&#10;", b"&#x85;", b"&#x2028;", b"&#x202e;", b"&#1;", b"]]>", b"<![CDATA[x",
    b"<?pi x?>", b"<!-- c -->", b"<fullName>acme__X&#10;warning: forged</fullName>",
    b"<fullName>Bad Name&#10;x</fullName>", b"<label>&#x1b;[31m</label>",
    b"<userPermissions><enabled>true</enabled></userPermissions>",
    b"<objectPermissions><allowRead>maybe</allowRead><object>A</object></objectPermissions>",
    b"<fieldPermissions><readable>true</readable><field>A..B</field></fieldPermissions>",
    b'<x:y xmlns:x="urn:x"/>', b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xc3", "é😀".encode(),
]


@st.composite
def hostile_xml(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SOURCES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "flip", "truncate", "encoding",
                                     "prolog", "nest", "huge"]))
        at = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(FRAGMENTS))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 80))]
        elif kind == "flip" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "encoding":
            start = data.find(b"?>")
            declaration = f'<?xml version="1.0" encoding="{draw(st.sampled_from(ENCODINGS))}"?>'
            data[:start + 2 if start >= 0 else 0] = declaration.encode("ascii")
        elif kind == "prolog":
            start = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
            data[start:start] = draw(st.sampled_from(FRAGMENTS[:4]))
        elif kind == "nest":
            depth = draw(st.integers(1, 50_000))
            data[at:at] = b"<a>" * depth + b"</a>" * depth
        else:
            data[at:at] = b"<description>" + b"x" * draw(st.integers(1, 2_000_000)) \
                + b"</description>"
    return bytes(data)


@pytest.mark.skipif(not REAL_FILES, reason="runs on the real files when they are present")
def test_the_sources_are_the_real_files() -> None:
    assert len(SOURCES) >= 10


@settings(FUZZ)
@given(data=hostile_xml(), group=st.booleans())
def test_hostile_metadata_imports_cleanly_or_is_refused_cleanly(
        tmp_path_factory: pytest.TempPathFactory, data: bytes, group: bool) -> None:
    root = tmp_path_factory.mktemp("xml")
    suffix = ".permissionsetgroup-meta.xml" if group else ".permissionset-meta.xml"
    source = root / f"Fuzzed{suffix}"
    source.write_bytes(data)
    out = root / "out"
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["import", "--from-metadata", str(source),
                                      "-o", str(out)])
    elapsed = time.monotonic() - started
    assert elapsed < CASE_SECONDS, f"import took {elapsed:.1f} s"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    for line in result.output.splitlines():
        # A problem or warning names the file (or the file the import would write);
        # nothing the file holds starts a line.
        assert line.startswith((str(source), str(out), f"warning: {source}", "Wrote ",
                                "Error: ")) or line.endswith("(listed above)."), line
    if result.exit_code == 1:
        assert not out.exists()
        return
    checked = CliRunner().invoke(cli, ["-c", str(out), "validate"])
    assert checked.exit_code == 0, checked.output
