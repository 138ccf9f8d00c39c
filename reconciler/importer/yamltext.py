"""YAML text for imported config, written by hand so it can carry comments.

PyYAML's dumper can't emit comments, and the import marks what the platform derives
with them. So the files are written line by line here, and every scalar goes through
:func:`scalar`, which writes it plain when that reads back as the same string under
both YAML 1.1 and 1.2 rules, and double-quoted otherwise. Strings are config values,
where ``${`` starts an interpolation: a literal ``${`` is written ``$${``.

The output is deterministic: same input, same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["Block", "flow_list", "key", "scalar"]

# Characters a plain scalar may hold here: deliberately fewer than YAML allows.
_PLAIN_BLOCK = re.compile(r"[A-Za-z_/$(][A-Za-z0-9 _./@()'&+$=,;!?%<>*~^|-]*")
_PLAIN_FLOW = re.compile(r"[A-Za-z_/$(][A-Za-z0-9 _./@()'&+$=;!?%<>*~^|-]*")
# Words some YAML reader turns into something other than a string (1.1 and 1.2).
_SPECIAL = frozenset({
    "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n",
    ".inf", ".nan", "-.inf", "+.inf",
})
_LINE_LIMIT = 100


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if ch == '"':
        return '\\"'
    if ch == "\\":
        return "\\\\"
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if (code < 0x20 or 0x7F <= code <= 0x9F or ch in "\u2028\u2029\ufeff"
            or 0xD800 <= code <= 0xDFFF):
        return f"\\u{code:04x}"
    return ch


def _plain_ok(text: str, pattern: re.Pattern[str]) -> bool:
    if not text or text != text.strip() or text.casefold() in _SPECIAL:
        return False
    if not pattern.fullmatch(text):
        return False
    # "a: b" and "a #b" change meaning; so may a trailing colon.
    return ": " not in text and " #" not in text and not text.endswith(":")


def scalar(value: str | bool | int, *, flow: bool = False, interpolated: bool = True) -> str:
    """One scalar as YAML text.

    ``flow`` is for items of ``[a, b]`` lists, where commas and brackets end a
    plain scalar. ``interpolated`` strings have ``${`` written ``$${``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = value.replace("${", "$${") if interpolated else value
    if _plain_ok(text, _PLAIN_FLOW if flow else _PLAIN_BLOCK):
        return text
    return '"' + "".join(_escape_char(ch) for ch in text) + '"'


def key(name: str) -> str:
    """A mapping key (keys are never interpolated)."""
    return scalar(name, interpolated=False)


def flow_list(values: Iterable[str], *, interpolated: bool = True) -> str:
    """``[a, b, c]``."""
    return "[" + ", ".join(scalar(v, flow=True, interpolated=interpolated)
                           for v in values) + "]"


@dataclass
class Block:
    """Lines of a YAML document, with trailing comments aligned per run of lines."""

    lines: list[tuple[str, str]] = field(default_factory=list)  # (text, comment)

    def comment(self, text: str, indent: int = 0) -> None:
        """A whole-line comment."""
        prefix = " " * indent
        for line in text.splitlines() or [""]:
            self.lines.append((f"{prefix}# {line}".rstrip(), ""))

    def blank(self) -> None:
        self.lines.append(("", ""))

    def line(self, text: str, comment: str = "") -> None:
        self.lines.append((text, comment))

    def entry(self, indent: int, name: str, value: str, comment: str = "") -> None:
        """``name: value`` at ``indent`` spaces."""
        self.line(f"{' ' * indent}{name}: {value}", comment)

    def string_list(self, indent: int, name: str, values: Sequence[str], *,
                    interpolated: bool = True) -> None:
        """A list: ``[a, b]`` on one line when it fits, else one item per line."""
        flow = flow_list(values, interpolated=interpolated)
        if indent + len(name) + 2 + len(flow) <= _LINE_LIMIT:
            self.entry(indent, name, flow)
            return
        self.line(f"{' ' * indent}{name}:")
        for value in values:
            self.line(f"{' ' * (indent + 2)}- {scalar(value, interpolated=interpolated)}")

    def text(self) -> str:
        """The document; trailing comments of sibling lines (same indentation, no line of
        another shape between them) share a column."""
        out: list[str] = []
        i = 0
        while i < len(self.lines):
            j = i + 1
            indent = _indent(self.lines[i][0])
            while (j < len(self.lines) and self.lines[j][0]
                   and not self.lines[j][0].lstrip().startswith("#")
                   and _indent(self.lines[j][0]) == indent):
                j += 1
            run = self.lines[i:j]
            column = max((len(t) for t, c in run if c), default=0) + 2
            out.extend(f"{t.ljust(column)}# {c}" if c else t for t, c in run)
            i = j
        while out and not out[-1]:
            out.pop()
        return "\n".join(out) + "\n"


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))
