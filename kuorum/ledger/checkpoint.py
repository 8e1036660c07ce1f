"""C2SP checkpoints (c2sp.org/tlog-checkpoint): the signed head of a node's ledger.

The note text is the origin line, the decimal tree size, the base64 root hash, then
optional extension lines. Parsing is strict so that one tree head has exactly one
text, which is what gets signed and cosigned.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from kuorum.ledger.errors import NoteError
from kuorum.ledger.merkle import HASH_SIZE
from kuorum.ledger.note import NoteSigner, NoteVerifier, SignedNote, sign_note

MAX_SIZE = 2**64 - 1
"""Largest tree size a checkpoint can state (uint64, as every log implementation)."""

_DECIMAL = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: which log (`origin`), how many leaves (`size`), and their root."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in [("origin", self.origin), *(("extension", e) for e in self.extensions)]:
            if not line:
                raise NoteError(f"checkpoint {what} line is empty")
            if any(c < " " for c in line):
                raise NoteError(f"checkpoint {what} line {line!r} holds a control character")
        if type(self.size) is not int or not 0 <= self.size <= MAX_SIZE:
            raise NoteError(f"checkpoint size {self.size!r} is not an integer in 0..2^64-1")
        if len(self.root_hash) != HASH_SIZE:
            raise NoteError(f"checkpoint root hash has {len(self.root_hash)} bytes, not 32")

    def format(self) -> bytes:
        """The note text: origin, size, base64 root, extension lines, each ending in newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "".join(f"{line}\n" for line in [*lines, *self.extensions]).encode()

    @classmethod
    def parse(cls, text: bytes) -> "Checkpoint":
        """Read a note text strictly; raise `NoteError` naming the bad line."""
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("checkpoint is not valid UTF-8") from exc
        if not decoded.endswith("\n"):
            raise NoteError("checkpoint text must end with a newline")
        lines = decoded[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(f"checkpoint has {len(lines)} lines, needs origin, size and root")
        origin, size, root_hash, *extensions = lines
        if not _DECIMAL.fullmatch(size):
            raise NoteError(f"checkpoint size line {size[:30]!r} is not a decimal number")
        checkpoint = cls(origin, int(size), _decode_root(root_hash), tuple(extensions))
        if checkpoint.format() != text:
            raise NoteError("checkpoint root hash is not in canonical base64")
        return checkpoint


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> bytes:
    """The signed note of `checkpoint`, ready to publish at GET /v1/ledger/checkpoint."""
    return sign_note(checkpoint.format().decode(), [signer]).format()


def open_checkpoint(data: bytes, verifier: NoteVerifier) -> tuple[Checkpoint, SignedNote]:
    """Parse a signed checkpoint that must carry a valid signature from `verifier`.

    Other signatures (witness cosignatures, rotated keys) are kept on the returned
    note but not checked here. Raises `NoteError` or `SignatureError`.
    """
    note = SignedNote.parse(data)
    note.verify([verifier])
    return Checkpoint.parse(note.text.encode()), note


def _decode_root(line: str) -> bytes:
    try:
        return base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"checkpoint root line {line[:60]!r} is not base64") from exc
