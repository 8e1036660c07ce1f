"""C2SP Ed25519 cosignatures (c2sp.org/tlog-cosignature, type 0x04): nodes vouch for peers.

A cosignature is a note signature over `cosignature/v1\\ntime <unix>\\n` followed by
the checkpoint text; its signature field is the 8-byte big-endian timestamp followed
by the 64-byte Ed25519 signature. It says: at that time, this was the largest
consistent tree head the witness saw for that log.
"""

from kuorum.ledger.errors import NoteError
from kuorum.ledger.note import (
    COSIGNATURE_V1,
    NoteSignature,
    PinnedEd25519Key,
    PinnedEd25519Signer,
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


class Cosigner(PinnedEd25519Signer[CosignatureVerifier]):
    """Signs cosignatures with a witness's Ed25519 key."""

    VERIFIER = CosignatureVerifier

    def cosign(self, checkpoint_text: bytes, timestamp: int) -> NoteSignature:
        """Cosign a checkpoint's note text at `timestamp` (POSIX seconds, passed in)."""
        signature = self._private_key.sign(cosigned_message(checkpoint_text, timestamp))
        return NoteSignature(self.name, self.key_id, timestamp.to_bytes(8, "big") + signature)


def cosignature_time(signature: NoteSignature) -> int:
    """The timestamp a cosignature states (POSIX seconds); verify it before trusting it."""
    if len(signature.signature) != _SIGNATURE_SIZE:
        raise NoteError(f"cosignature of {signature.name} is not 8 + 64 bytes")
    return int.from_bytes(signature.signature[:8], "big")
