"""C2SP signed notes (c2sp.org/signed-note): the envelope of checkpoints and cosignatures.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
`— <key name> <base64(key ID || signature)>` (em dash U+2014, space). Verifiers are
pinned by (name, key ID); signatures from unknown keys are ignored, a bad signature
from a known key rejects the note, and a note with no verified known signature is
rejected. Keys travel as vkeys `<name>+<hex key ID>+<base64(type || public key)>`.
"""

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kuorum.ledger.errors import NoteError

ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (log checkpoints)."""

COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature)."""

SIGNATURE_DASH = "\u2014 "
"""Every signature line starts with an em dash and a space."""

MAX_SIGNATURES = 64
"""Signature lines accepted per note; the spec asks for at least 16."""


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """Key ID of signed-note: SHA-256(name || 0x0A || type || public key)[:4]."""
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]


def check_key_name(name: str) -> None:
    """Refuse key names the format cannot carry: empty, with spaces or a plus."""
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: who signed (name, key ID) and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line, newline included."""
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_DASH}{self.name} {blob}\n"

    @classmethod
    def parse_line(cls, line: str) -> "NoteSignature":
        """Read one signature line (without its newline)."""
        if not line.startswith(SIGNATURE_DASH):
            raise NoteError(f"signature line {line[:40]!r} does not start with an em dash")
        name, sep, blob = line[len(SIGNATURE_DASH) :].rpartition(" ")
        if not sep:
            raise NoteError(f"signature line {line[:40]!r} has no key name")
        check_key_name(name)
        raw = _b64decode(blob, "signature")
        if len(raw) < 5:
            raise NoteError(f"signature of {name} is too short to hold a key ID")
        return cls(name=name, key_id=raw[:4], signature=raw[4:])


class NoteSigner(Protocol):
    """Something that signs note text under a (name, key ID)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: bytes) -> NoteSignature:
        """Sign the note text (final newline included)."""
        ...


class NoteVerifier(Protocol):
    """A pinned key: the (name, key ID) it answers for, and how to check a signature."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True when `signature` (key ID stripped) is valid over the note text."""
        ...


@dataclass(frozen=True)
class SignedNote:
    """Note text plus its signature lines, as carried on the wire."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_text(self.text)

    @classmethod
    def parse(cls, data: bytes) -> "SignedNote":
        """Read a signed note strictly; raise `NoteError` naming what is malformed."""
        raise NotImplementedError

    def format(self) -> bytes:
        """The note on the wire: text, blank line, signature lines."""
        raise NotImplementedError

    def with_signatures(self, *extra: NoteSignature) -> "SignedNote":
        """The same note with more signature lines (e.g. witness cosignatures)."""
        return SignedNote(self.text, self.signatures + extra)

    def verify(self, verifiers: Iterable[NoteVerifier]) -> tuple[NoteSignature, ...]:
        """The signatures that verify against known keys; unknown keys are ignored.

        Raises `SignatureError` if a known key's signature is invalid or if no known
        key signed the note.
        """
        raise NotImplementedError


def sign_note(text: str, signers: Sequence[NoteSigner]) -> SignedNote:
    """Sign `text` (ending in a newline) with every signer."""
    raise NotImplementedError


class Ed25519NoteSigner:
    """Signs notes with an Ed25519 key (signature type 0x01): a node signing its checkpoints."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """Key name written on signature lines (for a log, its origin)."""
        raise NotImplementedError

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        raise NotImplementedError

    def verifier(self) -> "Ed25519NoteVerifier":
        """The matching verifier, e.g. to publish its vkey."""
        raise NotImplementedError

    def sign(self, text: bytes) -> NoteSignature:
        """Sign the note text."""
        raise NotImplementedError


class Ed25519NoteVerifier:
    """Checks Ed25519 note signatures (type 0x01) from one pinned key."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        raise NotImplementedError

    @classmethod
    def from_vkey(cls, vkey: str) -> "Ed25519NoteVerifier":
        """Load a pinned `<name>+<hex key ID>+<base64(0x01 || key)>`; raise `NoteError`."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """Key name the signatures must carry."""
        raise NotImplementedError

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        raise NotImplementedError

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The pinned public key."""
        raise NotImplementedError

    def vkey(self) -> str:
        """The vkey string to pin this key elsewhere."""
        raise NotImplementedError

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True when `signature` is a valid Ed25519 signature over `text`."""
        raise NotImplementedError


def format_vkey(name: str, key_type: int, public_key: bytes) -> str:
    """`<name>+<hex8 key ID>+<base64(type || public key)>`."""
    raise NotImplementedError


def parse_vkey(vkey: str, key_type: int) -> tuple[str, bytes]:
    """Name and raw public key of a vkey of `key_type`; checks the key ID it states."""
    raise NotImplementedError


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 bytes of an Ed25519 public key (RFC 8032 encoding)."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_text(text: str) -> None:
    raise NotImplementedError


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc
