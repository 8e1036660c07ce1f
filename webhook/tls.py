"""Serving certificates: issue them (self-managed mode) and serve them, reloading live.

One ``ssl.SSLContext`` serves for the whole life of the process; loading a new chain
into it affects only new handshakes, so a renewed certificate (cert-manager rewriting
the mounted files, or our own renewal) is picked up without a restart or a dropped
connection. Certificates are made with ``cryptography`` (kopf's self-signed
path is broken on OpenSSL 3).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kuorum import certificates
from kuorum.files import write_private

CA_VALIDITY = datetime.timedelta(days=365)
SERVING_VALIDITY = datetime.timedelta(days=90)
RENEW_FRACTION = 1 / 3
"""Renew when less than this fraction of a certificate's lifetime is left."""


@dataclass(frozen=True)
class Pair:
    """A PEM certificate (or chain) and its PEM private key."""

    certificate: bytes
    key: bytes = b""

    def __repr__(self) -> str:
        return "Pair(certificate=..., key=<hidden>)"


def issue_ca(*, now: datetime.datetime, validity: datetime.timedelta = CA_VALIDITY) -> Pair:
    """Create a CA that signs only the webhook's serving certificates."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kuorum-webhook-ca-{now:%Y%m%d}")])
    certificate = (
        certificates.builder(name, name, key.public_key(), now=now, validity=validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(certificates.key_usage(cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Pair(_pem(certificate), _key_pem(key))


def issue_serving(
    ca: Pair,
    sans: Sequence[str],
    *,
    now: datetime.datetime,
    validity: datetime.timedelta = SERVING_VALIDITY,
) -> Pair:
    """Create a serving certificate for ``sans`` (DNS names or IP addresses) signed by ``ca``."""
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate)
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the webhook CA key must be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])])
    certificate = (
        certificates.builder(
            subject, ca_certificate.subject, key.public_key(), now=now, validity=validity
        )
        .add_extension(x509.SubjectAlternativeName([_san(s) for s in sans]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(certificates.key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Pair(_pem(certificate), _key_pem(key))


def not_after(pem: bytes) -> datetime.datetime:
    """Expiry of the first certificate of ``pem``."""
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc


def due(pem: bytes, *, now: datetime.datetime) -> bool:
    """Tell whether the first certificate of ``pem`` is in the last third of its life."""
    certificate = x509.load_pem_x509_certificate(pem)
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    return now >= end - (end - start) * RENEW_FRACTION


def covers(pem: bytes, sans: Sequence[str]) -> bool:
    """Tell whether the certificate names every one of ``sans``."""
    certificate = x509.load_pem_x509_certificate(pem)
    try:
        present = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    return all(_san(s) in present.value for s in sans)


class ServingContext:
    """The server's SSLContext, reloadable from files or from PEM bytes."""

    def __init__(self) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._signature: tuple[float, int, float, int] | None = None
        self.expires: datetime.datetime | None = None
        self.serving: Pair | None = None
        """The pair loaded by ``load_pair`` (self-managed mode), to tell a renewal apart."""

    def verify_clients(self, ca: Path) -> None:
        """Ask every client for a certificate and check the ones sent against ``ca``.
        Optional at the TLS layer (the kubelet's probes send none); /mutate demands it."""
        self.context.load_verify_locations(cafile=str(ca))
        self.context.verify_mode = ssl.CERT_OPTIONAL

    def load_files(self, certificate: Path, key: Path) -> bool:
        """Load the pair if the files changed since last time; return True if loaded."""
        cert_stat, key_stat = certificate.stat(), key.stat()
        signature = (cert_stat.st_mtime, cert_stat.st_size, key_stat.st_mtime, key_stat.st_size)
        if signature == self._signature:
            return False
        self.context.load_cert_chain(certificate, key)
        self._signature = signature
        self.expires = not_after(certificate.read_bytes())
        return True

    def load_pair(self, pair: Pair) -> None:
        """Load a pair held in memory (through a private temporary directory)."""
        with tempfile.TemporaryDirectory(prefix="kuorum-webhook-") as directory:
            certificate, key = Path(directory, "tls.crt"), Path(directory, "tls.key")
            certificate.write_bytes(pair.certificate)
            write_private(key, pair.key)
            self.context.load_cert_chain(certificate, key)
        self.expires = not_after(pair.certificate)
        self.serving = pair


def _san(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class ClientCertificates:
    """Who may call /mutate: a client whose certificate the TLS layer verified against the
    client CA, with one of ``names`` as its common name (any, when empty)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = frozenset(names)

    def allows(self, peer: Mapping[str, Any] | None) -> bool:
        """Whether the verified peer certificate (``SSLSocket.getpeercert()``) may call."""
        if not peer:
            return False
        common = {
            value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"
        }
        return not self._names or bool(common & self._names)
