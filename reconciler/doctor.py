"""``doctor``: a read-only preflight of an org, graded into a checklist.

:func:`grade` is pure: it turns the :class:`~reconciler.org.preflight.Facts` the shell
read (:func:`reconciler.org.preflight.read_facts`) and the config into a
:class:`Report` of checks, each passed, failed (with the fix) or skipped (with why).
:func:`examine` wires the two to an org of the config. The checks:

- ``login``: the configured flow logs in; a failure names the likely fix.
- ``api_version``: ``settings.api_version`` is among the versions the org serves.
- ``my_domain``: the instance is on a My Domain URL (``*.my.salesforce.com``, which
  covers sandbox, scratch and Developer Edition hosts); the client-credentials flow
  works only there. The embedded org, on loopback, needs none.
- ``permissions.<kind>``: the running user may do each kind of work the config could
  need, by the one table in :mod:`reconciler.org.permissions`.
- ``seats.integration_license`` / ``seats.integration_psl``: free seats against what
  the config's users still need.
- ``audit_trail``: the Setup Audit Trail answers a query (drift attribution reads it).
- ``objects_and_fields``: the config's objects, fields and system permissions exist and
  take the access asked, by the same checks ``plan`` runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any, Literal
from urllib.parse import urlsplit

from reconciler.checks import Checker
from reconciler.config import Config
from reconciler.live import Live
from reconciler.model import (
    INTEGRATION_PSL_LABEL,
    INTEGRATION_USER_LICENSE,
    FrozenMap,
    State,
    is_integration_psl,
    is_integration_user_license,
)
from reconciler.names import Names, canonical
from reconciler.org.discover import Seats
from reconciler.org.permissions import NEEDS, Need
from reconciler.org.preflight import Facts

__all__ = ["FORMAT", "VERSION", "Check", "Report", "as_json", "examine", "grade",
           "is_my_domain", "login_fix", "text"]

FORMAT = "reconciler-doctor"
VERSION = 1

Status = Literal["pass", "fail", "skip"]
_MY_DOMAIN_SUFFIX = ".my.salesforce.com"
_GENERIC_LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
_MY_DOMAIN_FIX = ("use the org's My Domain URL (Setup > My Domain), e.g. "
                  "https://acme.my.salesforce.com, or https://acme--uat.sandbox.my."
                  "salesforce.com for a sandbox")


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    id: str
    title: str
    status: Status
    detail: str
    fix: str | None = None
    #: Located problems behind a failure (file:line: message), one per line.
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status,
                "detail": self.detail, "fix": self.fix, "problems": list(self.problems)}


@dataclass(frozen=True)
class Report:
    """The graded checklist of one org."""

    org: str
    instance_url: str | None
    running_user: str | None
    checks: tuple[Check, ...]
    api_calls: int

    @property
    def ok(self) -> bool:
        """Whether nothing failed (the exit code is 0 then, 1 otherwise)."""
        return not any(c.status == "fail" for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        """The versioned JSON document ``doctor --json`` prints."""
        return {"format": FORMAT, "version": VERSION, "org": self.org,
                "instance_url": self.instance_url, "running_user": self.running_user,
                "ok": self.ok, "api_calls": self.api_calls,
                "checks": [c.to_json() for c in self.checks]}


def examine(config: Config, org_name: str | None) -> Report:
    """Log in to the chosen org, read what doctor needs (read-only) and grade it."""
    from reconciler.org.connect import open_org
    from reconciler.org.preflight import read_facts

    with open_org(config, org_name) as (org, client):
        facts = read_facts(config, org, client)
    return grade(config, facts)


def grade(config: Config, facts: Facts) -> Report:
    """The checklist for ``facts`` read from an org of ``config``; pure."""
    checks = [_login(facts), _my_domain(facts)]
    if facts.login_error is None:
        checks.insert(1, _api_version(facts))
    served = facts.login_error is None and facts.api_version in facts.versions
    if served:
        checks += _permissions(config, facts)
        checks += _seats(config, facts)
        checks += [_audit_trail(facts), _objects_and_fields(config, facts)]
    else:
        why = ("login failed" if facts.login_error is not None
               else f"API {facts.api_version} is not served")
        checks += [Check(kind, title, "skip", f"not checked: {why}") for kind, title in (
            ("permissions", "running user's permissions"), ("seats", "license seats"),
            ("audit_trail", "Setup Audit Trail"), ("objects_and_fields", "objects and fields"))]
    return Report(facts.org, facts.instance_url, facts.running_user, tuple(checks),
                  facts.api_calls)


# -- login, version, My Domain ---------------------------------------------------------


def _login(facts: Facts) -> Check:
    if facts.login_error is None:
        return Check("login", "login", "pass",
                     f"the {facts.flow} flow logged in as {facts.running_user}")
    return Check("login", "login", "fail", facts.login_error,
                 login_fix(facts.flow, facts.login_error, facts.login_url))


def login_fix(flow: str, error: str, login_url: str) -> str:
    """The likely fix for a failed login, from the flow and what the org answered."""
    said = error.casefold()
    if "not supported on this domain" in said or (
            flow == "client_credentials" and _host(login_url) in _GENERIC_LOGIN_HOSTS):
        return ("the client_credentials flow works only on the org's My Domain: set "
                f"login_url to it ({_MY_DOMAIN_FIX})")
    if "certificate" in said or "could not reach" in said or "connection" in said:
        return "check login_url, instance_url and ca_bundle, and that the org is reachable"
    if "invalid_client_id" in said:
        return "client_id is not the consumer key of a connected app of this org"
    if "invalid_client" in said:
        return "client_secret is not the connected app's consumer secret"
    if "client credentials user" in said:
        return ("the connected app has no Run As user: enable the client credentials flow "
                "on it and pick the integration's user (Setup > App Manager > Edit Policies)")
    return {
        "client_credentials": "check client_id and client_secret (the connected app's "
                              "consumer key and secret) and its Run As user",
        "jwt": "check that the connected app has the certificate of this private key, that "
               "the user is pre-authorized for it (admin approved users, and a permission "
               "set or profile with access to the app), and login_url",
        "password": "check username and password (with the security token appended where "
                    "the org wants one); orgs created since Summer '23 block the OAuth "
                    "username-password flow until \"Allow OAuth Username-Password Flows\" "
                    "is on (Setup > OAuth and OpenID Connect Settings): better, switch to "
                    "client_credentials",
        "access_token": "the token expired or belongs to another org: get a fresh one "
                        "(`sf org auth show-access-token`), or use flow: sf_cli",
        "sf_cli": "log the Salesforce CLI in to the org again (`sf org login web --alias "
                  "ALIAS`) and check that target_org names that alias (`sf org list`)",
    }.get(flow, "check the org's auth settings")


def _api_version(facts: Facts) -> Check:
    title = "API version"
    if "versions" in facts.errors:
        return Check("api_version", title, "fail",
                     f"can't list the versions: {facts.errors['versions']}",
                     "check that instance_url is the org's URL")
    newest = max(facts.versions, key=_version_key) if facts.versions else None
    if facts.api_version in facts.versions:
        return Check("api_version", title, "pass",
                     f"{facts.api_version} is served (newest: {newest})")
    served = (f"{min(facts.versions, key=_version_key)} to {newest}" if facts.versions
              else "none")
    return Check("api_version", title, "fail",
                 f"{facts.api_version} is not served (the org serves {served})",
                 f'set settings.api_version to one it serves, e.g. "{newest}"'
                 if newest else "check that instance_url is the org's URL")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _host(url: str | None) -> str:
    return (urlsplit(url or "").hostname or "").casefold()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def is_my_domain(url: str | None) -> bool:
    """Whether ``url`` is on a My Domain host (production, sandbox, scratch, Developer
    Edition and other partitioned hosts all end in ``.my.salesforce.com``)."""
    return _host(url).endswith(_MY_DOMAIN_SUFFIX)


def _my_domain(facts: Facts) -> Check:
    title = "My Domain"
    url = facts.instance_url or facts.configured_instance_url or facts.login_url
    if facts.emulator or _is_loopback(_host(url)):
        return Check("my_domain", title, "pass", f"{url} is the local org: no My Domain "
                     "needed")
    needs = facts.flow == "client_credentials"
    if needs and not is_my_domain(facts.login_url):
        return Check("my_domain", title, "fail",
                     f"login_url {facts.login_url} is not a My Domain URL, and the "
                     "client_credentials flow works only on the org's My Domain",
                     f"set login_url: {_MY_DOMAIN_FIX}")
    if is_my_domain(url):
        return Check("my_domain", title, "pass", f"{url} is a My Domain URL")
    required = (" (required for the client_credentials flow)" if needs else "")
    return Check("my_domain", title, "fail", f"{url} is not a My Domain URL{required}",
                 f"set instance_url and login_url: {_MY_DOMAIN_FIX}")


# -- permissions ---------------------------------------------------------------------


def _needed_kinds(config: Config) -> set[str]:
    """The kinds of work this config could ask of the org."""
    kinds = {"read"}
    if config.users:
        kinds |= {"users", "psl_assignments", "assignments"}
    if config.permission_sets:
        kinds.add("permission_sets")
    if config.permission_set_groups:
        kinds.add("groups")
    return kinds


def _permissions(config: Config, facts: Facts) -> list[Check]:
    if "permissions" in facts.errors:
        return [Check("permissions", "running user's permissions", "fail",
                      f"can't read {facts.running_user}'s permissions: "
                      f"{facts.errors['permissions']}",
                      "give the running user View Setup and Configuration (permission set "
                      "assignments are readable only with it, Assign Permission Sets or "
                      "Manage Users)")]
    needed = _needed_kinds(config)
    out = []
    for need in NEEDS:
        if need.kind == "audit_trail":
            continue  # graded by whether the trail answers, in _audit_trail
        check_id, title = f"permissions.{need.kind}", f"permission to {need.what}"
        if need.kind not in needed:
            out.append(Check(check_id, title, "skip", "this config needs none"))
        elif need.allowed(facts.permissions):
            out.append(Check(check_id, title, "pass", f"{facts.running_user} has "
                             f"{_held_label(need, facts.permissions)}"))
        else:
            out.append(Check(check_id, title, "fail",
                             f"{facts.running_user} lacks {need.label}",
                             f"give {facts.running_user} {need.label} through a permission "
                             "set (or run as a user who has it)"))
    return out


def _held_label(need: Need, held: frozenset[str]) -> str:
    have = {p.casefold() for p in held}
    names = [p for p in need.permissions if p.casefold() in have]
    return " and ".join(names)


# -- seats ---------------------------------------------------------------------------


def _license_takers(config: Config, facts: Facts) -> list[str]:
    """Active config users on the integration licence who don't hold a seat yet."""
    out = []
    for username, user in sorted(config.users.items()):
        if not user.active:
            continue
        lic = facts.profile_licenses.get(user.profile.casefold()) or user.license
        have = facts.users.get(username.casefold())
        if is_integration_user_license(lic) and not (
                have and have.active and is_integration_user_license(have.license)):
            out.append(username)
    return out


