"""A permission set's setup-entity access in the config language: the lists of connected
apps, Apex classes, custom permissions, Visualforce pages and apps it gives access to
(``SetupEntityAccess`` rows; the keys are :data:`reconciler.model.SETUP_ENTITY_TYPES`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from reconciler.config.fields import Distinct, Text

__all__ = ["SetupEntityKeys"]

# An API name, a managed package's with its namespace: a letter first, then letters,
# digits and single underscores; ``ns__Name``.
_PART = r"[A-Za-z](?:_?[A-Za-z0-9])*"
ApiName = Annotated[str, Text(
    max_len=80, pattern=rf"^(?:{_PART}__)?{_PART}$", interpolate=False,
    shape='is not an API name like "Orders_API" (a managed package\'s: "ns__Name")')]
# A connected app goes by its name as Setup shows it, spaces and all.
AppName = Annotated[str, Text(
    max_len=80, pattern=r"^\S(?:.*\S)?$", interpolate=False,
    shape="is not a connected app's name (no spaces before or after it)")]


class SetupEntityKeys:
    """The setup-entity lists of a permission set (a base of its record model)."""

    connected_apps: Annotated[list[AppName], Distinct(fold=True)] = Field(
        [], description="Connected apps the set gives access to, by name as Setup shows "
                        "it (App Manager).")
    apex_classes: Annotated[list[ApiName], Distinct(fold=True)] = Field(
        [], description="Apex classes the set gives access to (e.g. Apex REST classes).")
    custom_permissions: Annotated[list[ApiName], Distinct(fold=True)] = Field(
        [], description="Custom permissions the set enables, by API name.")
    visualforce_pages: Annotated[list[ApiName], Distinct(fold=True)] = Field(
        [], description="Visualforce pages the set gives access to, by API name.")
    apps: Annotated[list[ApiName], Distinct(fold=True)] = Field(
        [], description="Apps the set makes visible (application visibility), by API name.")
