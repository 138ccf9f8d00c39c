"""Inputs an attacker or an unlucky operator could hand the CLI: each ends in clear
problem lines and exit 1, never a traceback, a hang or memory running out.

Covers config and var files, seed files, JWT key files and metadata XML: integers
past Python's digit limit, devices and FIFOs where a file is expected, XML encodings
Python can't decode, thousands of misspellings beside thousands of names, and values
that try to print as extra problem lines.
"""

from __future__ import annotations

import os
import random
import resource
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator import start_emulator
from tests.config.helpers import write
from tests.orgdir import WALKTHROUGH, Org, jwt_seed

DEV_ZERO = Path("/dev/zero")
NOT_REGULAR = "not a regular file (a device, FIFO or socket)"
SET_XML = ('<?xml version="1.0" encoding="{encoding}"?>\n'
           '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">'
           "<label>{label}</label></PermissionSet>\n")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI in-process; anything but a clean exit fails the test with its output."""
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}")
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def memory_ceiling() -> Iterator[None]:
    """Reading /dev/zero whole would take every byte of the machine: should the code
    regress, it fails here with MemoryError within 2 GiB more than the process holds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status", encoding="ascii") as status:
        held = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    ceiling = held + 2 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (ceiling if hard == resource.RLIM_INFINITY
                                            else min(ceiling, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextmanager
def writer_for(fifo: Path) -> Iterator[None]:
    """Should the code under test open ``fifo`` and wait for a writer, be that writer
    and write nothing: a regression then fails the test instead of hanging it."""
    done = threading.Event()

    def unblock() -> None:
        while not done.wait(0.2):
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody is reading
                continue
            os.close(fd)

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


# --- 1. integers past Python's digit limit -----------------------------------------

def test_an_integer_of_thousands_of_digits_is_a_located_problem(tmp_path: Path) -> None:
    config = write(tmp_path / "config", {
        "main.yaml": "variables:\n  n:\n    default: " + "9" * 5000 + "\n"})
    result = run("-c", str(config), "validate")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{config}/main.yaml:3:14: an integer written with 5,000 characters is too long "
        "(at most 1,000); quote it if it is text"]

    var_file = write(tmp_path, {"vars.yaml": "n: 0x" + "f" * 4400 + "\n"}) / "vars.yaml"
    write(config, {"main.yaml": "variables:\n  n: {default: x}\n"})
    result = run("-c", str(config), "--var-file", str(var_file), "validate")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{var_file}:1:4: an integer written with 4,402 characters is too long (at most "
        "1,000); quote it if it is text"]


def test_a_float_tag_on_an_integer_beyond_any_float_is_a_located_problem(
        tmp_path: Path) -> None:
    config = write(tmp_path, {"main.yaml": "variables:\n  n:\n    default: !!float "
                                           + "1" * 400 + "\n"})
    result = run("-c", str(config), "validate")
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(f"{config}/main.yaml:3:14: \"1111")
    assert line.endswith("1111\" is not a valid !!float")


# --- 2. devices, FIFOs and oversized files where a file is expected ----------------

@pytest.mark.usefixtures("memory_ceiling")
def test_config_and_var_files_that_are_devices_or_fifos_are_refused_unread(
        tmp_path: Path) -> None:
    result = run("-c", str(DEV_ZERO), "validate")
    assert result.exit_code == 1
    assert result.output == f"/dev/zero: cannot read file: {NOT_REGULAR}\n"

    config = write(tmp_path / "config", {"main.yaml": "variables:\n  n: {default: x}\n"})
    result = run("-c", str(config), "--var-file", str(DEV_ZERO), "validate")
    assert result.exit_code == 1
    assert result.output == f"/dev/zero: cannot read file: {NOT_REGULAR}\n"

    # A config-named entry of the directory that is not a file is reported, not skipped.
    (config / "zero.yaml").symlink_to(DEV_ZERO)
    os.mkfifo(config / "pipe.yaml")
    with writer_for(config / "pipe.yaml"):
        result = run("-c", str(config), "validate")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{config}/pipe.yaml: cannot read file: {NOT_REGULAR}",
        f"{config}/zero.yaml: cannot read file: {NOT_REGULAR}"]


