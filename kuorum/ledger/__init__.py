"""The tamper-evident ledger core: pure, no I/O.

Per-node append-only Merkle logs (RFC 6962 hashing), C2SP signed checkpoints,
witness cosignatures and the add-checkpoint exchange, and the audit behind
`kuorum ledger verify`.

    merkle       hashing, roots, inclusion and consistency proofs, CompactTree
    note         signed notes, Ed25519 note keys, vkeys
    checkpoint   tree heads as signed notes
    cosignature  timestamped witness cosignatures
    entries      the events a node logs, in canonical bytes
    witness      the tlog-witness add-checkpoint rules, server and client side
    audit        the checks of `kuorum ledger verify`
"""

from kuorum.ledger.audit import NodeAudit, WitnessReport, audit_node
from kuorum.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from kuorum.ledger.cosignature import CosignatureVerifier, Cosigner, cosignature_time
from kuorum.ledger.entries import Entry, EntryKind
from kuorum.ledger.errors import EntryError, LedgerError, NoteError, ProofError, SignatureError
from kuorum.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from kuorum.ledger.note import (
    COSIGNATURE_V1,
    ED25519,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    SignedNote,
    key_id,
    sign_note,
)
from kuorum.ledger.witness import (
    SIZE_CONTENT_TYPE,
    Witness,
    WitnessResponse,
    WitnessState,
    add_checkpoint_request,
    parse_cosignature_response,
    parse_size_response,
)

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "SIZE_CONTENT_TYPE",
    "Checkpoint",
    "CompactTree",
    "CosignatureVerifier",
    "Cosigner",
    "Ed25519NoteSigner",
    "Ed25519NoteVerifier",
    "Entry",
    "EntryError",
    "EntryKind",
    "LedgerError",
    "NodeAudit",
    "NoteError",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "ProofError",
    "SignatureError",
    "SignedNote",
    "Witness",
    "WitnessReport",
    "WitnessResponse",
    "WitnessState",
    "add_checkpoint_request",
    "audit_node",
    "consistency_proof",
    "cosignature_time",
    "inclusion_proof",
    "key_id",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "parse_cosignature_response",
    "parse_size_response",
    "root",
    "sign_checkpoint",
    "sign_note",
    "verify_consistency",
    "verify_inclusion",
]
