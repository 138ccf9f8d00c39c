"""The REST resources of one org: query, sObjects (describe, records, passwords),
limits, the collections and composite resources (``composite.py``) and Bulk API 2.0
ingest jobs (``bulk.py``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.apierror import bad_request, method_not_allowed, not_found, row_locked
from reconciler.emulator.bulk import BulkIngest
from reconciler.emulator.composite import COLLECTION_LIMIT, Composite
from reconciler.emulator.faults import Fault, Faults
from reconciler.emulator.listener import Reply
from reconciler.emulator.org import Org
from reconciler.emulator.seed import set_password


class RestApi:
    """``/services/data/vXX.X/...`` once the caller is authenticated and counted."""

    def __init__(self, org: Org, faults: Faults) -> None:
        self.org = org
        self.batches = Composite(org, self.api)
        self.ingest = BulkIngest(org, self.batches, faults)

    def api(self, method: str, rest: str, query: Mapping[str, str], body: Any, actor: str,
            version: str, headers: Mapping[str, str],
            lock_fault: Fault | None = None) -> Reply:
        """Answer ``rest`` (the path after the version); composite subrequests come here
        too. ``lock_fault`` answers UNABLE_TO_LOCK_ROW (an injected fault)."""
        parts = rest.split("/") if rest else []
        head = parts[0] if parts else ""
        if not parts:
            return Reply(200, {name: f"/services/data/v{version}/{name}" for name in
                               ("sobjects", "query", "queryAll", "composite", "limits")})
        # Composite and collections answer a lock per record or per subrequest.
        if lock_fault is not None and head != "composite":
            record_id = parts[2] if head == "sobjects" and len(parts) == 3 else None
            raise row_locked(record_id, lock_fault.message)
        if head == "limits" and len(parts) == 1 and method == "GET":
            return Reply(200, self.org.limits())
        if head in ("query", "queryAll") and method == "GET":
            return self._query(head, parts, query, actor, version, headers)
        if head == "sobjects":
            return self._sobjects(method, parts[1:], query, body, actor, version)
        if head == "composite":
            if len(parts) >= 2 and parts[1] == "sobjects":
                return self.batches.collections(method, parts[2:], query, body, actor, version,
                                         lock_fault)
            if len(parts) == 1 and method == "POST":
                return self.batches.composite(body, actor, version, headers, lock_fault)
        if head == "jobs" and len(parts) >= 2 and parts[1] == "ingest":
            return self.ingest.api(method, parts[2:], body, actor, version)
        raise not_found()

    def _query(self, head: str, parts: list[str], query: Mapping[str, str], actor: str,
               version: str, headers: Mapping[str, str]) -> Reply:
        include_deleted = head == "queryAll"
        batch = _batch_size(headers.get("sforce-query-options", ""))
        if len(parts) == 2:
            page = self.org.query_more(parts[1], api_version=version,
                                       include_deleted=include_deleted, batch_size=batch)
            return Reply(200, page)
        if len(parts) != 1 or "q" not in query:
            raise bad_request("MALFORMED_QUERY", "A query string (q=...) is required")
        if query.get("columns", "").lower() == "true":
            return Reply(200, self.org.query_columns(query["q"], actor_id=actor))
        return Reply(200, self.org.query(query["q"], api_version=version,
                                         include_deleted=include_deleted, batch_size=batch,
                                         actor_id=actor))

    def _sobjects(self, method: str, parts: list[str], query: Mapping[str, str], body: Any,
                  actor: str, version: str) -> Reply:
        if not parts:
            if method != "GET":
                raise method_not_allowed(method, "GET")
            return Reply(200, self._describe_global(version))
        sobject = self.org.sobject(parts[0])
        if len(parts) == 1:
            if method == "GET":
                return Reply(200, {"objectDescribe": _describe_summary(sobject, version),
                                   "recentItems": []})
            if method == "POST":
                rec = self.org.create(sobject.name, _record_body(body), actor)
                return Reply(201, {"id": rec["Id"], "success": True, "errors": []})
            raise method_not_allowed(method, "GET, POST")
        if len(parts) == 2 and parts[1] == "describe":
            if method != "GET":
                raise method_not_allowed(method, "GET")
            return Reply(200, _describe(sobject, version))
        record_id = parts[1]
        if len(parts) == 3 and parts[2] == "password" and sobject.name == "User":
            return self._password(method, record_id, body)
        if len(parts) != 2:
            raise not_found()
        if method == "GET":
            fields = query["fields"].split(",") if query.get("fields") else None
            rec = self.org.retrieve(sobject.name, record_id, fields)
            rec["attributes"]["url"] = f"/services/data/v{version}/sobjects/{sobject.name}/" \
                                       f"{rec.get('Id') or record_id}"
            return Reply(200, rec)
        if method == "PATCH":
            self.org.update(sobject.name, record_id, _record_body(body), actor)
            return Reply(204)
        if method == "DELETE":
            self.org.delete(sobject.name, record_id, actor)
            return Reply(204)
        raise method_not_allowed(method, "GET, PATCH, DELETE")

    def _password(self, method: str, user_id: str, body: Any) -> Reply:
        got = self.org.get(user_id)
        if got is None or got[0] != "User":
            raise not_found()
        if method == "GET":
            return Reply(200, {"isExpired": False})
        if method == "POST":
            new = (body or {}).get("NewPassword") if isinstance(body, dict) else None
            if not isinstance(new, str) or len(new) < 8:
                raise bad_request("INVALID_NEW_PASSWORD",
                                  "Your password must be at least 8 characters long.")
            with self.org.lock:
                set_password(self.org, got[1]["Id"], new)
            return Reply(204)
        if method == "DELETE":
            with self.org.lock:
                set_password(self.org, got[1]["Id"], None)
            return Reply(200, {"NewPassword": None})
        raise method_not_allowed(method, "GET, POST, DELETE")

    def _describe_global(self, version: str) -> dict[str, Any]:
        return {"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT,
                "sobjects": [_describe_summary(s, version) for s in self.org.catalog]}


def _batch_size(header: str) -> int:
    m = re.search(r"batchSize\s*=\s*(\d+)", header)
    if not m:
        return 2000
    return max(200, min(2000, int(m.group(1))))


def _record_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _describe_summary(s: Any, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{s.name}"
    return {"name": s.name, "label": s.label, "labelPlural": s.label_plural,
            "keyPrefix": s.key_prefix, "custom": s.custom, "createable": s.createable,
            "updateable": s.updateable, "deletable": s.deletable, "queryable": s.queryable,
            "retrieveable": True, "searchable": not s.setup, "layoutable": not s.setup,
            "urls": {"sobject": base, "describe": base + "/describe",
                     "rowTemplate": base + "/{ID}"}}


def _describe(s: Any, version: str) -> dict[str, Any]:
    out = _describe_summary(s, version)
    out["fields"] = [{
        "name": f.name, "label": f.label or f.name, "type": f.type, "length": f.length,
        "createable": f.createable, "updateable": f.updateable, "nillable": f.nillable,
        "defaultedOnCreate": f.default is not None or not f.createable,
        "custom": f.custom, "permissionable": f.permissionable, "filterable": True,
        "calculated": f.calculated, "autoNumber": f.auto_number,
        "cascadeDelete": f.relationship_order is not None,
        "relationshipOrder": f.relationship_order,
        "sortable": f.type not in ("textarea", "address"),
        "referenceTo": list(f.reference_to), "relationshipName": f.relationship_name,
        "restrictedPicklist": f.restricted_picklist,
        "picklistValues": [{"value": v, "label": v, "active": True,
                            "defaultValue": v == f.default} for v in f.picklist],
    } for f in s]
    out["childRelationships"] = [{"childSObject": c.child_sobject, "field": c.field,
                                  "relationshipName": c.name}
                                 for c in s.child_relationships.values()]
    return out

