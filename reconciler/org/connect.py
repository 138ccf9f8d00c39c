"""From an ``orgs.<name>`` entry to a connected :class:`OrgClient`.

A real org gets a :class:`Connection` built from its config (secrets revealed here,
at the last moment). The embedded org (``emulator: true``, and ``local`` when the
config declares no orgs) is started in-process on an ephemeral loopback port, with
its data under ``.reconciler/<org>/`` beside the config, and stopped when the block
ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from reconciler.config import Config, OrgConfig, Secret
from reconciler.emulator import start_emulator
from reconciler.emulator.errors import LocalOrgError
from reconciler.emulator.seed import load_seed_file
from reconciler.errors import EmulatorError
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection


def data_dir_for(config: Config, org: OrgConfig) -> Path:
    """Where the embedded org keeps its data: ``.reconciler/<org>`` beside the config."""
    base = config.path if config.path.is_dir() else config.path.parent
    return base / ".reconciler" / org.name


@contextmanager
def emulator_errors() -> Iterator[None]:
    """The embedded org's failures as the reconciler's :class:`EmulatorError`, message
    unchanged, so the CLI maps them to an exit code like any other error."""
    try:
        yield
    except LocalOrgError as exc:
        raise EmulatorError(exc.message) from exc


def _reveal(secret: Secret | None) -> str | None:
    return secret.reveal() if secret is not None else None


def connection_for(org: OrgConfig, api_version: str) -> Connection:
    """The Connection for a real org; secrets leave their wrappers only here."""
    auth = org.auth
    if auth is None:
        return Connection(login_url=org.login_url, flow="access_token",
                          instance_url=org.instance_url, ca_bundle=org.ca_bundle,
                          api_version=api_version)
    password = _reveal(auth.password)
    if password is not None and auth.security_token is not None:
        password += auth.security_token.reveal()
    return Connection(
        login_url=org.login_url,
        flow=auth.flow,
        instance_url=org.instance_url,
        client_id=_reveal(auth.client_id),
        client_secret=_reveal(auth.client_secret),
        username=_reveal(auth.username),
        password=password,
        private_key=_reveal(auth.private_key),
        private_key_file=auth.private_key_file,
        access_token=_reveal(auth.access_token),
        ca_bundle=org.ca_bundle,
        api_version=api_version,
        soap_login=auth.soap_login,
        target_org=auth.target_org,
    )


@contextmanager
def open_org(config: Config, org_name: str | None) -> Iterator[tuple[OrgConfig, OrgClient]]:
    """The chosen org and a logged-in client for it, for the duration of the block."""
    org = config.org(org_name)
    api_version = config.settings.api_version
    if not org.emulator:
        with OrgClient(connection_for(org, api_version)) as client:
            yield org, client
        return
    with ExitStack() as stack:
        with emulator_errors():  # the org's own failures: its seed, its data directory
            seed = load_seed_file(org.seed) if org.seed is not None else None
            emu = stack.enter_context(start_emulator(data_dir_for(config, org), seed))
        creds = emu.credentials()
        conn = Connection(login_url=emu.url, flow="client_credentials",
                          client_id=creds["client_id"], client_secret=creds["client_secret"],
                          ca_bundle=emu.ca_file, api_version=api_version)
        with OrgClient(conn) as client:
            yield org, client
