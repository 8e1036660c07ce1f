"""A share sealed to one recipient with HPKE, and signed by its sender.

HPKE base mode hides the share from everyone but the recipient but says nothing about
who sealed it, so the sender signs (Ed25519) the context, its own public key, the
recipient key's fingerprint and the ciphertext: a recipient holding a bad share can
prove who sent it. The context is also HPKE's ``info``, so a sealed share opened under
another secret, version, index, recipient or purpose fails.

Encodings (version byte 0x01):

- context: ``0x01 || field(namespace) || field(name) || u64(version) || u8(index)
  || field(recipient) || field(purpose)``; a context bound to an access rule (see
  :meth:`kuorum.accessrule.AccessRule.digest`) is ``0x02 ||`` the same ``|| field(rule)``, so
  every share sealed before rules were bound still opens as it did;
- sealed share: ``0x01 || u8(kem id: 1 X25519, 2 MLKEM768_X25519) || sender(32)
  || signature(64) || HPKE ciphertext (enc || AES-256-GCM(share) || tag)``;
- signed message: ``"kuorum/sealed-share/v1" || field(context) || field(sender)
  || field(recipient fingerprint) || field(kem) || field(ciphertext)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, get_args

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import sharing
from kuorum.envelope import _codec
from kuorum.envelope._errors import (
    BadSignature,
    DecryptionFailed,
    InvalidKey,
    MalformedEnvelope,
)
from kuorum.envelope._keys import (
    EncryptionPrivateKey,
    EncryptionPublicKey,
    Kem,
    hpke_kem,
)

Purpose: TypeAlias = Literal["store", "release"]
PURPOSES: Final[tuple[Purpose, ...]] = get_args(Purpose)
CONTEXT_VERSION = 0x01
RULE_CONTEXT_VERSION = 0x02
SEALED_SHARE_VERSION = 0x01

_LABEL = b"kuorum/sealed-share/v1"
_KEM_IDS: Final[dict[Kem, int]] = {Kem.X25519: 1, Kem.MLKEM768_X25519: 2}
_KEMS_BY_ID: Final[dict[int, Kem]] = {v: k for k, v in _KEM_IDS.items()}
_SENDER = 32
_SIGNATURE = 64
_SHARE_CIPHERTEXT = len(sharing.Share(1, bytes(32), bytes(32)).to_bytes()) + 16


@dataclass(frozen=True)
class ShareContext:
    """Where a sealed share belongs: which secret version, which slot, to whom, and why."""

    namespace: str
    name: str
    version: int
    index: int
    recipient: str
    """Who the share is sealed to: the node's name (store), or the identity the node
    authenticated for the caller, e.g. the operator's service account (release)."""
    purpose: Purpose
    rule: bytes = b""
    """SHA-256 of where the secret may go, as its sealer set it (empty: not bound)."""

    def __post_init__(self) -> None:
        for field in ("namespace", "name", "recipient"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value:
                raise ValueError(f"ShareContext.{field} must be a non-empty string")
        if type(self.version) is not int or not 0 <= self.version < 2**64:
            raise ValueError("ShareContext.version must be a non-negative integer")
        if type(self.index) is not int or not 1 <= self.index <= sharing.MAX_SHARES:
            raise ValueError(f"ShareContext.index must be from 1 to {sharing.MAX_SHARES}")
        if self.purpose not in PURPOSES:
            raise ValueError(f"ShareContext.purpose must be one of {', '.join(PURPOSES)}")
        try:
            _codec.rule(self.rule)
        except ValueError as error:
            raise ValueError(f"ShareContext.rule: {error}") from None

    def to_bytes(self) -> bytes:
        """The canonical encoding (see the module docstring)."""
        body = (
            _codec.fields(_codec.text(self.namespace), _codec.text(self.name))
            + _codec.u64(self.version)
            + bytes((self.index,))
            + _codec.fields(_codec.text(self.recipient), _codec.text(self.purpose))
        )
        version = RULE_CONTEXT_VERSION if self.rule else CONTEXT_VERSION
        return bytes((version,)) + body + _codec.rule(self.rule)


@dataclass(frozen=True, repr=False)
class SealedShare:
    """A share encrypted to one recipient and signed by its sender (public data)."""

    kem: Kem
    sender: bytes
    """The sender's raw Ed25519 public key."""
    signature: bytes
    ciphertext: bytes

    def __post_init__(self) -> None:
        if self.kem not in _KEM_IDS:
            raise MalformedEnvelope(f"unknown KEM {self.kem!r} in a sealed share")
        if not isinstance(self.sender, bytes) or len(self.sender) != _SENDER:
            raise MalformedEnvelope("a sealed share's sender key is 32 bytes")
        if not isinstance(self.signature, bytes) or len(self.signature) != _SIGNATURE:
            raise MalformedEnvelope("a sealed share's signature is 64 bytes")
        expected = hpke_kem(self.kem).enc_length() + _SHARE_CIPHERTEXT
        if not isinstance(self.ciphertext, bytes) or len(self.ciphertext) != expected:
            raise MalformedEnvelope(f"a {self.kem} sealed share's ciphertext is {expected} bytes")

    def __repr__(self) -> str:
        size = len(self.ciphertext)
        return (
            f"SealedShare(kem={self.kem!r}, sender={self.sender.hex()[:16]}, ciphertext={size} B)"
        )

    def to_bytes(self) -> bytes:
        """The versioned encoding (see the module docstring)."""
        header = bytes((SEALED_SHARE_VERSION, _KEM_IDS[self.kem]))
        return header + self.sender + self.signature + self.ciphertext

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> SealedShare:
        """Parse :meth:`to_bytes` output; :class:`MalformedEnvelope` otherwise."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedEnvelope("a sealed share must be bytes")
        reader = _codec.Reader(bytes(data), "sealed share")
        version, kem_id = reader.take(2)
        if version != SEALED_SHARE_VERSION:
            raise MalformedEnvelope(f"unknown sealed share version {version}")
        kem = _KEMS_BY_ID.get(kem_id)
        if kem is None:
            raise MalformedEnvelope(f"unknown KEM id {kem_id} in a sealed share")
        return cls(kem, reader.take(_SENDER), reader.take(_SIGNATURE), reader.rest())


def _suite(kem: Kem) -> hpke.Suite:
    return hpke.Suite(hpke_kem(kem), hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def _signed_message(
    context: ShareContext, sender: bytes, recipient: EncryptionPublicKey, ciphertext: bytes
) -> bytes:
    return _LABEL + _codec.fields(
        context.to_bytes(),
        sender,
        recipient.fingerprint_bytes(),
        _codec.text(recipient.kem),
        ciphertext,
    )


def seal_share(
    share: sharing.Share | bytes,
    *,
    recipient: EncryptionPublicKey,
    context: ShareContext,
    sender: ed25519.Ed25519PrivateKey,
) -> SealedShare:
    """Encrypt ``share`` to ``recipient`` for ``context``, signed by ``sender``.

    :class:`InvalidKey` if the recipient key cannot be encrypted to (a low-order point).
    """
    if isinstance(share, bytes | bytearray | memoryview):
        share = sharing.Share.from_bytes(share)
    if not isinstance(share, sharing.Share):
        raise TypeError("seal_share() takes a Share or its bytes")
    if share.index != context.index:
        raise ValueError(f"share {share.index} does not belong to slot {context.index}")
    info = _LABEL + context.to_bytes()
    try:
        ciphertext = _suite(recipient.kem).encrypt(
            share.to_bytes(), recipient.hpke_key(), info=info
        )
    except ValueError:  # e.g. a low-order X25519 point: no shared secret
        raise InvalidKey(f"the recipient's {recipient.kem} public key is not usable") from None
    sender_public = sender.public_key().public_bytes_raw()
    signature = sender.sign(_signed_message(context, sender_public, recipient, ciphertext))
    return SealedShare(recipient.kem, sender_public, signature, ciphertext)


def check_sealed_share(
    sealed: SealedShare,
    *,
    recipient: EncryptionPublicKey,
    context: ShareContext,
    sender: ed25519.Ed25519PublicKey,
) -> None:
    """Check, without opening it, that ``sender`` sealed this share for ``context`` to
    ``recipient``: a forwarder that cannot open a share can still refuse a misaddressed one.

    :class:`BadSignature` if it was signed by another key or for another context or
    recipient; :class:`MalformedEnvelope` if it was sealed for another KEM.
    """
    if sealed.sender != sender.public_bytes_raw():
        raise BadSignature("the sealed share was signed by another key than the expected sender")
    if sealed.kem != recipient.kem:
        raise MalformedEnvelope(
            f"sealed for {sealed.kem}, but the recipient key is {recipient.kem}"
        )
    try:
        sender.verify(
            sealed.signature, _signed_message(context, sealed.sender, recipient, sealed.ciphertext)
        )
    except InvalidSignature:
        raise BadSignature(
            "the sealed share's signature does not match its sender, recipient and context"
        ) from None


def open_share(
    sealed: SealedShare,
    *,
    recipient: EncryptionPrivateKey,
    context: ShareContext,
    sender: ed25519.Ed25519PublicKey,
) -> sharing.Share:
    """Check the sender's signature, decrypt, and return the share of ``context.index``.

    :class:`BadSignature` if ``sender`` did not sign this sealed share for this context
    and recipient; :class:`DecryptionFailed` if it does not decrypt; and
    :class:`MalformedEnvelope` if the sender signed something that is not the share of
    this slot (the signature then proves who sent it).
    """
    if not isinstance(sealed, SealedShare):
        raise TypeError("open_share() takes a SealedShare")
    public = recipient.public_key()
    check_sealed_share(sealed, recipient=public, context=context, sender=sender)
    info = _LABEL + context.to_bytes()
    try:
        plaintext = _suite(public.kem).decrypt(sealed.ciphertext, recipient.hpke_key(), info=info)
    except (InvalidTag, ValueError):
        raise DecryptionFailed("the sealed share did not decrypt") from None
    try:
        share = sharing.Share.from_bytes(plaintext)
    except sharing.MalformedEncoding:
        raise MalformedEnvelope("the sealed share does not hold a well-formed share") from None
    if share.index != context.index:
        raise MalformedEnvelope(f"the sealed share holds index {share.index}, not {context.index}")
    return share