def _psl_takers(config: Config, facts: Facts) -> list[str]:
    """Config users who will hold the integration PSL and don't yet: declared, or
    implied by a declared set licensed to it (assigning that set assigns the PSL)."""
    licensed = {name.casefold() for name, ps in config.permission_sets.items()
                if is_integration_psl(ps.license)}
    out = []
    for username, user in sorted(config.users.items()):
        wants = any(is_integration_psl(p) for p in user.permission_set_licenses) or any(
            s.casefold() in licensed for s in user.permission_sets)
        have = facts.users.get(username.casefold())
        if wants and not (have and have.holds_integration_psl()):
            out.append(username)
    return out


def _seats(config: Config, facts: Facts) -> list[Check]:
    pools = (("seats.integration_license", f'"{INTEGRATION_USER_LICENSE}" user license',
              facts.integration_license, _license_takers(config, facts),
              "deactivate an integration user nobody uses (that frees its seat) or buy "
              "more seats"),
             ("seats.integration_psl", f'"{INTEGRATION_PSL_LABEL}" permission set license',
              facts.integration_psl, _psl_takers(config, facts),
              "remove the license from a user who no longer needs it, or buy more"))
    out = []
    for check_id, what, seats, takers, fix in pools:
        title = f"seats of the {what}"
        if "seats" in facts.errors:
            out.append(Check(check_id, title, "fail",
                             f"can't read the seats: {facts.errors['seats']}",
                             "give the running user View Setup and Configuration"))
        elif seats is None:
            status: Status = "fail" if takers else "pass"
            out.append(Check(check_id, title, status, f"the org has no {what}" + (
                f"; the config needs it for {', '.join(takers)}" if takers else ""),
                "ask Salesforce to provision it (Enterprise, Unlimited and Performance "
                "editions include 5 seats, Developer Edition 1)" if takers else None))
        else:
            out.append(_seat_check(check_id, title, seats, takers, fix))
    return out


