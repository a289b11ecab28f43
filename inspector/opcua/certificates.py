"""X.509 certificates of the OPC UA server: its own (self-signed, made on first start) and the
clients it trusts (copies in `trusted/`, DER, named by subject and thumbprint)."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from inspector.files import read_input_bytes, write_then_rename
from inspector.opcua.config_folder import ConfigFolder, SecurityConfigError


def read_certificate(path: Path):
    """The certificate in `path` (DER or PEM) as a `cryptography` x509.Certificate."""
    from cryptography import x509

    data = read_input_bytes(Path(path), "certificate", SecurityConfigError)
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise SecurityConfigError(f"{path}: not an X.509 certificate (DER or PEM)") from None


def thumbprint(cert) -> str:
    """The SHA-1 of the DER bytes, as OPC UA clients (UaExpert, Prosys) show a certificate's thumbprint."""
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA1()).hex()


def common_name(cert) -> str:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def trusted_name(cert) -> str:
    """`<CN>_<thumbprint>.der`, the CN reduced to characters safe in a file name."""
    cn = re.sub(r"[^A-Za-z0-9._-]+", "_", common_name(cert)).strip("._-")[:48]
    return f"{cn + '_' if cn else ''}{thumbprint(cert)}.der"


def trust(path: Path, folder: ConfigFolder) -> tuple[Path, str]:
    """Copy the client certificate `path` into `trusted/` as DER; its destination and thumbprint."""
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = read_certificate(path)
    folder.make()
    dest = folder.trusted / trusted_name(cert)
    write_then_rename(dest, lambda p: p.write_bytes(cert.public_bytes(Encoding.DER)), SecurityConfigError)
    return dest, thumbprint(cert)


async def ensure_server_certificate(folder: ConfigFolder, app_uri: str, host_name: str | None = None) -> None:
    """Make the server's key and self-signed certificate on first start (and again when the
    certificate expired or names another application URI or host), with asyncua's own helper."""
    from asyncua.crypto.cert_gen import dump_private_key_as_pem, generate_private_key, setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    folder.make()
    host = host_name or socket.gethostname()
    try:
        if not folder.server_key.is_file():
            # made here, not by asyncua's helper, so that the key is never readable by others, not even briefly
            pem = dump_private_key_as_pem(generate_private_key())
            write_then_rename(folder.server_key, lambda p: _write_private(p, pem), SecurityConfigError)
            folder.server_cert.unlink(missing_ok=True)  # a certificate of another key is useless
        await setup_self_signed_certificate(
            folder.server_key, folder.server_cert, app_uri, host, [ExtendedKeyUsageOID.SERVER_AUTH],
            {"countryName": "DE", "organizationName": "inspector", "commonName": f"inspector line server {host}"},
        )
    except OSError as exc:
        raise SecurityConfigError(f"{folder.server_key.parent}: cannot make the server certificate "
                                  f"({exc.strerror or exc})") from None


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
