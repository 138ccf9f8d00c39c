"""Safe YAML reading that keeps a line and column for every key and value.

PyYAML's composer builds a node graph with a Python object per node and mark,
which takes seconds for a large config; here libyaml's event stream (when
available) is folded straight into light containers, :class:`LMap` and
:class:`LList`, that remember where each entry came from.

What this reader refuses, each with a located message instead of a traceback:

- files over :data:`MAX_FILE_BYTES` or that are not regular files (``/dev/zero``, a
  FIFO), NUL bytes (binary or UTF-16 files), bytes
  that are not UTF-8, YAML control characters, tabs where YAML forbids them;
- more than one document in a file;
- duplicate keys in one mapping (the first one is kept; YAML says it is an error,
  PyYAML silently keeps the last);
- nesting deeper than :data:`MAX_DEPTH`;
- alias expansion beyond :data:`MAX_ALIAS_NODES` nodes in a file: anchors and
  aliases (and ``<<`` merge keys) are allowed for sharing, but the "billion laughs"
  document is refused. Aliased values are shared, never copied;
- explicit tags other than the core ones (``!!str``, ``!!int``, …);
- integers of more than :data:`MAX_INT_CHARS` characters (Python refuses to convert
  very long ones between text and numbers).

Plain scalars resolve with the YAML 1.2 core schema: ``true``/``false`` are
booleans but ``yes``/``no``/``on``/``off`` stay strings, as editors using the
YAML language server read them. Mapping keys are always their source text.
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml import events as ev

from reconciler.config.readfile import read_limited
from reconciler.config.suggest import q
from reconciler.errors import Problem

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INT_CHARS",
    "LList",
    "LMap",
    "MergedMap",
    "kind_of",
    "parse_yaml_text",
    "read_yaml_file",
]

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
# Well under Python's int_max_str_digits (4,300), hexadecimal ones included, so any
# integer read can be printed back.
MAX_INT_CHARS = 1_000

# (key line, key column, value line, value column), all 1-based.
EntryPos = tuple[int, int, int, int]


class LMap(dict[str, Any]):
    """A YAML mapping: a dict of its entries, plus where each key and value starts.

    A dict (and :class:`LList` a list) so that pydantic validates the tree as it is,
    without a copy into plain containers.
    """

    __slots__ = ("col", "file", "line", "pos")

    def __init__(self, file: str, line: int, col: int) -> None:
        super().__init__()
        self.file = file
        self.line = line
        self.col = col
        self.pos: dict[str, EntryPos] = {}

    def file_of(self, key: str) -> str:
        """The file an entry was written in."""
        return self.file

    def __repr__(self) -> str:
        return f"LMap({self.file}:{self.line}:{self.col}, {dict.__repr__(self)})"


class MergedMap(LMap):
    """A mapping whose entries come from several files (a top-level block)."""

    __slots__ = ("files",)

    def __init__(self, file: str, line: int, col: int) -> None:
        super().__init__(file, line, col)
        self.files: dict[str, str] = {}

    def file_of(self, key: str) -> str:
        return self.files.get(key, self.file)


class LList(list[Any]):
    """A YAML sequence: a list of its items, plus where each item starts."""

    __slots__ = ("_spots", "col", "file", "line")

    def __init__(self, file: str, line: int, col: int) -> None:
        super().__init__()
        self.file = file
        self.line = line
        self.col = col
        # Line and column of each item, flat: a large config has a list on each of a
        # million lines, and a tuple per item would be a fifth of its memory.
        self._spots: list[int] = []

    def add(self, value: Any, line: int, col: int) -> None:
        """Append an item that starts at ``line``, ``col``."""
        self.append(value)
        self._spots += (line, col)

    def at(self, index: int) -> tuple[int, int]:
        """(line, column) where item ``index`` starts."""
        return self._spots[2 * index], self._spots[2 * index + 1]

    @property
    def pos(self) -> list[tuple[int, int]]:
        """(line, column) where each item starts."""
        return list(zip(self._spots[::2], self._spots[1::2], strict=True))

    def __repr__(self) -> str:
        return f"LList({self.file}:{self.line}:{self.col}, {list.__repr__(self)})"


def kind_of(value: Any) -> str:
    """How a YAML value is named in messages: "a mapping", "a list", "a number"…"""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


class _Fatal(Exception):
    """Stops reading one file; the problem is already recorded."""


def read_yaml_file(path: Path, display: str, problems: list[Problem]) -> tuple[bool, Any]:
    """Read one YAML file.

    Returns ``(ok, value)``: ``value`` is the document (``None`` for an empty
    file). ``ok`` is False when the file could not be read at all; its problems
    are appended to ``problems`` either way.
    """
    try:
        data = read_limited(path, MAX_FILE_BYTES)
    except OSError as exc:
        problems.append(Problem(
            f"file is {exc.strerror}; split it into several files" if exc.errno == errno.EFBIG
            else f"cannot read file: {exc.strerror or exc}", display))
        return False, None
    text = _decode(data, display, problems)
    if text is None:
        return False, None
    return parse_yaml_text(text, display, problems)


def _decode(data: bytes, display: str, problems: list[Problem]) -> str | None:
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _byte_position(data, nul)
        problems.append(Problem(
            "NUL byte: this is a binary file or not UTF-8 text (UTF-16?); "
            "config files must be UTF-8 YAML", display, line, col))
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(data, exc.start)
        problems.append(Problem(
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
            display, line, col))
        return None


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, col


def parse_yaml_text(text: str, display: str, problems: list[Problem]) -> tuple[bool, Any]:
    """Parse YAML text into :class:`LMap`/:class:`LList`/scalars; see :func:`read_yaml_file`."""
    builder = _Builder(display, problems)
    try:
        value = builder.run(text)
    except _Fatal:
        return False, None
    except yaml.MarkedYAMLError as exc:
        problems.append(_syntax_problem(exc, text, display))
        return False, None
    except yaml.reader.ReaderError as exc:
        line, col = _char_position(text, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        problems.append(Problem(
            f"character U+{ord(char):04X} is not allowed in YAML", display, line, col))
        return False, None
    except yaml.YAMLError as exc:
        problems.append(Problem(f"YAML error: {exc}", display))
        return False, None
    return True, value


def _parser(text: str) -> Any:
    if yaml.__with_libyaml__:
        from yaml._yaml import CParser

        return CParser(text)
    return yaml.SafeLoader(text)  # pragma: no cover - this project always has libyaml


def _char_position(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, display: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    if mark is not None and "\t" in _around(text, mark.index):
        return Problem("tab character: YAML indentation must use spaces", display, line, col)
    message = f"YAML syntax error: {exc.problem or exc.context}"
    if exc.problem and exc.context and exc.context_mark is not None:
        cm = exc.context_mark
        message += f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
    return Problem(message, display, line, col)


def _around(text: str, index: int) -> str:
    # libyaml points at the tab itself or at the token right after the indentation.
    line_start = text.rfind("\n", 0, index) + 1
    return text[line_start:index + 1]


# --- scalars -----------------------------------------------------------------------

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False,
          "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_INT_OCT = re.compile(r"0o[0-7]+\Z")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_FLOAT_SPECIAL = {".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
                  "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
                  "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
                  ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}
_NUMBER_START = frozenset("0123456789+-.")

_CORE = "tag:yaml.org,2002:"
_CORE_TAGS = frozenset({_CORE + t for t in ("str", "int", "float", "bool", "null")})


def _plain(text: str) -> Any:
    """Resolve a plain scalar with the YAML 1.2 core schema.

    Raises :class:`ValueError` for an integer too long to convert.
    """
    if not text or text[0] in _NUMBER_START or text[0] in "~nNtTfF":
        if text in _NULLS:
            return None
        if text in _BOOLS:
            return _BOOLS[text]
        if text and text[0] in _NUMBER_START:
            if len(text) > MAX_INT_CHARS and (
                    _INT.match(text) or _INT_OCT.match(text) or _INT_HEX.match(text)):
                raise ValueError(f"{len(text)} characters")
            if _INT.match(text):
                return int(text)
            if _INT_OCT.match(text):
                return int(text[2:], 8)
            if _INT_HEX.match(text):
                return int(text[2:], 16)
            if _FLOAT.match(text):
                return float(text)
            if text in _FLOAT_SPECIAL:
                return _FLOAT_SPECIAL[text]
    return text


def _tagged(tag: str, text: str) -> Any:
    """A scalar with an explicit core tag; None when the text doesn't fit the tag."""
    kind = tag[len(_CORE):]
    if kind == "str":
        return text
    value = _plain(text)
    if kind == "null":
        return None if value is None else _BAD
    if kind == "bool":
        return value if isinstance(value, bool) else _BAD
    if kind == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else _BAD
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _BAD
    try:
        return float(value)
    except OverflowError:  # an integer beyond the largest float
        return _BAD


