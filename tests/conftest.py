"""Test-wide settings: property tests explore at random locally, replay a fixed
sequence of examples on CI (``CI`` set), so a CI run is reproducible."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
