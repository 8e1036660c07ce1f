"""The checks behind `kuorum ledger verify`: does a node's log hold up against its keys?

Given what a node serves (its entries and latest signed checkpoint) and what its
peers say they cosigned, `audit_node` checks the log signature against the pinned
ShareNode key, recomputes the Merkle root from the entries, parses every entry, and
checks that each witnessed checkpoint is a prefix of the current log. A rewritten,
reordered, truncated or re-signed history shows up as a problem sentence naming what
is wrong; the audit itself never raises on bad evidence.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from kuorum.ledger.cosignature import CosignatureVerifier
from kuorum.ledger.note import NoteVerifier


@dataclass(frozen=True)
class WitnessReport:
    """What one witness says it last cosigned for the audited node."""

    witness: str
    """Display name, e.g. the witnessing node's ShareNode name."""
    verifier: CosignatureVerifier
    """The witness's pinned cosignature key."""
    signed_checkpoint: bytes
    """The node's checkpoint carrying the log signature and the witness cosignature."""


@dataclass(frozen=True)
class NodeAudit:
    """Outcome of auditing one node's ledger; `ok` when `problems` is empty."""

    node: str
    tree_size: int
    """Size of the node's signed checkpoint (0 if it could not be read)."""
    entries: int
    """Entries the node served."""
    witnesses: int
    """Witness reports that checked out against the log."""
    problems: tuple[str, ...] = field(default=())
    """Human sentences, each naming one thing that is wrong."""

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def to_json(self) -> dict[str, object]:
        """Plain data for `kuorum ledger verify --json`."""
        raise NotImplementedError


def audit_node(
    node: str,
    log_verifier: NoteVerifier,
    entries: Sequence[bytes],
    signed_checkpoint: bytes,
    witnesses: Sequence[WitnessReport] = (),
) -> NodeAudit:
    """Audit one node's ledger; every failed check becomes a problem, none raises."""
    raise NotImplementedError
