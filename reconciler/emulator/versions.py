"""The API versions the emulator serves, and how their URLs look."""

from __future__ import annotations

import re

# The versions a real org serves on 2026-11-29: 31.0 (Summer '14) to 68.0 (Winter '27).
# 7.0-30.0 are retired: REST answers 410 for them; a version not released yet is 404.
MIN_VERSION, MAX_VERSION = 31, 68
#: ``/services/data/vXX.X/rest``: the major, the minor and the resource path.
VERSION_RE = re.compile(r"^/services/data/v(\d+)\.(\d)(/.*)?$")


def release_name(major: int) -> str:
    """The release an API version came with, as ``/services/data/`` labels it.

    Three releases a year since Winter '15 (32.0): Winter, Spring, Summer.
    """
    k = major - 32
    return f"{('Winter', 'Spring', 'Summer')[k % 3]} '{15 + k // 3:02d}"

