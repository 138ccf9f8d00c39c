"""The desired-state language: YAML files → a validated :class:`Config`.

Public surface::

    load_config(path, *, variables=..., var_files=..., environ=...) -> Config
    config_json_schema() -> dict

Layers, each in its own module: :mod:`.yamlload` (safe YAML with positions),
:mod:`.schema` and :mod:`.fields` (the language as pydantic models, once, for
validation and JSON Schema), :mod:`.validate` (pydantic's errors as located
problems), :mod:`.interpolate` (``${var.…}``/``${env.…}``), :mod:`.build` (model
objects and cross-resource checks), :mod:`.loader` (files, merge, variables).
"""

from reconciler.config.desired import Config
from reconciler.config.loader import config_json_schema, declared_orgs, load_config
from reconciler.config.types import (
    DEFAULT_API_VERSION,
    AuthConfig,
    Lifecycle,
    Location,
    OrgConfig,
    Reference,
    Scope,
    Secret,
    Settings,
    UserDefaults,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "AuthConfig",
    "Config",
    "Lifecycle",
    "Location",
    "OrgConfig",
    "Reference",
    "Scope",
    "Secret",
    "Settings",
    "UserDefaults",
    "config_json_schema",
    "declared_orgs",
    "load_config",
]
