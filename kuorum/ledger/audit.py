"""The checks behind `kuorum ledger verify`: does a node's log hold up against its keys?

Given what a node serves (its entries and latest signed checkpoint) and what its
peers say they cosigned, `audit_node` checks the log signature against the pinned
ShareNode key, recomputes the Merkle root from the entries, parses every entry, and
checks that each witnessed checkpoint is a prefix of the current log. A rewritten,
reordered, truncated or re-signed history shows up as a problem sentence naming what
is wrong; the audit itself never raises on bad evidence.

A log is only as good as its witnesses: with ``quorum`` k, every entry must be covered
by checkpoints that at least k peers cosigned, except entries written after
``fresh_after`` (witnessing runs on a timer, so the newest entries wait for it). A node
that rewrites what nobody witnessed, or avoids its witnesses, fails, with the uncovered
range named.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kuorum.ledger.checkpoint import Checkpoint, open_checkpoint
from kuorum.ledger.cosignature import CosignatureVerifier
from kuorum.ledger.entries import Entry
from kuorum.ledger.errors import EntryError, LedgerError
from kuorum.ledger.merkle import CompactTree, leaf_hash
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
    origin: str
    """Log origin of the node's signed checkpoint ("" if it could not be read)."""
    tree_size: int
    """Size of the node's signed checkpoint (0 if it could not be read)."""
    entries: int
    """Entries the node served."""
    witnesses: int
    """Witness reports whose signatures verified (whether they match the log is a problem)."""
    problems: tuple[str, ...] = field(default=())
    """Human sentences, each naming one thing that is wrong."""

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def to_json(self) -> dict[str, object]:
        """Plain data for `kuorum ledger verify --json`."""
        return {
            "node": self.node,
            "ok": self.ok,
            "origin": self.origin,
            "treeSize": self.tree_size,
            "entries": self.entries,
            "witnesses": self.witnesses,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class _Head:
    """A tree head vouched for by someone: who, and the size and root they signed."""

    source: str
    size: int
    root_hash: bytes


def audit_node(
    node: str,
    log_verifier: NoteVerifier,
    entries: Sequence[bytes],
    signed_checkpoint: bytes,
    witnesses: Sequence[WitnessReport] = (),
    *,
    quorum: int = 0,
    fresh_after: datetime | None = None,
) -> NodeAudit:
    """Audit one node's ledger; every failed check becomes a problem, none raises.

    ``quorum``: cosigning peers each entry needs, unless written after ``fresh_after``.
    """
    problems: list[str] = []
    checkpoint = None
    try:
        checkpoint, _ = open_checkpoint(signed_checkpoint, log_verifier)
    except LedgerError as exc:
        problems.append(f"the checkpoint of {node} does not hold up: {exc}")
    parsed: list[Entry | None] = []
    for index, data in enumerate(entries):
        try:
            parsed.append(Entry.from_bytes(data))
        except EntryError as exc:
            parsed.append(None)
            problems.append(f"entry {index} is not a valid ledger entry: {exc}")

    own = []
    if checkpoint is not None:
        own.append(_Head("its signed checkpoint", checkpoint.size, checkpoint.root_hash))
    witnessed = [
        head
        for report in witnesses
        if (head := _witnessed_head(report, log_verifier, checkpoint, problems)) is not None
    ]
    leaves = [leaf_hash(data) for data in entries]
    problems.extend(_check_heads([*own, *witnessed], leaves))
    if checkpoint is not None and quorum > 0:
        problems.extend(
            _coverage(node, checkpoint.size, witnessed, leaves, parsed, quorum, fresh_after)
        )
    return NodeAudit(
        node=node,
        origin="" if checkpoint is None else checkpoint.origin,
        tree_size=0 if checkpoint is None else checkpoint.size,
        entries=len(entries),
        witnesses=len(witnessed),
        problems=tuple(problems),
    )


def _witnessed_head(
    report: WitnessReport,
    log_verifier: NoteVerifier,
    checkpoint: Checkpoint | None,
    problems: list[str],
) -> _Head | None:
    """The head a witness vouches for, if its report holds up; else say why in `problems`."""
    source = f"the checkpoint witness {report.witness} cosigned"
    try:
        witnessed, note = open_checkpoint(report.signed_checkpoint, log_verifier)
        note.verify([report.verifier])
    except LedgerError as exc:
        problems.append(f"{source} does not hold up: {exc}")
        return None
    if checkpoint is not None and witnessed.origin != checkpoint.origin:
        problems.append(f"{source} is of log {witnessed.origin}, not {checkpoint.origin}")
        return None
    if checkpoint is not None and witnessed.size > checkpoint.size:
        problems.append(
            f"the signed checkpoint ({checkpoint.size}) is behind {source} ({witnessed.size}):"
            " the log was rolled back"
        )
    return _Head(source, witnessed.size, witnessed.root_hash)


def _coverage(
    node: str,
    size: int,
    witnessed: Sequence[_Head],
    leaves: Sequence[bytes],
    parsed: Sequence[Entry | None],
    quorum: int,
    fresh_after: datetime | None,
) -> list[str]:
    """The entries fewer than ``quorum`` peers vouch for, if any is not fresh."""
    roots = _prefix_roots(leaves, {h.size for h in witnessed})
    vouched = sorted((h.size for h in witnessed if roots.get(h.size) == h.root_hash), reverse=True)
    covered = vouched[quorum - 1] if len(vouched) >= quorum else 0
    uncovered = [e for e in parsed[covered:size] if e is not None]
    if covered >= size or (
        fresh_after is not None
        and len(uncovered) == size - covered
        and all(e.time >= fresh_after for e in uncovered)
    ):
        return []
    return [
        f"entries {covered}..{size - 1} of {node} are cosigned by fewer than {quorum} peers "
        f"({len(vouched)} vouch for a prefix): nobody can tell whether they were rewritten; "
        "check that the peers witness this node (their logs name refused checkpoints)"
    ]


def _check_heads(heads: Sequence[_Head], leaf_hashes: Sequence[bytes]) -> list[str]:
    """Each head must be the root of a prefix of the entries; locate changes between heads."""
    roots = _prefix_roots(leaf_hashes, {h.size for h in heads})
    matched = {h.size for h in heads if roots.get(h.size) == h.root_hash}
    problems = []
    for head in heads:
        if head.size > len(leaf_hashes):
            problems.append(
                f"log is shorter ({len(leaf_hashes)}) than {head.source} ({head.size}):"
                " entries were removed"
            )
        elif roots[head.size] != head.root_hash:
            start = max((s for s in matched if s < head.size), default=0)
            where = (
                f"entry {start}"
                if start == head.size - 1
                else f"an entry in {start}..{head.size - 1}"
            )
            problems.append(
                f"the first {head.size} entries do not match {head.source}:"
                f" {where} was edited, removed, inserted or reordered"
            )
    return problems


def _prefix_roots(leaf_hashes: Sequence[bytes], sizes: set[int]) -> dict[int, bytes]:
    """Merkle roots of the first `size` leaves for each size held, in one O(n) pass."""
    tree = CompactTree()
    roots = {}
    for size in sorted(s for s in sizes if s <= len(leaf_hashes)):
        while tree.size < size:
            tree.append(leaf_hashes[tree.size])
        roots[size] = tree.root()
    return roots
