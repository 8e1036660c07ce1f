"""The node's self-signed TLS serving certificate.

Clients pin the certificate published in the node's ShareNode (``spec.tlsCertificate``)
rather than trusting a CA, so a bearer token is only ever sent to the holder of this key.
The certificate therefore needs no CA, only the names clients dial (``--tls-san``).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=3650)
"""Long-lived on purpose: trust comes from pinning, renewal would break pins for nothing."""


def subject_alternative_names(names: Sequence[str]) -> list[x509.GeneralName]:
    """Turn ``--tls-san`` values into IP or DNS entries (an IP literal becomes an IP SAN)."""
    result: list[x509.GeneralName] = []
    for name in names:
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            result.append(x509.DNSName(name))
    return result


def certificate_names(certificate_pem: bytes) -> set[str]:
    """The SANs of a certificate as the strings ``--tls-san`` would use."""
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    ips = extension.value.get_values_for_type(x509.IPAddress)
    dns = extension.value.get_values_for_type(x509.DNSName)
    return {str(ip) for ip in ips} | set(dns)


def make_certificate(
    common_name: str, names: Sequence[str], *, now: datetime.datetime
) -> tuple[bytes, bytes]:
    """Return ``(certificate_pem, private_key_pem)`` for a fresh P-256 serving key."""
    if not names:
        raise ValueError(
            f"the TLS certificate of node {common_name!r} needs at least one "
            "--tls-san (for example 127.0.0.1 or the pod DNS name)"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(subject_alternative_names(names)), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem
