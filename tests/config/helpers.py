"""Helpers shared by the config tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import Config, load_config
from reconciler.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "fixtures" / "configs"
EXAMPLES = ("integration-user", "multi-env", "all-features")


def load(path: Path | str, *, environ: Mapping[str, str] | None = None, **kw: Any) -> Config:
    """load_config with an empty environment unless one is given."""
    return load_config(Path(path), environ={} if environ is None else environ, **kw)


def problems(path: Path | str, *, environ: Mapping[str, str] | None = None,
             **kw: Any) -> list[str]:
    """The problem lines load_config reports; fails the test if loading succeeds."""
    with pytest.raises(ConfigError) as info:
        load(path, environ=environ, **kw)
    return [str(p) for p in info.value.problems]


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write files under root and return root."""
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root
