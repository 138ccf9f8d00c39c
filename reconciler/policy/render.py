"""A policy evaluation for people (text), programs (JSON) and code scanning (SARIF 2.1.0);
and the rules in force (``policy list``). Pure: values in, a string out."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from reconciler import __version__
from reconciler.config import Location
from reconciler.policy.evaluate import Evaluation, Violation
from reconciler.policy.rules import Rule, Waiver

__all__ = ["FORMATS", "as_json", "as_sarif", "rules_json", "rules_text", "text", "waiver_line"]

FORMATS = ("text", "json", "sarif")
_POINTS = {"config": "the config alone", "plan": "the org as the plan would leave it",
           "org": "the org as it is"}
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def waiver_line(w: Waiver) -> str:
    """One waiver in force, as every output lists it."""
    until = f"until {w.expires}" if w.expires else "no expiry"
    return f"{w.rule} waived for {w.subject()} ({until}): {w.reason}"


def text(ev: Evaluation) -> str:
    """The evaluation for a terminal or a log."""
    lines = [f"Policy on {_POINTS[ev.point]}: {_count(len(ev.rules), 'rule')} in force, "
             f"{_count(len(ev.violations), 'violation')}, {len(ev.waived)} waived."]
    lines += [f"  {v.problem()}" for v in ev.violations]
    if ev.waived:
        lines += ["", "Waived:"]
        lines += [f"  {v.problem()} [waived for {v.waiver.subject()}]"
                  for v in ev.waived if v.waiver is not None]
    lines += ["", f"Waivers in force: {len(ev.waivers)}"]
    lines += [f"  {waiver_line(w)}" for w in ev.waivers]
    return "\n".join(lines)


def _where(location: Location | None) -> str | None:
    return str(location) if location is not None else None


def _violation_json(v: Violation) -> dict[str, Any]:
    return {"rule": v.rule, "subject": v.subject, "right": v.right, "message": v.message,
            "config_location": _where(v.location), "address": v.address,
            "via": [list(p) for p in v.paths],
            **({"waived_for": v.waiver.subject()} if v.waiver is not None else {})}


def _waiver_json(w: Waiver) -> dict[str, Any]:
    return {"rule": w.rule, w.kind if w.kind == "user" else "permission_set": w.name,
            "reason": w.reason, "expires": w.expires.isoformat() if w.expires else None,
            "config_location": _where(w.location)}


def as_json(ev: Evaluation) -> str:
    """The evaluation as a JSON document, format ``reconciler-policy`` version 1."""
    return json.dumps({
        "format": "reconciler-policy", "version": 1, "point": ev.point,
        "status": "violated" if ev.violations else "clean",
        "rules": len(ev.rules),
        "violations": [_violation_json(v) for v in ev.violations],
        "waived": [_violation_json(v) for v in ev.waived],
        "waivers": [_waiver_json(w) for w in ev.waivers],
    }, indent=2, ensure_ascii=False)


def _rule_sarif(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule.id, "shortDescription": {"text": rule.title},
                           "fullDescription": {"text": rule.reason},
                           "defaultConfiguration": {"level": "error"},
                           "properties": {"scope": str(rule.scope)}}
    if rule.sources:
        out["helpUri"] = rule.sources[0]
    return out


def _uri(file: str) -> str:
    path = PurePath(file)
    return path.as_uri() if path.is_absolute() else path.as_posix()


def _result(v: Violation, index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"ruleId": v.rule, "level": "error", "message": {"text": v.message}}
    if v.rule in index:
        out["ruleIndex"] = index[v.rule]
    if v.location is not None:
        out["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(v.location.file)},
            "region": {"startLine": v.location.line, "startColumn": v.location.column}}}]
    if v.waiver is not None:
        # A waived violation is a suppressed result: code scanning shows it as dismissed.
        out["suppressions"] = [{"kind": "external", "status": "accepted",
                                "justification": v.waiver.reason}]
    return out


def as_sarif(ev: Evaluation) -> str:
    """The evaluation as a SARIF 2.1.0 log (one run), for code scanning in CI."""
    index = {r.id: i for i, r in enumerate(ev.rules)}
    run = {"tool": {"driver": {"name": "reconciler", "version": __version__,
                               "rules": [_rule_sarif(r) for r in ev.rules]}},
           "results": [_result(v, index) for v in (*ev.violations, *ev.waived)],
           "properties": {"point": ev.point,
                          "waivers": [_waiver_json(w) for w in ev.waivers]}}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]},
                      indent=2, ensure_ascii=False)


def rules_text(rules: tuple[Rule, ...], waivers: tuple[Waiver, ...]) -> str:
    """``policy list``: each rule in force with its scope, reason and source."""
    if not rules:
        return "No policy: the config has no policies: block (see docs/policy.md)."
    lines = [f"{_count(len(rules), 'rule')} in force:"]
    for rule in rules:
        lines += ["", f"  {rule.id}: {rule.title}", f"    scope: {rule.scope}",
                  f"    why: {rule.reason}"]
        lines += [f"    source: {s}" for s in rule.sources]
        if rule.location is not None:
            lines.append(f"    declared at {rule.location}")
    lines += ["", f"Waivers in force: {len(waivers)}"]
    lines += [f"  {waiver_line(w)}" for w in waivers]
    return "\n".join(lines)


def rules_json(rules: tuple[Rule, ...], waivers: tuple[Waiver, ...]) -> str:
    """``policy list --format json``."""
    return json.dumps({
        "rules": [{"id": r.id, "title": r.title, "reason": r.reason, "sources": list(r.sources),
                   "scope": str(r.scope), "config_location": _where(r.location)}
                  for r in rules],
        "waivers": [_waiver_json(w) for w in waivers]}, indent=2, ensure_ascii=False)
