"""The payload: a secret version's key -> bytes map, sealed with AES-256-GCM.

The associated data binds namespace, name and version, so a ciphertext copied to
another secret or version does not open. Formats (version byte 0x01):

- plaintext: ``0x01 || u32 count || (field(key utf-8) || field(value))*`` in sorted key
  order, so equal maps encode to equal bytes;
- ciphertext: ``0x01 || nonce(12) || AES-256-GCM(plaintext) with tag(16)``;
- associated data: ``"kuorum/payload/v1" || field(namespace) || field(name) || u64(version)``,
  then ``|| field(rule)`` when the version is bound to an access rule (32 bytes).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kuorum.envelope import _codec
from kuorum.envelope._errors import DecryptionFailed, InvalidKey, MalformedEnvelope

PAYLOAD_VERSION = 0x01
_NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_BYTES = 32
_LABEL = b"kuorum/payload/v1"
_COUNT = struct.Struct(">I")


def _associated_data(namespace: str, name: str, version: int, rule: bytes) -> bytes:
    if not isinstance(namespace, str) or not isinstance(name, str) or not namespace or not name:
        raise ValueError("namespace and name must be non-empty strings")
    if type(version) is not int or version < 0:
        raise ValueError("version must be a non-negative integer")
    where = _codec.fields(_codec.text(namespace), _codec.text(name))
    return _LABEL + where + _codec.u64(version) + _codec.rule(rule)


def _aead(key: bytes) -> AESGCM:
    if not isinstance(key, bytes) or len(key) != _KEY_BYTES:
        raise InvalidKey("a data key is 32 bytes")
    return AESGCM(key)


def encode_data(data: Mapping[str, bytes]) -> bytes:
    """The canonical plaintext encoding of a key -> bytes map."""
    parts = [bytes((PAYLOAD_VERSION,)), _COUNT.pack(len(data))]
    for key in sorted(data):
        value = data[key]
        if not isinstance(key, str) or not isinstance(value, bytes):
            raise TypeError("payload keys must be str and values bytes")
        parts.append(_codec.fields(_codec.text(key), value))
    return b"".join(parts)


def decode_data(encoded: bytes) -> dict[str, bytes]:
    """Parse :func:`encode_data` output, refusing anything non-canonical."""
    reader = _codec.Reader(encoded, "payload")
    if reader.take(1)[0] != PAYLOAD_VERSION:
        raise MalformedEnvelope("unknown payload encoding version")
    (count,) = _COUNT.unpack(reader.take(_COUNT.size))
    data: dict[str, bytes] = {}
    previous: str | None = None
    for _ in range(count):
        try:
            key = reader.field().decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedEnvelope("payload key is not UTF-8") from None
        if previous is not None and key <= previous:
            raise MalformedEnvelope("payload keys are not in canonical order")
        data[key] = reader.field()
        previous = key
    reader.end()
    return data


def encrypt_payload(
    data: Mapping[str, bytes],
    key: bytes,
    *,
    namespace: str,
    name: str,
    version: int,
    rule: bytes = b"",
) -> bytes:
    """Encrypt a secret version's data under its data key, bound to namespace/name/version
    and, when given, to the digest of its access rule."""
    aead = _aead(key)
    associated = _associated_data(namespace, name, version, rule)
    nonce = os.urandom(_NONCE_BYTES)
    return bytes((PAYLOAD_VERSION,)) + nonce + aead.encrypt(nonce, encode_data(data), associated)


def decrypt_payload(
    ciphertext: bytes,
    key: bytes,
    *,
    namespace: str,
    name: str,
    version: int,
    rule: bytes = b"",
) -> dict[str, bytes]:
    """Open :func:`encrypt_payload` output; :class:`DecryptionFailed` if anything differs."""
    aead = _aead(key)
    associated = _associated_data(namespace, name, version, rule)
    if not isinstance(ciphertext, bytes):
        raise MalformedEnvelope("a payload ciphertext must be bytes")
    if len(ciphertext) < 1 + _NONCE_BYTES + _TAG_BYTES:
        raise MalformedEnvelope("payload ciphertext is truncated")
    if ciphertext[0] != PAYLOAD_VERSION:
        raise MalformedEnvelope(f"unknown payload ciphertext version {ciphertext[0]}")
    nonce, body = ciphertext[1 : 1 + _NONCE_BYTES], ciphertext[1 + _NONCE_BYTES :]
    try:
        plaintext = aead.decrypt(nonce, body, associated)
    except InvalidTag:
        raise DecryptionFailed("the payload did not decrypt") from None
    return decode_data(plaintext)
