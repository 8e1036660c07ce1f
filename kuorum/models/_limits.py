"""Limits and formats shared by the Python parsers and the CRD schema (one source of truth)."""

from __future__ import annotations

import re
import string
from datetime import timedelta
from enum import StrEnum
from typing import Final

# The KEMs a ShareNode may publish, and their key sizes, are the envelope's.
from kuorum.envelope import PUBLIC_KEY_BYTES
from kuorum.envelope import Kem as Kem

# spec.shares is bounded by what the sharing scheme can index: one definition, there.
from kuorum.sharing import MAX_SHARES as MAX_SHARES

KEM_PUBLIC_BYTES: Final = PUBLIC_KEY_BYTES
MAX_VERSION: Final = 2**53 - 1
"""Upper bound of a secret version: exact in every JSON client, JavaScript's included."""

KEY_NAME_PATTERN: Final = r"^[-._a-zA-Z0-9]+$"
"""A Secret data key, as the Secret API accepts it."""
KEY_NAME_MAX: Final = 253
MAX_KEYS: Final = 64

DNS_LABEL_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_LABEL_MAX: Final = 63
DNS_SUBDOMAIN_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_SUBDOMAIN_MAX: Final = 253
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)
_DNS_SUBDOMAIN = re.compile(DNS_SUBDOMAIN_PATTERN)


def is_dns_label(value: str) -> bool:
    """A namespace name (RFC 1123 label), as the apiserver accepts it."""
    return len(value) <= DNS_LABEL_MAX and _DNS_LABEL.match(value) is not None


def is_dns_subdomain(value: str) -> bool:
    """An object name such as a DecentralizedSecret's or a ShareNode's (RFC 1123 subdomain)."""
    return len(value) <= DNS_SUBDOMAIN_MAX and _DNS_SUBDOMAIN.match(value) is not None


UID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""An object uid as the apiserver assigns it (a lowercase UUID)."""
UID_MAX: Final = 36

SERVICE_ACCOUNT_ENTRY_PATTERN: Final = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?:)?"
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
SERVICE_ACCOUNT_ENTRY_MAX: Final = DNS_LABEL_MAX + 1 + DNS_SUBDOMAIN_MAX
MAX_ACCESS_ENTRIES: Final = 256

LABEL_VALUE_PATTERN: Final = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
LABEL_VALUE_MAX: Final = 63
QUALIFIED_NAME_PATTERN: Final = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
QUALIFIED_NAME_MAX: Final = 317


class SecretType(StrEnum):
    """Types of Secret the operator may write. Never a service-account token or a bootstrap
    token: those grant identities, so writing one would let a tenant mint credentials."""

    OPAQUE = "Opaque"
    TLS = "kubernetes.io/tls"
    BASIC_AUTH = "kubernetes.io/basic-auth"
    SSH_AUTH = "kubernetes.io/ssh-auth"
    DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"


DEFAULT_SECRET_TYPE: Final = SecretType.OPAQUE.value


class Delivery(StrEnum):
    """How values reach pods: a Kubernetes Secret the operator writes, or only the files
    ``kuorum agent`` writes inside each pod that each node let have its share."""

    SECRET = "Secret"  # noqa: S105 (a mode name)
    POD = "Pod"


KEY_LENGTH_MIN: Final = 1
KEY_LENGTH_MAX: Final = 4096
DEFAULT_KEY_LENGTH: Final = 32

DURATION_PATTERN: Final = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
DURATION_MAX: Final = 32
MIN_ROTATION_INTERVAL: Final = timedelta(minutes=1)
MIN_ROTATION_INTERVAL_GO: Final = "1m"

BASE64_PATTERN: Final = r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
ED25519_PUBLIC_BYTES: Final = 32
ED25519_PUBLIC_BASE64: Final = 44
FINGERPRINT_PATTERN: Final = r"^[0-9a-f]{16,64}$"
FINGERPRINT_MAX: Final = 64
MAX_COMMITMENTS_BASE64: Final = 4096
MAX_SEALED_SHARE_BASE64: Final = 16384
MAX_PAYLOAD_BASE64: Final = 1_500_000
"""A Secret holds at most 1 MiB; its ciphertext in base64 fits in this many characters."""

ENDPOINT_PATTERN: Final = r"^https://[^\s/?#@]+(/[^\s?#]*)?$"
ENDPOINT_MAX: Final = 2048
PEM_CERTIFICATE_PATTERN: Final = r"^\s*-----BEGIN CERTIFICATE-----"
PEM_MAX: Final = 65536


class Charset(StrEnum):
    """Characters a generated key is drawn from."""

    ALPHANUMERIC = "alphanumeric"
    ALPHA = "alpha"
    NUMERIC = "numeric"
    HEX = "hex"
    BASE64URL = "base64url"
    ASCII_PRINTABLE = "ascii-printable"

    @property
    def alphabet(self) -> str:
        """The characters themselves, so generator, docs and schema mean the same set."""
        return _ALPHABETS[self]


_LOWER, _UPPER, _DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
_ALPHABETS: Final = {
    Charset.ALPHANUMERIC: _UPPER + _LOWER + _DIGITS,
    Charset.ALPHA: _UPPER + _LOWER,
    Charset.NUMERIC: _DIGITS,
    Charset.HEX: _DIGITS + "abcdef",
    Charset.BASE64URL: _UPPER + _LOWER + _DIGITS + "-_",
    Charset.ASCII_PRINTABLE: "".join(map(chr, range(0x21, 0x7F))),  # no space
}
CHARSET_HELP: Final = (
    "alphanumeric (A-Z a-z 0-9), alpha (A-Z a-z), numeric (0-9), hex (0-9 a-f), "
    "base64url (A-Z a-z 0-9 - _), ascii-printable (! to ~, no space)"
)

DEFAULT_CHARSET: Final = Charset.ALPHANUMERIC


class SelectorOperator(StrEnum):
    """Operators of a LabelSelector requirement (as in metav1.LabelSelector)."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
