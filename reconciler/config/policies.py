"""The ``policies:`` block of the config language: rule sets, rules of one's own, waivers.

Shape only: what the rules mean, and the built-in rule sets, are :mod:`reconciler.policy`.
Patterns (``*`` any run of characters, ``?`` one) compare without regard to case, as
Salesforce compares names. See ``docs/policy.md``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from reconciler.config.fields import Distinct, Finding, Text, findings
from reconciler.config.record import Record

__all__ = ["BaselineOptions", "PoliciesBlock", "PolicyRule", "PolicyScope", "Waiver"]

# Mapping keys are Text, so that a wrong one is worded like any other config key.
#: Built-in rule sets by name (their rules: :mod:`reconciler.policy.baseline`).
RuleSetName = Annotated[str, Text(pattern=r"^integration-baseline$", interpolate=False,
                                  shape="is not a built-in rule set: integration-baseline")]
ObjectWord = Literal["read", "create", "edit", "delete", "view_all", "modify_all"]
SetupKind = Annotated[str, Text(
    pattern=r"^(?:connected_apps|apex_classes|custom_permissions|visualforce_pages|apps)$",
    interpolate=False, shape="is not a kind of setup entity: connected_apps, apex_classes, "
                             "custom_permissions, visualforce_pages or apps")]
Pattern = Annotated[str, Text(
    pattern=r"^[A-Za-z0-9_.*?@+-]+$", interpolate=False,
    shape="is not a name pattern: letters, digits, _ . @ + - and the wildcards * and ?")]
Patterns = Annotated[list[Pattern], Distinct(fold=True)]
RuleId = Annotated[str, Text(
    pattern=r"^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$", interpolate=False,
    shape="is not a rule id: lower-case letters, digits, - and _ (no dots: dotted ids "
          "are the built-in rule sets')")]
_DATE = Text(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", interpolate=False,
             shape='is not a date like "2027-03-31"')


class PolicyScope(Record):
    """Which users and permission sets a rule covers; every key given must match."""

    licenses: Annotated[list[Annotated[str, Text()]], Distinct(fold=True)] = Field(
        [], description="User licenses the user must hold, like Salesforce Integration.")
    users: Patterns = Field([], description="Username patterns, like *@acme.com.integration.")
    permission_sets: Patterns = Field(
        [], description="Only access granted through these permission sets counts (and only "
                        "these sets need a description).")


class BaselineOptions(Record):
    """Options of a built-in rule set."""

    allow_view_all: Patterns = Field(
        [], description="Objects (patterns) on which View All and Modify All are allowed.")
    scope: PolicyScope | None = Field(
        None, description="Whom the set covers (default: users on the Salesforce Integration "
                          "license).")


class PolicyRule(Record):
    """A rule of one's own: each key given is one more check."""

    reason: Annotated[str, Text(max_len=500)] = Field(
        description="Why the rule exists; shown with every violation.")
    source: Annotated[str | None, Text(pattern=r"^https?://\S+$", interpolate=False,
                                       shape="is not an http(s) URL")] = Field(
        None, description="Where the rule comes from (a security guide, a ticket).")
    scope: PolicyScope | None = None
    deny_system_permissions: Patterns = Field(
        [], description="System permissions (patterns) no user in scope may hold.")
    allow_system_permissions: Patterns | None = Field(
        None, description="The only system permissions (patterns) users in scope may hold.")
    deny_objects: dict[Pattern, Annotated[list[ObjectWord], Distinct()]] = Field(
        {}, description="Object rights no user in scope may hold, by object pattern; a right "
                        "implied by one held counts (modify_all holds delete).")
    allow_objects: dict[Pattern, Annotated[list[ObjectWord], Distinct()]] | None = Field(
        None, description="The only object rights users in scope may hold, by object pattern "
                          "(with the rights they imply).")
    deny_field_edit: Patterns = Field(
        [], description='Fields (Object.Field patterns, like "*.OwnerId") no user in scope '
                        "may edit.")
    deny_setup_entities: dict[SetupKind, Patterns] = Field(
        {}, description="Setup entities (by kind, name patterns) no user in scope may use.")
    allow_setup_entities: dict[SetupKind, Patterns] | None = Field(
        None, description="The only setup entities users in scope may use, by kind.")
    max_objects_with_edit: Annotated[int, Field(ge=0)] | None = Field(
        None, description="At most this many objects with edit per user.")
    require_description: bool = Field(
        False, description="Every permission set the config declares (in scope) has a "
                           "description.")

    @model_validator(mode="after")
    def _checks_something(self) -> PolicyRule:
        checks = set(PolicyRule.model_fields) - {"reason", "source", "scope"}
        if not (self.model_fields_set & checks):
            raise findings([Finding((), "a rule needs at least one check: "
                                        + ", ".join(sorted(checks)))])
        return self


class Waiver(Record):
    """A rule switched off for one user or one permission set."""

    rule: Annotated[str, Text(interpolate=False)] = Field(
        description="The rule's id, like integration-baseline.view-setup.")
    user: Annotated[str | None, Text(interpolate=False)] = Field(
        None, description="The username the rule is waived for.")
    permission_set: Annotated[str | None, Text(interpolate=False)] = Field(
        None, description="The permission set whose grants the rule is waived for.")
    reason: Annotated[str, Text(max_len=500)] = Field(description="Why the waiver exists.")
    expires: Annotated[str | None, _DATE] = Field(
        None, description="The last day the waiver holds; after it, it is a violation.")

    @model_validator(mode="after")
    def _one_subject(self) -> Waiver:
        found = []
        if (self.user is None) == (self.permission_set is None):
            found.append(Finding((), 'a waiver names "user" or "permission_set" (one of them)'))
        if self.expires is not None:
            try:
                date.fromisoformat(self.expires)
            except ValueError:
                found.append(Finding(("expires",), f'"{self.expires}" is not a date'))
        if found:
            raise findings(found)
        return self


class PoliciesBlock(Record):
    """Access policy, evaluated on effective access at validate, plan and drift."""

    rule_sets: dict[RuleSetName, BaselineOptions] = Field(
        {}, description="Built-in rule sets to enforce, with their options.")
    rules: dict[RuleId, PolicyRule] = Field({}, description="Rules of one's own, by id.")
    waivers: list[Waiver] = Field([], description="Rules switched off for a user or a set.")
