"""A session from the Salesforce CLI (``sf``): the ``sf_cli`` login flow.

The admin has already logged the CLI in to the org (``sf org login web``, ``jwt``,
``sfdx-url``…) under an alias; the reconciler asks the CLI for the org's instance URL
and a current access token and keeps no secret of its own.

- ``sf org display --target-org ALIAS --json`` gives ``instanceUrl`` (and refreshes the
  stored session first). Since plugin-org 5 it no longer shows the access token
  (``"[REDACTED] Use 'sf org auth show-access-token' to view"``, plugin-org
  ``messages/secrets-redacted.md``); older CLIs still print it there, and it is used.
- Otherwise ``sf org auth show-access-token --target-org ALIAS --json`` gives
  ``accessToken``; it also refreshes the session before answering (plugin-org
  ``lib/commands/org/auth/show-access-token.js``) and, with ``--json``, asks no question.

Asking again is how an expired session is renewed: the CLI refreshes it when the login
holds a refresh token (web and sfdx-url logins do; a bare access-token login can't).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from reconciler.errors import AuthError

#: The CLI starts slowly (Node, plugins) and may refresh the session over the network.
SF_TIMEOUT = 120.0
_REDACTED = "[REDACTED]"


def sf_session(target_org: str, *, stale: str | None = None) -> tuple[str, str]:
    """(access token, instance URL) of ``target_org`` as the Salesforce CLI holds it.

    ``stale`` is a token the org has just refused: getting it back means the CLI could
    not renew the session, which is an :class:`AuthError` saying how to log in again.
    """
    shown = _run(target_org, "org", "display")
    instance_url = shown.get("instanceUrl")
    if not isinstance(instance_url, str) or not instance_url:
        raise AuthError(f"the Salesforce CLI knows no instance URL for {target_org!r}; "
                        f"log in again with `sf org login web --alias {target_org}`")
    token = shown.get("accessToken")
    if not isinstance(token, str) or not token or token.startswith(_REDACTED):
        token = _run(target_org, "org", "auth", "show-access-token").get("accessToken")
    if not isinstance(token, str) or not token:
        raise AuthError(f"the Salesforce CLI gave no access token for {target_org!r}")
    if token == stale:
        raise AuthError(f"the session the Salesforce CLI holds for {target_org!r} has expired "
                        "and the CLI could not renew it; log in again with "
                        f"`sf org login web --alias {target_org}` (or the login you used)")
    return token, instance_url.rstrip("/")


def _run(target_org: str, *command: str) -> dict[str, Any]:
    """The ``result`` of one ``sf … --json`` command, or an AuthError in one line."""
    sf = shutil.which("sf")
    if sf is None:
        raise AuthError("the sf_cli flow needs the Salesforce CLI, and `sf` is not on PATH: "
                        "install it (npm install --global @salesforce/cli) and log in with "
                        f"`sf org login web --alias {target_org}`")
    argv = [sf, *command, "--target-org", target_org, "--json"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=SF_TIMEOUT, check=False,
                              env={**os.environ, "SF_AUTOUPDATE_DISABLE": "true"})
    except subprocess.TimeoutExpired:
        raise AuthError(f"`sf {' '.join(command)}` did not answer within {SF_TIMEOUT:.0f} "
                        "seconds") from None
    except OSError as exc:
        raise AuthError(f"could not run {sf}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(done.stdout)
    except json.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise AuthError(f"`sf {' '.join(command)}` exited {done.returncode} without a JSON "
                        "answer; run it yourself to see why")
    if doc.get("status") != 0 or not isinstance(doc.get("result"), dict):
        raise AuthError(f"the Salesforce CLI could not give a session for {target_org!r}: "
                        f"{_message(doc)}")
    result: dict[str, Any] = doc["result"]
    return result


def _message(doc: dict[str, Any]) -> str:
    """The CLI's error in one line, without its "Parsing --target-org" and help lines."""
    text = str(doc.get("message") or doc.get("name") or "no message")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith(("Parsing --", "See more help"))]
    message = " ".join(lines) or text.strip()
    if doc.get("name") == "NamedOrgNotFoundError" or doc.get("code") == "NamedOrgNotFoundError":
        message += (" (`sf org list` shows the aliases the CLI knows; log in with "
                    "`sf org login web --alias ALIAS`)")
    return message
