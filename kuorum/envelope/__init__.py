"""Envelopes around a secret version: the payload under its data key, shares sealed to
nodes, and the key pairs both need.

- :func:`encrypt_payload` / :func:`decrypt_payload`: AES-256-GCM under the data key,
  bound to namespace, name and version.
- :func:`seal_share` / :func:`open_share`: HPKE (RFC 9180; hybrid ML-KEM-768 + X25519 by
  default, X25519 as an option) to the recipient, Ed25519-signed by the sender.
- :class:`EncryptionPrivateKey`, :class:`NodeKeys`, :class:`NodePublicKeys`: key pairs
  and their serializations (files, Secrets, ShareNode fields).

Formats and reasons are in ``docs/cryptography.md``. Errors::

    KuorumError
     └─ EnvelopeError
         ├─ DecryptionFailed    a ciphertext did not open (no detail, on purpose)
         ├─ BadSignature        a sealed share not signed by the expected sender
         ├─ MalformedEnvelope   not a well-formed envelope (also ValueError)
         └─ InvalidKey          unusable key material (also ValueError)
"""

from kuorum.envelope._codec import RULE_BYTES
from kuorum.envelope._errors import (
    BadSignature,
    DecryptionFailed,
    EnvelopeError,
    InvalidKey,
    MalformedEnvelope,
)
from kuorum.envelope._keys import (
    DEFAULT_KEM,
    KEMS,
    PUBLIC_KEY_BYTES,
    EncryptionPrivateKey,
    EncryptionPublicKey,
    Kem,
)
from kuorum.envelope._node_keys import NodeKeys, NodePublicKeys
from kuorum.envelope._payload import PAYLOAD_VERSION, decrypt_payload, encrypt_payload
from kuorum.envelope._sealing import (
    CONTEXT_VERSION,
    PURPOSES,
    SEALED_SHARE_VERSION,
    Purpose,
    SealedShare,
    ShareContext,
    check_sealed_share,
    open_share,
    seal_share,
)

__all__ = [
    "CONTEXT_VERSION",
    "DEFAULT_KEM",
    "KEMS",
    "PAYLOAD_VERSION",
    "PUBLIC_KEY_BYTES",
    "PURPOSES",
    "RULE_BYTES",
    "SEALED_SHARE_VERSION",
    "BadSignature",
    "DecryptionFailed",
    "EncryptionPrivateKey",
    "EncryptionPublicKey",
    "EnvelopeError",
    "InvalidKey",
    "Kem",
    "MalformedEnvelope",
    "NodeKeys",
    "NodePublicKeys",
    "Purpose",
    "SealedShare",
    "ShareContext",
    "check_sealed_share",
    "decrypt_payload",
    "encrypt_payload",
    "open_share",
    "seal_share",
]
