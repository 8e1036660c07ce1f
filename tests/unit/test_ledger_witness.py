"""C2SP tlog-witness add-checkpoint: every answer the spec gives, and the client side."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kuorum.ledger import merkle
from kuorum.ledger.checkpoint import Checkpoint, sign_checkpoint
from kuorum.ledger.cosignature import Cosigner, cosignature_time
from kuorum.ledger.errors import NoteError, SignatureError
from kuorum.ledger.note import Ed25519NoteSigner, SignedNote, sign_note
from kuorum.ledger.witness import (
    SIZE_CONTENT_TYPE,
    Witness,
    WitnessState,
    add_checkpoint_request,
    parse_cosignature_response,
    parse_size_response,
)

ORIGIN = "kuorum.io/ledger/node-1"
NOW = 1_790_000_000
LEAVES = [merkle.leaf_hash(b"entry %d" % i) for i in range(20)]


class Log:
    """A node's log as seen from its witness: leaves, key, signed checkpoints."""

    def __init__(self, leaves: list[bytes] = LEAVES, origin: str = ORIGIN) -> None:
        self.leaves = leaves
        self.signer = Ed25519NoteSigner(origin, Ed25519PrivateKey.generate())

    def checkpoint(self, size: int) -> bytes:
        root = merkle.root(self.leaves[:size])
        return sign_checkpoint(Checkpoint(self.signer.name, size, root), self.signer)

    def request(self, old: int, size: int) -> bytes:
        proof = merkle.consistency_proof(old, size, self.leaves) if old else []
        return add_checkpoint_request(old, proof, self.checkpoint(size))

    def state(self, size: int) -> dict[str, WitnessState]:
        return {ORIGIN: WitnessState(size, merkle.root(self.leaves[:size]))}


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def cosigner() -> Cosigner:
    return Cosigner("kuorum.io/witness/node-2", Ed25519PrivateKey.generate())


@pytest.fixture
def witness(log: Log, cosigner: Cosigner) -> Witness:
    return Witness(cosigner, {ORIGIN: log.signer.verifier()})


def test_first_checkpoint_is_cosigned_and_its_state_returned(
    log: Log, witness: Witness, cosigner: Cosigner
) -> None:
    response = witness.add_checkpoint(log.request(0, 5), {}, NOW)
    assert response.status == 200, response.reason
    assert response.origin == ORIGIN
    assert response.new_state == WitnessState(5, merkle.root(LEAVES[:5]))
    cosignature = parse_cosignature_response(response.body, log.checkpoint(5), cosigner.verifier())
    assert cosignature_time(cosignature) == NOW


def test_consistent_growth_is_cosigned(log: Log, witness: Witness) -> None:
    response = witness.add_checkpoint(log.request(5, 20), log.state(5), NOW)
    assert response.status == 200, response.reason
    assert response.new_state == WitnessState(20, merkle.root(LEAVES))


def test_same_checkpoint_again_is_cosigned_again(log: Log, witness: Witness) -> None:
    response = witness.add_checkpoint(log.request(20, 20), log.state(20), NOW + 60)
    assert response.status == 200, response.reason


def test_other_signatures_on_the_checkpoint_are_ignored(log: Log, witness: Witness) -> None:
    note = SignedNote.parse(log.checkpoint(5))
    other = Cosigner("kuorum.io/witness/node-3", Ed25519PrivateKey.generate())
    cosigned = note.with_signatures(other.cosign(note.text.encode(), NOW)).format()
    response = witness.add_checkpoint(add_checkpoint_request(0, [], cosigned), {}, NOW)
    assert response.status == 200, response.reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"old 0\n", "no blank line"),
        (b"old 00\n\n", "not a decimal"),
        (b"old -1\n\n", "not a decimal"),
        (b"new 0\n\n", "not 'old <size>'"),
        (b"old 0\nnot-base64\n\n", "not base64"),
        (b"old 0\nAAAA\n\n", "32-byte hash"),
        (b"old 0\n" + b"A" * 43 + b"=\n" * 64 + b"\n", "more than 63"),
        (b"old 0\n\n\xff", "UTF-8"),
        (b"old 0\n\nno signatures\n", "no blank line followed by signature lines"),
    ],
    ids=[
        "no-checkpoint",
        "leading-zero",
        "negative",
        "wrong-keyword",
        "bad-proof-line",
        "short-proof-hash",
        "too-many-proof-lines",
        "not-utf8",
        "unsigned-checkpoint",
    ],
)
def test_malformed_requests_get_400(witness: Witness, body: bytes, reason: str) -> None:
    response = witness.add_checkpoint(body, {}, NOW)
    assert response.status == 400
    assert reason in response.reason
    assert response.new_state is None


def test_old_size_past_the_checkpoint_gets_400(log: Log, witness: Witness) -> None:
    body = add_checkpoint_request(6, [], log.checkpoint(5))
    response = witness.add_checkpoint(body, log.state(6), NOW)
    assert response.status == 400
    assert "past the checkpoint size 5" in response.reason


def test_signed_but_malformed_checkpoint_gets_400(log: Log, witness: Witness) -> None:
    note = sign_note(f"{ORIGIN}\n5\nnot a root\n", [log.signer]).format()
    response = witness.add_checkpoint(add_checkpoint_request(0, [], note), {}, NOW)
    assert response.status == 400
    assert "malformed checkpoint" in response.reason


