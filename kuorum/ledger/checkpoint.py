"""C2SP checkpoints (c2sp.org/tlog-checkpoint): the signed head of a node's ledger.

The note text is the origin line, the decimal tree size, the base64 root hash, then
optional extension lines. Parsing is strict so that one tree head has exactly one
text, which is what gets signed and cosigned.
"""

from dataclasses import dataclass

from kuorum.ledger.note import NoteSigner, NoteVerifier, SignedNote


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: which log (`origin`), how many leaves (`size`), and their root."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        raise NotImplementedError

    def format(self) -> bytes:
        """The note text: origin, size, base64 root, extension lines, each ending in newline."""
        raise NotImplementedError

    @classmethod
    def parse(cls, text: bytes) -> "Checkpoint":
        """Read a note text strictly; raise `NoteError` naming the bad line."""
        raise NotImplementedError


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> bytes:
    """The signed note of `checkpoint`, ready to publish at GET /v1/ledger/checkpoint."""
    raise NotImplementedError


def open_checkpoint(data: bytes, verifier: NoteVerifier) -> tuple[Checkpoint, SignedNote]:
    """Parse a signed checkpoint that must carry a valid signature from `verifier`.

    Other signatures (witness cosignatures, rotated keys) are kept on the returned
    note but not checked here. Raises `NoteError` or `SignatureError`.
    """
    raise NotImplementedError
