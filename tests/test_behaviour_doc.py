"""docs/salesforce-behaviour.md names, for every behaviour, the test that pins it: each
name must still be a test, or the page would send a reader to nothing."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "salesforce-behaviour.md"


def test_every_test_the_behaviour_page_names_exists() -> None:
    refs = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)", DOC.read_text()))
    assert len(refs) > 100
    missing = sorted(f"{path}::{name}" for path, name in refs
                     if not (REPO / path).is_file()
                     or not re.search(rf"^\s*def {name}\(", (REPO / path).read_text(), re.M))
    assert missing == []