def test_unknown_origin_gets_404(witness: Witness) -> None:
    stranger = Log(origin="example.com/other")
    response = witness.add_checkpoint(stranger.request(0, 5), {}, NOW)
    assert response.status == 404
    assert "example.com/other" in response.reason


def test_checkpoint_signed_by_another_key_gets_403(witness: Witness) -> None:
    impostor = Log()  # same origin, another key
    response = witness.add_checkpoint(impostor.request(0, 5), {}, NOW)
    assert response.status == 403
    assert response.new_state is None


def test_tampered_checkpoint_gets_403(log: Log, witness: Witness) -> None:
    body = log.request(0, 5).replace(b"\n5\n", b"\n6\n")
    response = witness.add_checkpoint(body, {}, NOW)
    assert response.status == 403
    assert "does not verify" in response.reason


def test_stale_old_size_gets_409_with_the_cosigned_size(log: Log, witness: Witness) -> None:
    response = witness.add_checkpoint(log.request(5, 20), log.state(12), NOW)
    assert response.status == 409
    assert response.content_type == SIZE_CONTENT_TYPE
    assert response.body == b"12\n"
    assert parse_size_response(response.body) == 12
    assert response.new_state is None


def test_first_contact_with_old_zero_learns_the_size(log: Log, witness: Witness) -> None:
    response = witness.add_checkpoint(log.request(0, 20), log.state(12), NOW)
    assert response.status == 409
    assert parse_size_response(response.body) == 12


def test_another_root_at_the_cosigned_size_gets_409(log: Log, cosigner: Cosigner) -> None:
    forked = Log([*LEAVES[:11], merkle.leaf_hash(b"forged"), *LEAVES[12:]])
    witness = Witness(cosigner, {ORIGIN: forked.signer.verifier()})
    response = witness.add_checkpoint(forked.request(20, 20), log.state(20), NOW)
    assert response.status == 409
    assert "another root" in response.reason
    assert response.fork, "two roots signed by the log's key for one size: a proven fork"


def test_rewritten_history_gets_422(log: Log, cosigner: Cosigner) -> None:
    forked = Log([*LEAVES[:3], merkle.leaf_hash(b"forged"), *LEAVES[4:]])
    witness = Witness(cosigner, {ORIGIN: forked.signer.verifier()})
    response = witness.add_checkpoint(forked.request(12, 20), log.state(12), NOW)
    assert response.status == 422
    assert "not consistent with size 12" in response.reason
    assert response.new_state is None


def test_corrupted_proof_gets_422(log: Log, witness: Witness) -> None:
    proof = merkle.consistency_proof(12, 20, LEAVES)
    proof[0] = bytes(32)
    body = add_checkpoint_request(12, proof, log.checkpoint(20))
    response = witness.add_checkpoint(body, log.state(12), NOW)
    assert (response.status, response.fork) == (422, False), "anyone can corrupt a proof"


def test_proof_from_size_zero_gets_422(log: Log, witness: Witness) -> None:
    body = add_checkpoint_request(0, [merkle.EMPTY_ROOT], log.checkpoint(5))
    assert witness.add_checkpoint(body, {}, NOW).status == 422


def test_request_body_follows_the_spec_layout(log: Log) -> None:
    proof = merkle.consistency_proof(12, 20, LEAVES)
    checkpoint = log.checkpoint(20)
    body = add_checkpoint_request(12, proof, checkpoint)
    lines = [b"old 12"] + [base64.b64encode(h) for h in proof]
    assert body == b"\n".join(lines) + b"\n\n" + checkpoint


def test_requests_with_too_many_proof_hashes_are_not_built(log: Log) -> None:
    with pytest.raises(NoteError, match="more than 63"):
        add_checkpoint_request(1, [bytes(32)] * 64, log.checkpoint(5))


def test_cosignature_response_keeps_only_the_pinned_witness(
    log: Log, witness: Witness, cosigner: Cosigner
) -> None:
    response = witness.add_checkpoint(log.request(0, 5), {}, NOW)
    text = SignedNote.parse(log.checkpoint(5)).text.encode()
    other = Cosigner("kuorum.io/witness/node-3", Ed25519PrivateKey.generate())
    body = other.cosign(text, NOW).line().encode() + response.body
    cosignature = parse_cosignature_response(body, log.checkpoint(5), cosigner.verifier())
    assert cosignature.name == cosigner.name
    with pytest.raises(SignatureError, match=r"no signature from kuorum\.io/witness/node-3"):
        parse_cosignature_response(response.body, log.checkpoint(5), other.verifier())


def test_cosignature_over_another_checkpoint_is_rejected(
    log: Log, witness: Witness, cosigner: Cosigner
) -> None:
    response = witness.add_checkpoint(log.request(0, 5), {}, NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        parse_cosignature_response(response.body, log.checkpoint(6), cosigner.verifier())


@pytest.mark.parametrize("body", [b"12", b"012\n", b"twelve\n", b"-1\n"])
def test_bad_size_responses_are_rejected(body: bytes) -> None:
    with pytest.raises(NoteError, match="not a decimal"):
        parse_size_response(body)
