""""Did you mean …" for misspelt keys and names."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable

__all__ = ["close_match", "did_you_mean", "q"]


def q(text: str) -> str:
    """``text`` in double quotes, with control characters escaped.

    Every problem must print as one line, whatever a key or value holds.
    """
    return json.dumps(text, ensure_ascii=False)


def close_match(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate closest to ``word``, if any is close enough.

    A candidate that differs only in case always wins: that is the commonest slip
    with Salesforce names.
    """
    pool = [c for c in candidates if c != word]
    folded = word.casefold()
    for candidate in pool:
        if candidate.casefold() == folded:
            return candidate
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    if not matches:
        by_fold = {c.casefold(): c for c in pool}
        matches = [by_fold[m] for m in difflib.get_close_matches(folded, by_fold, n=1,
                                                                  cutoff=cutoff)]
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str], prefix: str = "") -> str:
    """``'; did you mean "x"?'`` for the closest candidate, or ``""``."""
    match = close_match(word, candidates)
    return f"; did you mean {q(prefix + match)}?" if match else ""
