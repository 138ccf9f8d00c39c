"""The emulator's local certificate authority, kept beside the org's data.

The CA is made once per data directory (``ca.pem``, key in ``ca-key.pem`` with mode
0600) so clients can keep trusting it across restarts; the server certificate for
127.0.0.1, ::1 and localhost is issued from it at every start.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import trustme


def load_or_create_ca(directory: Path) -> tuple[trustme.CA, Path]:
    """The directory's CA and the path of its certificate (for ``verify=``)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / "ca.pem"
    key_path = directory / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        ca = trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
        return ca, cert_path
    ca = trustme.CA(organization_name="reconciler local org")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(ca.private_key_pem.bytes())
    cert_path.write_bytes(ca.cert_pem.bytes())
    return ca, cert_path


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A TLS server context with a fresh certificate for the loopback names."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ca.issue_cert("127.0.0.1", "::1", "localhost").configure_cert(ctx)
    return ctx
