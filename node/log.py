"""This node's ledger in memory: leaf hashes, the compact tree, and checkpoint signing.

The database holds the truth; at start the node rebuilds this view from the stored
leaf hashes. Appending is two steps so the database commit sits in between:
:meth:`NodeLog.prepare` computes the entries, new root and signed checkpoint without
changing anything; the caller commits them; :meth:`NodeLog.accept` then advances.
Only the writer thread calls them. Proofs read a prefix of the leaf list, which is
safe from any thread because the list only grows.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum.ledger import merkle
from kuorum.ledger.checkpoint import Checkpoint, sign_checkpoint
from kuorum.ledger.entries import MAX_ACTOR, Entry, EntryKind
from kuorum.ledger.note import Ed25519NoteSigner
from kuorum.node.errors import NotFound
from kuorum.node.storage import Append

__all__ = ["Batch", "EntryKind", "NodeLog"]


@dataclass(frozen=True)
class Batch:
    """Entries to commit together, and the checkpoint that covers them all."""

    appends: tuple[Append, ...]
    size: int
    checkpoint: str


class NodeLog:
    """Leaf hashes, compact tree and signer of the ledger ``origin``."""

    def __init__(
        self, origin: str, signing_key: ed25519.Ed25519PrivateKey, leaf_hashes: Sequence[bytes]
    ) -> None:
        self.origin = origin
        self.signer = Ed25519NoteSigner(origin, signing_key)
        self._leaves = list(leaf_hashes)
        self._tree = merkle.CompactTree.from_leaf_hashes(self._leaves)

    @property
    def size(self) -> int:
        return len(self._leaves)

    def prepare(self, entries: Sequence[Entry]) -> Batch:
        """Encode ``entries`` as the next leaves and sign the resulting checkpoint."""
        tree = merkle.CompactTree(self._tree.size, self._tree.hashes)
        appends = []
        for offset, entry in enumerate(entries):
            body = entry.to_bytes()
            leaf = merkle.leaf_hash(body)
            tree.append(leaf)
            appends.append(Append(self.size + offset, body, leaf))
        checkpoint = Checkpoint(self.origin, tree.size, tree.root())
        return Batch(tuple(appends), tree.size, sign_checkpoint(checkpoint, self.signer).decode())

    def accept(self, batch: Batch) -> None:
        """Advance past a committed batch."""
        for append in batch.appends:
            self._leaves.append(append.leaf_hash)
            self._tree.append(append.leaf_hash)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 audit path of entry ``index`` in the tree of ``size`` entries."""
        self._check_size(size)
        if not 0 <= index < size:
            raise NotFound(f"entry {index} is not in a tree of size {size}; use index < size")
        return merkle.inclusion_proof(index, size, self._leaves)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 6962 proof that the tree of ``old`` entries is a prefix of ``new``."""
        self._check_size(new)
        if not 0 < old <= new:
            raise NotFound(f"no consistency proof from size {old} to {new}; use 0 < old <= new")
        return merkle.consistency_proof(old, new, self._leaves)

    def _check_size(self, size: int) -> None:
        if size > self.size:
            raise NotFound(f"the ledger of {self.origin} has {self.size} entries, not {size}")


def entry(
    kind: EntryKind,
    actor: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    version: int | None = None,
    index: int | None = None,
    reason: str = "",
    pod: str | None = None,
    pod_uid: str | None = None,
) -> Entry:
    """A ledger entry stamped with the current time.

    Identities longer than the entry format allows (a 253-character ServiceAccount in a
    63-character namespace) are cut rather than lost with the whole entry.
    """
    return Entry(
        kind=kind,
        time=datetime.datetime.now(datetime.UTC),
        actor=actor[:MAX_ACTOR],
        namespace=namespace,
        name=name,
        version=version,
        index=index,
        reason=reason,
        pod=pod,
        pod_uid=pod_uid,
    )