@pytest.mark.usefixtures("memory_ceiling")
def test_a_seed_that_is_a_device_is_refused_before_any_org_is_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path / "config", {
        "main.yaml": "orgs:\n  local:\n    emulator: true\n    seed: /dev/zero\n"})
    result = run("-c", str(config), "plan")
    assert result.exit_code == 1
    assert result.output == "Error: /dev/zero: cannot read seed: not a regular file\n"
    assert not (tmp_path / ".reconciler").exists()

    data = tmp_path / "served"
    result = run("emulator", "serve", "--data", str(data), "--seed", str(DEV_ZERO))
    assert result.exit_code == 1
    assert result.output == "Error: /dev/zero: cannot read seed: not a regular file\n"
    assert not data.exists()


def test_a_seed_with_a_huge_number_or_deep_nesting_is_one_clear_line(tmp_path: Path) -> None:
    for name, text, reason in (
            ("number", "org: {daily_api_max: " + "9" * 5000 + "}\n",
             "a number is too long (more than 4,300 digits)"),
            ("nesting", "org: " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply")):
        seed = write(tmp_path, {f"{name}.yaml": text}) / f"{name}.yaml"
        result = run("emulator", "serve", "--data", str(tmp_path / "d"), "--seed", str(seed))
        assert result.exit_code == 1
        assert result.output == f"Error: {seed}: cannot read seed: {reason}\n"


@pytest.mark.usefixtures("memory_ceiling")
def test_a_jwt_private_key_file_that_is_a_device_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    leaf = trustme.CA().issue_cert("jwt@acme.example", key_type=trustme.KeyType.RSA)
    seed = jwt_seed(leaf.cert_chain_pems[0].bytes().decode())
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path, auth={"flow": "jwt", "client_id": "jwt-app",
                                       "username": "jwt@acme.example",
                                       "private_key_file": str(DEV_ZERO)})
        org.write("integration.yaml", WALKTHROUGH)
        result = org.run("plan")
    assert result.exit_code == 1, result.output
    assert result.output == (f"Error: can't read the private key file /dev/zero: "
                             f"{NOT_REGULAR}\n")
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.usefixtures("memory_ceiling")
def test_metadata_paths_that_are_devices_are_refused_and_nothing_is_written(
        tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"Good.permissionset-meta.xml":
                                   SET_XML.format(encoding="UTF-8", label="Good")})
    (src / "Zero.permissionset-meta.xml").symlink_to(DEV_ZERO)
    out = tmp_path / "out"
    result = run("import", "--from-metadata", str(src), str(DEV_ZERO), "-o", str(out))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"/dev/zero: cannot read: {NOT_REGULAR}",
        f"{src}/Zero.permissionset-meta.xml: cannot read: {NOT_REGULAR}"]
    assert not out.exists()


# --- 3. XML encodings Python can't decode ------------------------------------------

def test_an_xml_encoding_python_cannot_decode_is_one_line_and_nothing_is_written(
        tmp_path: Path) -> None:
    # An unknown name (LookupError), a multi-byte codec expat can't use (ValueError)
    # and a codec that is not a text encoding (LookupError).
    names = {"Unknown": "x-nonsense", "Wide": "utf-32", "Bytes": "base64"}
    src = write(tmp_path / "src", {
        f"{name}.permissionset-meta.xml": SET_XML.format(encoding=encoding, label=name)
        for name, encoding in names.items()})
    out = tmp_path / "out"
    result = run("import", "--from-metadata", str(src), "-o", str(out))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f'{src}/{name}.permissionset-meta.xml: cannot read the encoding "{names[name]}" its '
        "XML declaration names; SFDX metadata files are UTF-8"
        for name in sorted(names)]
    assert not out.exists()


# --- 4. "did you mean" at scale ----------------------------------------------------

def _typo(name: str) -> str:
    """A misspelling: one letter doubled."""
    return name[:-3] + name[-3] + name[-3:]


