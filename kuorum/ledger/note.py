"""C2SP signed notes (c2sp.org/signed-note): the envelope of checkpoints and cosignatures.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
`— <key name> <base64(key ID || signature)>` (em dash U+2014, space). Verifiers are
pinned by (name, key ID); signatures from unknown keys are ignored, a bad signature
from a known key rejects the note, and a note with no verified known signature is
rejected. Keys travel as vkeys `<name>+<hex key ID>+<base64(type || public key)>`.
"""

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, Self, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kuorum import b64
from kuorum.ledger.errors import NoteError, SignatureError

ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (log checkpoints)."""

COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature)."""

SIGNATURE_DASH = "\u2014 "
"""Every signature line starts with an em dash and a space."""

MAX_SIGNATURES = 64
"""Signature lines accepted per note; the spec asks for at least 16."""

ED25519_KEY_SIZE = 32

_HEX8 = re.compile(r"[0-9a-f]{8}")


VerifierT = TypeVar("VerifierT", bound="PinnedEd25519Key")


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """Key ID of signed-note: SHA-256(name || 0x0A || type || public key)[:4]."""
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]


def check_key_name(name: str) -> None:
    """Refuse key names the format cannot carry: empty, with spaces or a plus."""
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise NoteError(f"key name {name!r} must be non-empty and printable, without spaces or '+'")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: who signed (name, key ID) and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.key_id) != 4:
            raise NoteError(f"key ID of {self.name} has {len(self.key_id)} bytes, not 4")

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
        raw = b64.decode(blob, "signature", NoteError)
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
        try:
            whole = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not valid UTF-8") from exc
        split = whole.rfind("\n\n")
        if split < 0 or not whole.endswith("\n"):
            raise NoteError("note has no blank line followed by signature lines")
        lines = whole[split + 2 : -1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"note carries {len(lines)} signatures, more than {MAX_SIGNATURES}")
        signatures = tuple(NoteSignature.parse_line(line) for line in lines)
        return cls(whole[: split + 1], signatures)

    def format(self) -> bytes:
        """The note on the wire: text, blank line, signature lines."""
        if not self.signatures:
            raise NoteError("a signed note needs at least one signature")
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    def with_signatures(self, *extra: NoteSignature) -> "SignedNote":
        """The same note with more signature lines (e.g. witness cosignatures)."""
        return SignedNote(self.text, self.signatures + extra)

    def verify(self, verifiers: Iterable[NoteVerifier]) -> tuple[NoteSignature, ...]:
        """The signatures that verify against known keys; unknown keys are ignored.

        Raises `SignatureError` if a known key's signature is invalid or if no known
        key signed the note.
        """
        known = {(v.name, v.key_id): v for v in verifiers}
        text = self.text.encode()
        verified = []
        for signature in self.signatures:
            verifier = known.get((signature.name, signature.key_id))
            if verifier is None:
                continue
            if not verifier.verify(text, signature.signature):
                raise SignatureError(f"the signature of {signature.name} does not verify")
            verified.append(signature)
        if not verified:
            names = ", ".join(sorted({name for name, _ in known})) or "no key"
            raise SignatureError(f"note carries no signature from {names}")
        return tuple(verified)


def sign_note(text: str, signers: Sequence[NoteSigner]) -> SignedNote:
    """Sign `text` (ending in a newline) with every signer."""
    _check_text(text)
    return SignedNote(text, tuple(signer.sign(text.encode()) for signer in signers))


class PinnedEd25519Signer(Generic[VerifierT]):
    """An Ed25519 private key with its name; ``VERIFIER`` says which signatures it makes."""

    VERIFIER: type[VerifierT]

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._verifier = self.VERIFIER(name, private_key.public_key())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, key_id={self.key_id.hex()})"

    @property
    def name(self) -> str:
        """Key name written on signature lines (a log's origin, or a witness's name)."""
        return self._verifier.name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return self._verifier.key_id

    def verifier(self) -> VerifierT:
        """The matching verifier, e.g. to publish its vkey."""
        return self._verifier


class PinnedEd25519Key:
    """A named Ed25519 public key pinned for one kind of signature (``KEY_TYPE``).

    Subclasses say what a signature covers (``verify``); the name, key ID and vkey
    handling is the same for note signatures and cosignatures.
    """

    KEY_TYPE: int = ED25519

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self._name = name
        self._public_key = public_key
        self._key_id = key_id(name, self.KEY_TYPE, raw_public_key(public_key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey()!r})"

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Load a pinned `<name>+<hex key ID>+<base64(type || key)>`; raise `NoteError`."""
        name, public_key = parse_vkey(vkey, cls.KEY_TYPE)
        return cls(name, load_ed25519(public_key))

    @property
    def name(self) -> str:
        """Key name the signatures must carry."""
        return self._name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return self._key_id

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The pinned public key."""
        return self._public_key

    def vkey(self) -> str:
        """The vkey string to pin this key elsewhere."""
        return format_vkey(self._name, self.KEY_TYPE, raw_public_key(self._public_key))


class Ed25519NoteVerifier(PinnedEd25519Key):
    """Checks Ed25519 note signatures (type 0x01) from one pinned key."""

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True when `signature` is a valid Ed25519 signature over `text`."""
        return verify_ed25519(self._public_key, text, signature)


class Ed25519NoteSigner(PinnedEd25519Signer[Ed25519NoteVerifier]):
    """Signs notes with an Ed25519 key (signature type 0x01): a node signing its checkpoints."""

    VERIFIER = Ed25519NoteVerifier

    def sign(self, text: bytes) -> NoteSignature:
        """Sign the note text."""
        return NoteSignature(self.name, self.key_id, self._private_key.sign(text))


def format_vkey(name: str, key_type: int, public_key: bytes) -> str:
    """`<name>+<hex8 key ID>+<base64(type || public key)>`."""
    blob = base64.b64encode(bytes([key_type]) + public_key).decode()
    return f"{name}+{key_id(name, key_type, public_key).hex()}+{blob}"


def parse_vkey(vkey: str, key_type: int) -> tuple[str, bytes]:
    """Name and raw public key of a vkey of `key_type`; checks the key ID it states."""
    parts = vkey.split("+", 2)
    if len(parts) != 3 or not _HEX8.fullmatch(parts[1]):
        raise NoteError(f"verifier key {vkey[:60]!r} is not <name>+<8 hex>+<base64>")
    name, stated_id, blob = parts
    raw = b64.decode(blob, f"verifier key of {name}", NoteError)
    if not raw or raw[0] != key_type:
        raise NoteError(f"verifier key of {name} is not of signature type {key_type:#04x}")
    if key_id(name, key_type, raw[1:]).hex() != stated_id:
        raise NoteError(f"verifier key of {name} states key ID {stated_id}, which is not its own")
    return name, raw[1:]


def verify_ed25519(public_key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `message`."""
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 bytes of an Ed25519 public key (RFC 8032 encoding)."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_ed25519(public_key: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from its 32 raw bytes; `NoteError` on a wrong length."""
    if len(public_key) != ED25519_KEY_SIZE:
        raise NoteError(f"Ed25519 key has {len(public_key)} bytes, expected {ED25519_KEY_SIZE}")
    return Ed25519PublicKey.from_public_bytes(public_key)


def _check_text(text: str) -> None:
    """Note text: non-empty, newline-terminated, no control characters but newline."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    bad = next((c for c in text if c < " " and c != "\n"), None)
    if bad is not None:
        raise NoteError(f"note text holds control character {bad!r}")