_BAD = object()
_NO_KEY = object()
_BAD_KEY = object()


# --- the event fold ----------------------------------------------------------------

@dataclass
class _Anchor:
    value: Any
    size: int
    raw: str | None  # source text, when the anchored value is a scalar (usable as a key)


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_col", "key_line", "merges", "size")

    def __init__(self, container: LMap | LList, anchor: str | None) -> None:
        self.container = container
        self.anchor = anchor
        self.size = 1
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.key_col = 0
        self.merges: list[tuple[Any, int, int]] = []


class _Builder:
    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        self.anchors: dict[str, _Anchor] = {}
        self.open_anchors: set[str] = set()
        self.expanded = 0

    def fatal(self, message: str, line: int, col: int) -> _Fatal:
        self.problems.append(Problem(message, self.file, line, col))
        return _Fatal()

    def error(self, message: str, line: int, col: int) -> None:
        self.problems.append(Problem(message, self.file, line, col))

    def run(self, text: str) -> Any:
        parser = _parser(text)
        try:
            return self.fold(parser.get_event)
        finally:
            parser.dispose()

    def fold(self, next_event: Callable[[], Any]) -> Any:  # long: the hot loop, kept inline
        # The hot loop of config loading: a scalar in a list or a mapping is by far
        # the most common event, so that path is written out inline.
        stack: list[_Frame] = []
        documents = 0
        root: Any = None
        file = self.file
        scalar_event = ev.ScalarEvent
        plain = _plain
        no_key = _NO_KEY
        # A large config repeats the same few words and names (``read``, a field written
        # in every set) hundreds of thousands of times, and writes several events on
        # each line: one string per text and one int per line keep it a third smaller.
        intern = sys.intern
        line = 0
        while (event := next_event()) is not None:
            mark = event.start_mark
            if mark.line + 1 != line:
                line = mark.line + 1
            col = mark.column + 1
            cls = type(event)
            if cls is scalar_event:
                raw = intern(event.value)
                try:
                    if event.tag is None and event.implicit[0]:
                        value = plain(raw)
                    else:
                        value = self.scalar(event, line, col)
                except ValueError:
                    self.error(f"an integer written with {len(raw):,} characters is too long "
                               f"(at most {MAX_INT_CHARS:,}); quote it if it is text", line, col)
                    value = raw
                if event.anchor is not None:
                    self.anchors[event.anchor] = _Anchor(value, 1, raw)
                if not stack:
                    root = value
                    continue
                frame = stack[-1]
                container = frame.container
                if container.__class__ is LList:
                    frame.size += 1
                    container.add(value, line, col)
                elif frame.key is no_key and raw != "<<":
                    frame.size += 1
                    frame.key = raw
                    frame.key_line = line
                    frame.key_col = col
                else:
                    self.add(frame, value, 1, line, col, raw, event)
            elif cls is ev.MappingStartEvent or cls is ev.SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    raise self.fatal(f"nesting deeper than {MAX_DEPTH} levels", line, col)
                is_map = cls is ev.MappingStartEvent
                if event.tag is not None:
                    self.check_tag(event, line, col, "mapping" if is_map else "sequence")
                new: LMap | LList = LMap(file, line, col) if is_map else LList(file, line, col)
                anchor = event.anchor
                if anchor is not None:
                    self.open_anchors.add(anchor)
                stack.append(_Frame(new, anchor))
            elif cls is ev.MappingEndEvent or cls is ev.SequenceEndEvent:
                frame = stack.pop()
                if frame.merges:
                    self.apply_merges(frame)
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                    self.anchors[frame.anchor] = _Anchor(frame.container, frame.size, None)
                c = frame.container
                if stack:
                    self.add(stack[-1], c, frame.size, c.line, c.col, None, None)
                else:
                    root = c
            elif cls is ev.AliasEvent:
                value = self.alias(event, stack, line, col)
                if not stack:
                    root = value
            elif cls is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self.fatal("a file may hold only one YAML document; "
                                     "put the next one in its own file", line, col)
        return root

    def check_tag(self, event: Any, line: int, col: int, kind: str) -> None:
        tag = event.tag
        if tag is not None and tag not in ("!", _CORE + ("map" if kind == "mapping" else "seq")):
            self.error(f"tag {_short_tag(tag)} is not supported", line, col)

    def scalar(self, event: ev.ScalarEvent, line: int, col: int) -> Any:
        text = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if event.implicit[0] and tag is None:
                return _plain(text)
            return text
        if tag in _CORE_TAGS:
            value = _tagged(tag, text)
            if value is _BAD:
                self.error(f"{q(text)} is not a valid {_short_tag(tag)}", line, col)
                return text
            return value
        self.error(f"tag {_short_tag(tag)} is not supported", line, col)
        return text

    def alias(self, event: ev.AliasEvent, stack: list[_Frame], line: int, col: int) -> Any:
        name = event.anchor
        if name is None:  # pragma: no cover - libyaml always names an alias
            raise self.fatal("alias without a name", line, col)
        if name in self.open_anchors:
            raise self.fatal(f"alias *{name} refers to a value that contains it "
                             "(recursive alias)", line, col)
        anchor = self.anchors.get(name)
        if anchor is None:
            raise self.fatal(f"alias *{name} has no anchor &{name} before it", line, col)
        self.expanded += anchor.size
        if self.expanded > MAX_ALIAS_NODES:
            raise self.fatal(
                f"aliases expand to more than {MAX_ALIAS_NODES} values; refusing to "
                f"expand *{name} (a \"billion laughs\" document?)", line, col)
        if stack:
            self.add(stack[-1], anchor.value, anchor.size, line, col, anchor.raw, None)
        return anchor.value

    def add(self, frame: _Frame, value: Any, size: int, line: int, col: int,
            raw: str | None, event: Any) -> None:
        frame.size += size
        container = frame.container
        if isinstance(container, LList):
            container.add(value, line, col)
            return
        key = frame.key
        if key is _NO_KEY:
            if raw is None:
                self.error(f"a mapping key must be a plain name, not {kind_of(value)}",
                           line, col)
                frame.key = _BAD_KEY
            elif raw == "<<" and event is not None and event.implicit[0] and event.tag is None:
                frame.key = _MERGE
            else:
                frame.key = raw
            frame.key_line = line
            frame.key_col = col
            return
        frame.key = _NO_KEY
        if key is _BAD_KEY:
            return
        if key is _MERGE:
            frame.merges.append((value, line, col))
            return
        if key in container:
            first = container.pos[key]
            self.error(f"duplicate key {q(key)} (first at line {first[0]}, column {first[1]})",
                       frame.key_line, frame.key_col)
            return
        container[key] = value
        container.pos[key] = (frame.key_line, frame.key_col, line, col)

    def apply_merges(self, frame: _Frame) -> None:
        # YAML merge keys (`<<: *base`): keys written in the mapping win over merged
        # ones, and earlier merged mappings win over later ones.
        target = frame.container
        assert isinstance(target, LMap)
        for value, line, col in frame.merges:
            sources = value if isinstance(value, LList) else [value]
            for source in sources:
                if not isinstance(source, LMap):
                    self.error(f"<< merges mappings only, not {kind_of(source)}", line, col)
                    continue
                for key, item in source.items():
                    if key not in target:
                        target[key] = item
                        target.pos[key] = source.pos[key]


_MERGE = object()


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
