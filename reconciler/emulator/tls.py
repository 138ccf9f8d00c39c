"""The emulator's local certificate authority, kept beside the org's data.

The CA is made once per data directory (``ca.pem``, key in ``ca-key.pem``, both
0600 in a 0700 directory, as everything the emulator keeps) so clients can keep
trusting it across restarts; the server certificate for 127.0.0.1, ::1 and localhost
is issued from it at every start.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from reconciler.private_files import private_dir, tighten, write_private


def load_or_create_ca(directory: Path) -> tuple[trustme.CA, Path]:
    """The directory's CA and the path of its certificate (for ``verify=``)."""
    private_dir(directory)
    cert_path = directory / "ca.pem"
    key_path = directory / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        tighten(key_path)
        tighten(cert_path)
        ca = trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
        return ca, cert_path
    ca = trustme.CA(organization_name="reconciler local org")
    write_private(key_path, ca.private_key_pem.bytes().decode("ascii"))
    write_private(cert_path, ca.cert_pem.bytes().decode("ascii"))
    return ca, cert_path


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A TLS server context with a fresh certificate for the loopback names."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ca.issue_cert("127.0.0.1", "::1", "localhost").configure_cert(ctx)
    return ctx
