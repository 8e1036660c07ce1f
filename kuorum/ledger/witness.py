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

import base64
import binascii
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kuorum.ledger.checkpoint import Checkpoint
from kuorum.ledger.cosignature import CosignatureVerifier, Cosigner
from kuorum.ledger.errors import NoteError, ProofError, SignatureError
from kuorum.ledger.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from kuorum.ledger.note import MAX_SIGNATURES, NoteSignature, NoteVerifier, SignedNote

MAX_PROOF_LINES = 63
"""Consistency proof lines a client may send (the spec's limit)."""

SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""Content type of a 409 answer carrying the witness's latest cosigned size."""

COSIGNATURE_CONTENT_TYPE = "text/x.tlog.cosignatures"
"""Content type we give a 200 answer (the spec does not name one)."""

_DECIMAL_LINE = re.compile(r"(0|[1-9][0-9]{0,19})\n")


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
    fork: bool = False
    """The checkpoint is signed by the log's own key and shows another root at a size
    already cosigned: proof of a fork (a bad consistency proof is not: anyone can send
    a real checkpoint with a corrupted proof)."""


class Witness:
    """Cosigns checkpoints of known logs when they extend what it cosigned before."""

    def __init__(self, cosigner: Cosigner, logs: Mapping[str, NoteVerifier]) -> None:
        """`logs` maps each known origin to its pinned log key."""
        self._cosigner = cosigner
        self._logs = dict(logs)

    def add_checkpoint(
        self, body: bytes, states: Mapping[str, WitnessState], now: int
    ) -> WitnessResponse:
        """Answer one add-checkpoint request body.

        `states` holds the latest cosigned state per origin (absent: never cosigned,
        i.e. size 0); `now` is the POSIX time written into the cosignature.
        """
        try:
            old, proof, note = _parse_request(body)
        except NoteError as exc:
            return _refuse(400, f"malformed add-checkpoint request: {exc}")
        origin = note.text.split("\n", 1)[0]
        verifier = self._logs.get(origin)
        if verifier is None:
            return _refuse(404, f"unknown log origin {origin!r}", origin)
        try:
            note.verify([verifier])
            checkpoint = Checkpoint.parse(note.text.encode())
        except SignatureError as exc:
            return _refuse(
                403, f"checkpoint of {origin} is not signed by its log key: {exc}", origin
            )
        except NoteError as exc:
            return _refuse(400, f"malformed checkpoint of {origin}: {exc}", origin)
        if old > checkpoint.size:
            return _refuse(
                400, f"old size {old} is past the checkpoint size {checkpoint.size}", origin
            )
        last = states.get(origin, WitnessState(0, EMPTY_ROOT))
        if old != last.size:
            return _conflict(
                last, f"old size {old} is not the size {last.size} last cosigned", origin
            )
        if old == checkpoint.size and checkpoint.root_hash != last.root_hash:
            forked = _conflict(
                last, f"{origin} shows another root at the cosigned size {old}", origin
            )
            return dataclasses.replace(forked, fork=True)
        if old == 0 and proof:
            return _refuse(422, "a consistency proof from size 0 must be empty", origin)
        if old > 0:
            try:
                verify_consistency(
                    old, checkpoint.size, last.root_hash, checkpoint.root_hash, proof
                )
            except ProofError as exc:
                return _refuse(422, f"{origin} is not consistent with size {old}: {exc}", origin)
        cosignature = self._cosigner.cosign(note.text.encode(), now)
        return WitnessResponse(
            status=200,
            body=cosignature.line().encode(),
            content_type=COSIGNATURE_CONTENT_TYPE,
            reason=f"cosigned {origin} at size {checkpoint.size}",
            origin=origin,
            new_state=WitnessState(checkpoint.size, checkpoint.root_hash),
        )


def add_checkpoint_request(
    old_size: int, proof: Sequence[bytes], signed_checkpoint: bytes
) -> bytes:
    """Body of `POST <witness>/add-checkpoint`: old size, proof lines, blank line, note."""
    if old_size < 0:
        raise NoteError(f"old size {old_size} is negative")
    if len(proof) > MAX_PROOF_LINES:
        raise NoteError(f"consistency proof has {len(proof)} hashes, more than {MAX_PROOF_LINES}")
    lines = [b"old %d\n" % old_size, *(base64.b64encode(h) + b"\n" for h in proof), b"\n"]
    return b"".join(lines) + signed_checkpoint


def parse_cosignature_response(
    body: bytes, signed_checkpoint: bytes, witness: CosignatureVerifier
) -> NoteSignature:
    """The witness's cosignature from a 200 body, verified over our checkpoint.

    Lines from other keys are ignored; raises `SignatureError` if none from `witness`
    verifies, `NoteError` if the body is malformed.
    """
    text = _decode(body, "cosignature response")
    if not text.endswith("\n"):
        raise NoteError("cosignature response must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"cosignature response has more than {MAX_SIGNATURES} lines")
    signatures = tuple(NoteSignature.parse_line(line) for line in lines)
    checkpoint = SignedNote.parse(signed_checkpoint)
    return SignedNote(checkpoint.text, signatures).verify([witness])[0]


def parse_size_response(body: bytes) -> int:
    """The witness's latest cosigned size from a 409 `text/x.tlog.size` body."""
    return _parse_decimal(_decode(body, "size response"), "size response")


def _parse_request(body: bytes) -> tuple[int, list[bytes], SignedNote]:
    text = _decode(body, "request")
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise NoteError("no blank line between the proof and the checkpoint")
    old_line, *proof_lines = head.split("\n")
    keyword, _, old = old_line.partition(" ")
    if keyword != "old":
        raise NoteError("the first line is not 'old <size>'")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise NoteError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = [_decode_hash(line) for line in proof_lines]
    return _parse_decimal(old + "\n", "old size"), proof, SignedNote.parse(note.encode())


def _parse_decimal(text: str, what: str) -> int:
    if not _DECIMAL_LINE.fullmatch(text):
        raise NoteError(f"{what} is not a decimal number and a newline")
    return int(text)


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError(f"{what} is not valid UTF-8") from exc


def _decode_hash(line: str) -> bytes:
    try:
        value = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"proof line {line[:60]!r} is not base64") from exc
    if len(value) != HASH_SIZE:
        raise NoteError(f"proof line {line[:60]!r} is not a {HASH_SIZE}-byte hash")
    return value


def _refuse(status: int, reason: str, origin: str | None = None) -> WitnessResponse:
    return WitnessResponse(
        status, f"{reason}\n".encode(), "text/plain; charset=utf-8", reason, origin
    )


def _conflict(last: WitnessState, reason: str, origin: str) -> WitnessResponse:
    return WitnessResponse(409, b"%d\n" % last.size, SIZE_CONTENT_TYPE, reason, origin)
