"""Rules for SetupEntityAccess: what a permission set gives access to among Apex
classes, Visualforce pages, custom permissions, connected apps and apps.

Sources and confidence: docs/salesforce-behaviour.md, "Setup-entity access".
"""

from __future__ import annotations

from functools import partial

from reconciler.emulator.apierror import bad_request
from reconciler.emulator.rules.lookups import Hooks, OrgView, not_platform_owned, set_name
from reconciler.emulator.sobjects import SETUP_ENTITY_SOBJECTS
from reconciler.emulator.store import Record


def entity_name(sobject: str, rec: Record) -> str:
    """A setup entity's name as metadata and the reconciler spell it: its API name,
    ``namespace__Name`` when a managed package brought it."""
    name = str(rec.get(SETUP_ENTITY_SOBJECTS[sobject][1]))
    namespace = rec.get("NamespacePrefix")
    return f"{namespace}__{name}" if namespace else name


def _parent(org: OrgView, rec: Record) -> Record:
    got = org.get(rec["ParentId"])
    assert got is not None  # the reference was checked on the way in
    return got[1]


def _before_create(org: OrgView, rec: Record, actor_id: str) -> None:
    # The Id was checked on the way in: it names a record of one of the entity sObjects
    # (anything else is INVALID_CROSS_REFERENCE_KEY), whose type the row records.
    target = org.get(rec["SetupEntityId"])
    assert target is not None
    rec["SetupEntityType"] = SETUP_ENTITY_SOBJECTS[target[0]][0]
    ps = _parent(org, rec)
    if ps.get("PermissionSetGroupId"):
        not_platform_owned(ps, "edit")
    existing = org.where("SetupEntityAccess", ParentId=rec["ParentId"],
                         SetupEntityId=rec["SetupEntityId"])
    if existing:
        raise bad_request("DUPLICATE_VALUE",
                          "duplicate value found: SetupEntityId duplicates value on record "
                          f"with id: {existing[0]['Id']}", [])


def _audit(verb: str, org: OrgView, rec: Record, actor_id: str) -> None:
    target = org.get(rec["SetupEntityId"])
    assert target is not None  # entities are deployed, never deleted through the API
    org.audit(f"PermSetSetupEntity{verb}", "Permission Sets",
              f"Permission set {set_name(org, rec['ParentId'])}: {verb.lower()} access to "
              f"{rec['SetupEntityType']} {entity_name(*target)}", actor_id)


# A group's own set never holds access rows (creating one is refused), so deleting one
# needs no check of its own.
HOOKS = Hooks(
    before_create={"SetupEntityAccess": _before_create},
    after_create={"SetupEntityAccess": partial(_audit, "Added")},
    after_delete={"SetupEntityAccess": partial(_audit, "Removed")},
)
