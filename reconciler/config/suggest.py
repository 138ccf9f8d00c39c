""""Did you mean …" for misspelt keys and names, and quoting of what problems echo."""

from __future__ import annotations

import difflib
import heapq
import json
import re
from collections.abc import Iterable

__all__ = ["SUGGESTION_LIMIT", "Names", "Suggester", "bare", "close_match", "did_you_mean", "q"]

# Longer echoed values are cut in the middle: a problem stays one readable line.
MAX_QUOTED = 120
# json.dumps escapes C0 controls; these also break or recolour a line: DEL, the C1
# controls (CSI among them), line and paragraph separators, bidi overrides and
# other invisible format characters.
_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")

# A full difflib comparison costs tens of microseconds per candidate; above this many
# candidates they are first ranked by shared letter pairs and only the best compared.
_COMPARED = 30
_REMEMBERED = 1_000
# "Did you mean" searches per run: past that, problems come without suggestions.
SUGGESTION_LIMIT = 100


def q(text: str) -> str:
    """``text`` in double quotes, control characters escaped, very long text shortened.

    Every problem must print as one line, whatever a key or value holds, and must not
    be able to pass for another problem line.
    """
    if len(text) > MAX_QUOTED:
        half = MAX_QUOTED // 2
        text = f"{text[:half]}…({len(text) - 2 * half} more characters)…{text[-half:]}"
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'  # the common case, which needs no escaping
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def bare(text: str) -> str:
    """``text`` unquoted when it prints as itself, else quoted as :func:`q` does."""
    quoted = q(text)
    return text if quoted[1:-1] == text else quoted


def _pairs(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1))


class Names:
    """Candidate names, indexed once to be asked about many times.

    A config can declare thousands of variables or permission sets and misspell as
    many references: scanning every candidate for every question is quadratic.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(dict.fromkeys(names))
        self._by_fold: dict[str, list[str]] = {}
        self._by_length: dict[int, list[str]] = {}
        for name in self.names:
            self._by_fold.setdefault(name.casefold(), []).append(name)
            self._by_length.setdefault(len(name), []).append(name)
        self._pairs: dict[str, frozenset[str]] = {}
        self._asked: dict[tuple[str, float], str | None] = {}

    def same_but_case(self, word: str) -> str | None:
        """A name other than ``word`` that differs from it only in case, if any."""
        for name in self._by_fold.get(word.casefold(), ()):
            if name != word:
                return name
        return None

    def close(self, word: str, cutoff: float = 0.6) -> str | None:
        """The name closest to ``word``, if any is close enough.

        A name that differs only in case always wins: that is the commonest slip
        with Salesforce names. Otherwise difflib's ratio decides, then the same
        comparison ignoring case.
        """
        twin = self.same_but_case(word)
        if twin is not None:
            return twin
        key = (word, cutoff)
        if key in self._asked:
            return self._asked[key]
        found = self._search(word, cutoff)
        # Remembered for a name asked about again (one set referenced by many users);
        # bounded, as the language's own Names live as long as the process.
        if len(self._asked) < _REMEMBERED:
            self._asked[key] = found
        return found

    def _search(self, word: str, cutoff: float) -> str | None:
        pool = self._pool(word, cutoff)
        matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
        if not matches:
            by_fold = {c.casefold(): c for c in pool}
            matches = [by_fold[m] for m in difflib.get_close_matches(
                word.casefold(), by_fold, n=1, cutoff=cutoff)]
        return matches[0] if matches else None

    def _pool(self, word: str, cutoff: float) -> list[str]:
        """The candidates worth a full comparison, in their original order."""
        size = len(word)
        # A ratio is at most 2·min(len)/(sum of lengths) (difflib's real_quick_ratio).
        pool = [name for length, names in self._by_length.items()
                if length + size and 2 * min(length, size) / (length + size) >= cutoff
                for name in names if name != word]
        if len(pool) <= _COMPARED:
            return pool
        wanted = _pairs(word.casefold())
        order = {name: i for i, name in enumerate(pool)}
        best = heapq.nlargest(_COMPARED, pool,
                              key=lambda name: len(wanted & self._pairs_of(name)))
        return sorted(best, key=order.__getitem__)

    def _pairs_of(self, name: str) -> frozenset[str]:
        pairs = self._pairs.get(name)
        if pairs is None:
            pairs = self._pairs[name] = _pairs(name.casefold())
        return pairs


class Suggester:
    """"Did you mean" within a budget, for one run.

    Each search is bounded, but 100,000 misspelt keys would still take minutes;
    after :data:`SUGGESTION_LIMIT` searches only names that differ in case alone
    (a dictionary lookup) are still suggested.
    """

    def __init__(self, limit: int = SUGGESTION_LIMIT) -> None:
        self.left = limit

    def close(self, word: str, names: Names, cutoff: float = 0.6) -> str | None:
        """:meth:`Names.close` while the budget lasts."""
        twin = names.same_but_case(word)
        if twin is not None or self.left <= 0:
            return twin
        self.left -= 1
        return names.close(word, cutoff)

    def did_you_mean(self, word: str, names: Names, prefix: str = "") -> str:
        """``'; did you mean "x"?'`` for the closest name, or ``""``."""
        match = self.close(word, names)
        return f"; did you mean {q(prefix + match)}?" if match else ""


def close_match(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate closest to ``word``, if any is close enough (see :meth:`Names.close`)."""
    return Names(candidates).close(word, cutoff)


def did_you_mean(word: str, candidates: Iterable[str], prefix: str = "") -> str:
    """``'; did you mean "x"?'`` for the closest candidate, or ``""``."""
    match = close_match(word, candidates)
    return f"; did you mean {q(prefix + match)}?" if match else ""
