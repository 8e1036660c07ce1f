"""C2SP Ed25519 cosignatures (c2sp.org/tlog-cosignature, type 0x04): nodes vouch for peers.

A cosignature is a note signature over `cosignature/v1\\ntime <unix>\\n` followed by
the checkpoint text; its signature field is the 8-byte big-endian timestamp followed
by the 64-byte Ed25519 signature. It says: at that time, this was the largest
consistent tree head the witness saw for that log.
"""

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kuorum.ledger.note import NoteSignature


class Cosigner:
    """Signs cosignatures with a witness's Ed25519 key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """Witness name written on cosignature lines."""
        raise NotImplementedError

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID (type 0x04)."""
        raise NotImplementedError

    def verifier(self) -> "CosignatureVerifier":
        """The matching verifier, e.g. to publish its vkey."""
        raise NotImplementedError

    def cosign(self, checkpoint_text: bytes, timestamp: int) -> NoteSignature:
        """Cosign a checkpoint's note text at `timestamp` (POSIX seconds, passed in)."""
        raise NotImplementedError


class CosignatureVerifier:
    """Checks cosignatures from one pinned witness key; usable as a `NoteVerifier`."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        raise NotImplementedError

    @classmethod
    def from_vkey(cls, vkey: str) -> "CosignatureVerifier":
        """Load a pinned `<name>+<hex key ID>+<base64(0x04 || key)>`; raise `NoteError`."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """Witness name the cosignatures must carry."""
        raise NotImplementedError

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID (type 0x04)."""
        raise NotImplementedError

    def vkey(self) -> str:
        """The vkey string to pin this witness elsewhere."""
        raise NotImplementedError

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True when `signature` (timestamp || Ed25519) is a valid cosignature of `text`."""
        raise NotImplementedError


def cosignature_time(signature: NoteSignature) -> int:
    """The timestamp a cosignature states (POSIX seconds); verify it before trusting it."""
    raise NotImplementedError
