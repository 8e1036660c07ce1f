"""C2SP tlog-witness (c2sp.org/tlog-witness): nodes cosign each other's checkpoints.

Server side, `Witness.add_checkpoint` answers `POST /v1/ledger/add-checkpoint`
exactly as the spec says: 400 malformed, 404 unknown origin, 403 no valid log
signature, 409 (with the size it holds) when `old` is not its latest cosigned size or
the same size has another root, 422 when the consistency proof fails, 200 with the
cosignature line. It is pure: the caller keeps the state per origin, and MUST check,
persist `new_state` and answer as one atomic step (one lock), or a slower request
could roll the witnessed size back. Client side builds the request body and checks
the cosignature that comes back.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kuorum.ledger.cosignature import CosignatureVerifier, Cosigner
from kuorum.ledger.note import NoteSignature, NoteVerifier

MAX_PROOF_LINES = 63
"""Consistency proof lines a client may send (the spec's limit)."""

SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""Content type of a 409 answer carrying the witness's latest cosigned size."""

COSIGNATURE_CONTENT_TYPE = "text/x.tlog.cosignatures"
"""Content type we give a 200 answer (the spec does not name one)."""


@dataclass(frozen=True)
class WitnessState:
    """The latest checkpoint this witness cosigned for one log: persist it per origin."""

    size: int
    root_hash: bytes


@dataclass(frozen=True)
class WitnessResponse:
    """What to answer: HTTP status, body and content type, and the state to persist."""

    status: int
    body: bytes
    content_type: str
    reason: str
    """Why, for the node's ledger entry and logs (the body of a 4xx says the same)."""
    origin: str | None = None
    """Origin of the submitted checkpoint, once it could be parsed."""
    new_state: WitnessState | None = None
    """Set on 200 only: persist it for `origin` before sending the answer."""


class Witness:
    """Cosigns checkpoints of known logs when they extend what it cosigned before."""

    def __init__(self, cosigner: Cosigner, logs: Mapping[str, NoteVerifier]) -> None:
        """`logs` maps each known origin to its pinned log key."""
        raise NotImplementedError

    def add_checkpoint(
        self, body: bytes, states: Mapping[str, WitnessState], now: int
    ) -> WitnessResponse:
        """Answer one add-checkpoint request body.

        `states` holds the latest cosigned state per origin (absent: never cosigned,
        i.e. size 0); `now` is the POSIX time written into the cosignature.
        """
        raise NotImplementedError


def add_checkpoint_request(
    old_size: int, proof: Sequence[bytes], signed_checkpoint: bytes
) -> bytes:
    """Body of `POST <witness>/add-checkpoint`: old size, proof lines, blank line, note."""
    raise NotImplementedError


def parse_cosignature_response(
    body: bytes, signed_checkpoint: bytes, witness: CosignatureVerifier
) -> NoteSignature:
    """The witness's cosignature from a 200 body, verified over our checkpoint.

    Lines from other keys are ignored; raises `SignatureError` if none from `witness`
    verifies, `NoteError` if the body is malformed.
    """
    raise NotImplementedError


def parse_size_response(body: bytes) -> int:
    """The witness's latest cosigned size from a 409 `text/x.tlog.size` body."""
    raise NotImplementedError