def _seat_check(check_id: str, title: str, seats: Seats, takers: list[str],
                fix: str) -> Check:
    have = f"{seats.free} free ({seats.used} of {seats.total} in use)"
    if len(takers) <= seats.free:
        wanted = (f"the config needs {len(takers)} more" if takers
                  else "the config needs no more")
        return Check(check_id, title, "pass", f"{have}; {wanted}")
    return Check(check_id, title, "fail",
                 f"the config needs {len(takers)} more ({', '.join(takers)}), {have}", fix)


# -- audit trail, objects and fields ------------------------------------------------


def _audit_trail(facts: Facts) -> Check:
    title = "Setup Audit Trail"
    if "audit_trail" in facts.errors:
        need = next(n for n in NEEDS if n.kind == "audit_trail")
        return Check("audit_trail", title, "fail",
                     f"not readable: {facts.errors['audit_trail']}",
                     f"give the running user {need.label}; without it `drift` can't say "
                     "who changed what")
    return Check("audit_trail", title, "pass", "readable")


def _objects_and_fields(config: Config, facts: Facts) -> Check:
    title = "objects and fields"
    if "describe" in facts.errors:
        return Check("objects_and_fields", title, "fail",
                     f"can't describe them: {facts.errors['describe']}",
                     "give the running user View Setup and Configuration")
    # The plan's own checks, over a snapshot that knows only the catalogue.
    live = Live(state=State(users=FrozenMap(), permission_sets=FrozenMap(),
                            permission_set_groups=FrozenMap()), user_licenses=FrozenMap(),
                psls=FrozenMap(), profiles=FrozenMap(), profile_ids=FrozenMap(),
                sets=FrozenMap(), groups=FrozenMap(), ids=FrozenMap(),
                fingerprint=FrozenMap(), objects=facts.objects,
                system_permissions=facts.system_permissions)
    desired = canonical(config.state, Names(live))
    checker = Checker(config, desired, live, (), facts.running_user or "")
    checker.objects_and_fields()
    named = len(facts.objects)
    if not checker.problems:
        return Check("objects_and_fields", title, "pass",
                     f"the {named} object{'s' if named != 1 else ''} the config names exist "
                     "and take the access it asks")
    return Check("objects_and_fields", title, "fail",
                 f"{len(checker.problems)} problem{'s' if len(checker.problems) != 1 else ''}"
                 " in the config", "correct these lines, or create what they name in the org "
                 "first", tuple(str(p) for p in sorted(checker.problems,
                                                        key=lambda p: p.sort_key())))


# -- rendering -----------------------------------------------------------------------

_MARKS = {"pass": ("✓", "32"), "fail": ("✗", "31"), "skip": ("–", "2")}


def text(report: Report, *, color: bool = False) -> str:
    """The checklist as plain text: one line per check, the fix under each failure,
    the API calls it took last."""
    def paint(code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if color else s

    where = f" at {report.instance_url}" if report.instance_url else ""
    lines = [f"doctor: org {report.org}{where}"]
    for c in report.checks:
        mark, code = _MARKS[c.status]
        lines.append(f"{paint(code, mark)} {c.title}: {c.detail}")
        lines += [f"    {p}" for p in c.problems]
        if c.status == "fail" and c.fix:
            lines.append(f"    fix: {c.fix}")
    failed = sum(c.status == "fail" for c in report.checks)
    verdict = ("ready" if report.ok
               else f"not ready: {failed} check{'s' if failed != 1 else ''} failed")
    lines.append(f"{verdict}")
    lines.append(f"doctor: {report.api_calls} API call{'s' if report.api_calls != 1 else ''}")
    return "\n".join(lines)


def as_json(report: Report) -> str:
    """The report as its versioned JSON document."""
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)