def test_thousands_of_undefined_variables_beside_thousands_validate_in_seconds(
        tmp_path: Path) -> None:
    count = 2000
    letters = random.Random(11)
    names = [f"svc_{''.join(letters.choices(string.ascii_lowercase, k=10))}"
             for _ in range(count)]
    lines = ["variables:"] + [f"  {name}: {{default: v}}" for name in names] + ["users:"]
    for i, name in enumerate(names):
        lines += [f"  u{i}:", f"    username: u{i}@acme.example",
                  f"    last_name: ${{var.{_typo(name)}}}", "    email: u@acme.example",
                  "    profile: P"]
    config = write(tmp_path, {"main.yaml": "\n".join(lines) + "\n"})
    started = time.monotonic()
    result = run("-c", str(config), "validate")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert elapsed < 15, f"took {elapsed:.1f} s"  # quadratic suggestions took minutes
    out = result.output.splitlines()
    assert len(out) == 101
    assert out[-1] == f"… and {count - 100:,} more problems"
    first_user_line = count + 3
    assert out[0] == (f"{config}/main.yaml:{first_user_line + 2}:16: users.u0.last_name: "
                      f'undefined variable var.{_typo(names[0])}; did you mean "var.{names[0]}"?')
    assert all(f'did you mean "var.{names[i]}"?' in out[i] for i in range(100))


def test_a_hundred_thousand_unknown_keys_are_counted_not_all_listed(tmp_path: Path) -> None:
    count = 100_000
    config = write(tmp_path, {"main.yaml": "settings:\n" + "".join(
        f"  key{i:06d}: 1\n" for i in range(count))})
    started = time.monotonic()
    result = run("-c", str(config), "validate")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert elapsed < 30, f"took {elapsed:.1f} s"
    out = result.output.splitlines()
    assert len(out) == 101
    assert out[0] == (f'{config}/main.yaml:2:3: settings: unknown key "key000000"; valid keys '
                      "are api_version, default_org, scope, user_defaults")
    assert out[-1] == "… and 99,900 more problems"


# --- 5. values that try to print as more problem lines -----------------------------

def test_echoed_values_cannot_forge_problem_lines(tmp_path: Path) -> None:
    forged = "main.yaml:1:1: forged"
    config = write(tmp_path, {"main.yaml": (
        "settings:\n  scope:\n"
        # U+2028 and NEL end a line for many readers; U+202E reverses text; CSI (0x9B)
        # starts a terminal escape.
        f'    assignments: "additive\\n{forged}\\L{forged}\\N{forged}\\u202e{forged}'
        f'\\x9b31m{forged}"\n'
        f'  user_defaults: {{email_encoding: "{"x" * 100_000}"}}\n'
        "users:\n  u:\n    username: u@acme.example\n    last_name: U\n"
        "    email: u@acme.example\n    profile: P\n"
        f'    permission_sets: "INT_A\\n{forged}"\n')})
    result = run("-c", str(config), "validate")
    assert result.exit_code == 1
    out = result.output.splitlines()
    assert len(out) == 3, out
    assert all(line.startswith(f"{config}/main.yaml:") for line in out)
    assert not any(line.startswith(forged) for line in out)
    assignments, encoding, user = sorted(out, key=lambda line: int(line.split(":")[1]))
    assert "\\n" in assignments and "\\u2028" in assignments and "\\u0085" in assignments
    assert "\\u202e" in assignments and "\\u009b" in assignments
    assert len(encoding) < 400 and "(99880 more characters)" in encoding
    assert f'(write ["INT_A\\n{forged}"])' in user


def test_metadata_names_cannot_forge_warning_lines(tmp_path: Path) -> None:
    forged = "warning: forged"
    src = write(tmp_path / "src", {
        "P.permissionset-meta.xml": (
            '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<fullName>acme__P&#10;{forged}</fullName><label>P</label></PermissionSet>"),
        "Q.permissionset-meta.xml": SET_XML.format(encoding="UTF-8", label="Q")})
    result = run("import", "--from-metadata", str(src), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert not any(line.startswith(forged) for line in result.output.splitlines())
    assert f'permission set "acme__P\\n{forged}" not imported' in result.output
