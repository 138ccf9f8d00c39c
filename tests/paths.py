"""Where the tests find the repository and the real Salesforce data beside it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    """``shared/`` beside the repository. The mutation runs copy the tests one level
    down (``mutants/``), so the nearest ancestor holding it is taken."""
    for parent in REPO.parents:
        if (parent / "shared" / "real-salesforce").is_dir():
            return parent / "shared"
    return REPO.parent / "shared"


SHARED = _shared()
