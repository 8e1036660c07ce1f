"""RFC 6962 / RFC 9162 Merkle tree hashing and proofs for the per-node ledger.

Leaves are hashed with prefix 0x00, interior nodes with 0x01, SHA-256 throughout,
so any RFC 6962 verifier can check our logs. Proofs are generated from the list of
leaf hashes (logs hold thousands to ~100k entries) in O(n); verification follows
RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step and raises `ProofError`.
"""

import hashlib
from collections.abc import Sequence

from kuorum.ledger.errors import ProofError

HASH_SIZE = 32
"""Bytes in every hash of the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the empty tree: SHA-256 of nothing (RFC 9162 section 2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Root of the tree over `leaf_hashes` (MTH of RFC 9162 section 2.1.1), in O(n)."""
    return _subtree_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(index: int, size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 2.1.3.1).

    `leaf_hashes` may hold more than `size` leaves, so proofs for older tree heads
    come from the current log.
    """
    _check_size(size, leaf_hashes)
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        split = start + _largest_power_of_two_below(end - start)
        if index < split:
            proof.append(_subtree_root(leaf_hashes, split, end))
            end = split
        else:
            proof.append(_subtree_root(leaf_hashes, start, split))
            start = split
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Proof that the tree of `old_size` leaves is a prefix of `new_size` (RFC 9162 2.1.4.1).

    Empty when the sizes are equal; a proof from the empty tree proves nothing and is
    refused, as RFC 9162 only defines proofs for 0 < old_size.
    """
    _check_size(new_size, leaf_hashes)
    if not 0 < old_size <= new_size:
        raise ProofError(
            f"no consistency proof from size {old_size} to {new_size}: need 0 < old <= new"
        )
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        split = _largest_power_of_two_below(end - start)
        if m <= split:
            proof.append(_subtree_root(leaf_hashes, start + split, end))
            end = start + split
        else:
            proof.append(_subtree_root(leaf_hashes, start, start + split))
            start, m, complete = start + split, m - split, False
    if not complete:
        proof.append(_subtree_root(leaf_hashes, start, end))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Check that `leaf_hash` sits at `index` of the tree `root_hash` (RFC 9162 2.1.3.2).

    Raises `ProofError` saying what did not hold.
    """
    _check_hash("leaf hash", leaf_hash)
    _check_proof_hashes(proof)
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof is longer than a tree of size {size} needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"inclusion proof is shorter than a tree of size {size} needs")
    if r != root_hash:
        raise ProofError(
            f"inclusion proof of leaf {index} does not lead to the root of size {size}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that tree `old_root` of `old_size` is a prefix of `new_root` (RFC 9162 2.1.4.2).

    Equal sizes need an empty proof and equal roots (the empty tree's being
    `EMPTY_ROOT`); a proof from size 0 to more proves nothing and is refused.
    Raises `ProofError` saying what did not hold.
    """
    _check_proof_hashes(proof)
    if old_size > new_size:
        raise ProofError(f"tree size went back from {old_size} to {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError(f"consistency proof between equal sizes {old_size} must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same tree size {old_size}")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("the root of the empty tree is not SHA-256 of nothing")
        return
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise ProofError(f"empty consistency proof from size {old_size} to {new_size}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(
                f"consistency proof from {old_size} to {new_size} is longer than needed"
            )
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"consistency proof from {old_size} to {new_size} is shorter than needed")
    if fr != old_root:
        raise ProofError(f"consistency proof does not lead to the root of size {old_size}")
    if sr != new_root:
        raise ProofError(f"consistency proof does not lead to the root of size {new_size}")


class CompactTree:
    """The right edge of an append-only tree: O(log n) hashes, O(log n) per append.

    The node appends one leaf per ledger entry and reads `root()` when it signs a
    checkpoint, without keeping the whole tree in memory. `hashes` (the roots of the
    perfect subtrees, largest first) and `size` are enough to persist and restore it.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Restore a tree of `size` leaves from its perfect-subtree roots, largest first."""
        if size < 0:
            raise ProofError(f"tree size {size} is negative")
        if len(hashes) != size.bit_count():
            raise ProofError(
                f"a tree of size {size} has {size.bit_count()} subtree roots, got {len(hashes)}"
            )
        for h in hashes:
            _check_hash("subtree root", h)
        self._size = size
        self._hashes = list(hashes)

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Sequence[bytes]) -> "CompactTree":
        """Build the edge of the tree over `leaf_hashes`, e.g. at node start-up."""
        tree = cls()
        for h in leaf_hashes:
            tree.append(h)
        return tree

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Roots of the perfect subtrees covering the leaves, largest first."""
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf (already hashed with `leaf_hash`), merging equal-sized subtrees."""
        _check_hash("leaf hash", leaf_hash)
        merged, size = leaf_hash, self._size
        while size & 1:
            merged = node_hash(self._hashes.pop(), merged)
            size >>= 1
        self._hashes.append(merged)
        self._size += 1

    def root(self) -> bytes:
        """Root of the tree of the leaves appended so far."""
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            result = node_hash(h, result)
        return result


def _subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH of leaves [start, end): pair left to right, carry an odd last node up."""
    if start == end:
        return EMPTY_ROOT
    level = list(leaf_hashes[start:end])
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) & 1:
            paired.append(level[-1])
        level = paired
    return level[0]


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(size: int, leaf_hashes: Sequence[bytes]) -> None:
    if not 0 <= size <= len(leaf_hashes):
        raise ProofError(f"tree size {size} is outside the {len(leaf_hashes)} leaves held")


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} has {len(value)} bytes, expected {HASH_SIZE}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        _check_hash(f"proof hash {i}", h)
