"""C2SP Ed25519 cosignatures (c2sp.org/tlog-cosignature, type 0x04): nodes vouch for peers.

A cosignature is a note signature over `cosignature/v1\\ntime <unix>\\n` followed by
the checkpoint text; its signature field is the 8-byte big-endian timestamp followed
by the 64-byte Ed25519 signature. It says: at that time, this was the largest
consistent tree head the witness saw for that log.
"""

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kuorum.ledger.errors import NoteError
from kuorum.ledger.note import (
    COSIGNATURE_V1,
    NoteSignature,
    PinnedEd25519Key,
    verify_ed25519,
)

MAX_TIMESTAMP = 2**63 - 1
"""Latest timestamp a cosignature may state (the spec's bound)."""

_SIGNATURE_SIZE = 8 + 64


def cosigned_message(checkpoint_text: bytes, timestamp: int) -> bytes:
    """What a v1 cosignature signs: header line, time line, then the checkpoint text."""
    if type(timestamp) is not int or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature time {timestamp!r} is not in 0..2^63-1")
    return b"cosignature/v1\ntime %d\n" % timestamp + checkpoint_text


class Cosigner:
    """Signs cosignatures with a witness's Ed25519 key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._verifier = CosignatureVerifier(name, private_key.public_key())

    def __repr__(self) -> str:
        return f"Cosigner({self.name!r}, key_id={self.key_id.hex()})"

    @property
    def name(self) -> str:
        """Witness name written on cosignature lines."""
        return self._verifier.name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID (type 0x04)."""
        return self._verifier.key_id

    def verifier(self) -> "CosignatureVerifier":
        """The matching verifier, e.g. to publish its vkey."""
        return self._verifier

    def cosign(self, checkpoint_text: bytes, timestamp: int) -> NoteSignature:
        """Cosign a checkpoint's note text at `timestamp` (POSIX seconds, passed in)."""
        signature = self._private_key.sign(cosigned_message(checkpoint_text, timestamp))
        return NoteSignature(self.name, self.key_id, timestamp.to_bytes(8, "big") + signature)


class CosignatureVerifier(PinnedEd25519Key):
    """Checks cosignatures from one pinned witness key; usable as a `NoteVerifier`."""

    KEY_TYPE = COSIGNATURE_V1

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True when `signature` (timestamp || Ed25519) is a valid cosignature of `text`."""
        if len(signature) != _SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        message = cosigned_message(text, timestamp)
        return verify_ed25519(self._public_key, message, signature[8:])


def cosignature_time(signature: NoteSignature) -> int:
    """The timestamp a cosignature states (POSIX seconds); verify it before trusting it."""
    if len(signature.signature) != _SIGNATURE_SIZE:
        raise NoteError(f"cosignature of {signature.name} is not 8 + 64 bytes")
    return int.from_bytes(signature.signature[:8], "big")
