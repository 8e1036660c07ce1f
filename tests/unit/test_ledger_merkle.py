"""RFC 6962 Merkle hashing and proofs: every transparency-dev vector, then properties.

All vectors come through `rfc6962_vectors`: happy paths must verify, every mutated
case must be refused. The proofs we generate must equal the published ones.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kuorum.ledger import merkle
from kuorum.ledger.errors import ProofError

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors" / "rfc6962"
"""transparency-dev/merkle's RFC 6962 vectors, vendored with their license (README there)."""


def rfc6962_vectors(kind: str) -> list[Any]:
    """Every case of `kind` ("inclusion", "consistency" or "roots") as pytest params."""
    if kind == "roots":
        data = json.loads((VECTORS / "roots.json").read_text())
        leaves = [bytes.fromhex(x) for x in data["leaf_inputs_hex"]]
        roots = [bytes.fromhex(x) for x in data["root_hashes_hex_by_tree_size"]]
        return [pytest.param((leaves, roots), id="roots.json")]
    paths = sorted((VECTORS / kind).glob("*/*.json"))
    return [
        pytest.param(_decode(json.loads(p.read_text())), id=f"{p.parent.name}/{p.stem}")
        for p in paths
    ]


def _decode(case: dict[str, Any]) -> dict[str, Any]:
    """Base64 fields to bytes; a null proof is an empty one."""
    for key in ("root", "leafHash", "root1", "root2"):
        if key in case:
            case[key] = base64.b64decode(case[key])
    case["proof"] = [base64.b64decode(p) for p in case["proof"] or []]
    return case


@pytest.mark.parametrize("case", rfc6962_vectors("inclusion"))
def test_inclusion_vector(case: dict[str, Any]) -> None:
    def verify() -> None:
        merkle.verify_inclusion(
            case["leafHash"], case["leafIdx"], case["treeSize"], case["proof"], case["root"]
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify()
    else:
        verify()


@pytest.mark.parametrize("case", rfc6962_vectors("consistency"))
def test_consistency_vector(case: dict[str, Any]) -> None:
    def verify() -> None:
        merkle.verify_consistency(
            case["size1"], case["size2"], case["root1"], case["root2"], case["proof"]
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify()
    else:
        verify()


def test_vectors_hold_happy_and_mutated_cases() -> None:
    """Guard the loader: an empty or all-happy set would make the tests above vacuous."""
    cases = [p.values[0] for k in ("inclusion", "consistency") for p in rfc6962_vectors(k)]
    assert sum(not c["wantErr"] for c in cases) >= 10
    assert sum(c["wantErr"] for c in cases) >= 150


@pytest.mark.parametrize("vector", rfc6962_vectors("roots"))
def test_roots_and_generated_proofs_match_vectors(vector: tuple[list[bytes], list[bytes]]) -> None:
    leaves, roots = vector
    hashes = [merkle.leaf_hash(x) for x in leaves]
    tree = merkle.CompactTree()
    assert tree.root() == roots[0] == merkle.EMPTY_ROOT
    for size in range(1, len(hashes) + 1):
        tree.append(hashes[size - 1])
        assert merkle.root(hashes[:size]) == roots[size]
        assert tree.root() == roots[size]
        assert merkle.CompactTree(tree.size, tree.hashes).root() == roots[size]


def _happy_paths(kind: str) -> list[Any]:
    """The published proofs over the eight leaves of roots.json."""
    return [p for p in rfc6962_vectors(kind) if p.values[0] and p.id.endswith("/happy-path")]


def _published_leaves() -> list[bytes]:
    return [merkle.leaf_hash(x) for x in rfc6962_vectors("roots")[0].values[0][0]]


@pytest.mark.parametrize("case", _happy_paths("inclusion"))
def test_generated_inclusion_proof_equals_published(case: dict[str, Any]) -> None:
    leaves = _published_leaves()
    assert case["leafHash"] == leaves[case["leafIdx"]]
    assert merkle.inclusion_proof(case["leafIdx"], case["treeSize"], leaves) == case["proof"]


@pytest.mark.parametrize("case", _happy_paths("consistency"))
def test_generated_consistency_proof_equals_published(case: dict[str, Any]) -> None:
    leaves = _published_leaves()
    assert merkle.consistency_proof(case["size1"], case["size2"], leaves) == case["proof"]


# --- properties ----------------------------------------------------------------------


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    return value[: bit // 8] + bytes([value[bit // 8] ^ (1 << (bit % 8))]) + value[bit // 8 + 1 :]


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    size = draw(st.integers(min_value=1, max_value=300))
    return _leaves(size), draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    new = draw(st.integers(min_value=1, max_value=300))
    old = draw(st.integers(min_value=1, max_value=new))
    return _leaves(new), old, new


@given(tree_and_index())
def test_generated_inclusion_proofs_verify(tree: tuple[list[bytes], int]) -> None:
    leaves, index = tree
    proof = merkle.inclusion_proof(index, len(leaves), leaves)
    merkle.verify_inclusion(leaves[index], index, len(leaves), proof, merkle.root(leaves))


@given(tree_and_index(), st.integers(min_value=0), st.sampled_from(["leaf", "root", "proof"]))
def test_any_bit_flip_breaks_an_inclusion_proof(
    tree: tuple[list[bytes], int], bit: int, target: str
) -> None:
    leaves, index = tree
    proof = merkle.inclusion_proof(index, len(leaves), leaves)
    leaf, root = leaves[index], merkle.root(leaves)
    if target == "leaf":
        leaf = _flip(leaf, bit)
    elif target == "root":
        root = _flip(root, bit)
    elif proof:
        i = bit % len(proof)
        proof[i] = _flip(proof[i], bit // len(proof))
    else:
        proof = [leaf]
    with pytest.raises(ProofError):
        merkle.verify_inclusion(leaf, index, len(leaves), proof, root)


@given(tree_and_sizes())
def test_generated_consistency_proofs_verify(tree: tuple[list[bytes], int, int]) -> None:
    leaves, old, new = tree
    proof = merkle.consistency_proof(old, new, leaves)
    merkle.verify_consistency(old, new, merkle.root(leaves[:old]), merkle.root(leaves), proof)


@given(tree_and_sizes(), st.integers(min_value=0), st.sampled_from(["old", "new", "proof"]))
def test_any_bit_flip_breaks_a_consistency_proof(
    tree: tuple[list[bytes], int, int], bit: int, target: str
) -> None:
    leaves, old, new = tree
    proof = merkle.consistency_proof(old, new, leaves)
    old_root, new_root = merkle.root(leaves[:old]), merkle.root(leaves)
    if target == "old":
        old_root = _flip(old_root, bit)
    elif target == "new":
        new_root = _flip(new_root, bit)
    elif proof:
        i = bit % len(proof)
        proof[i] = _flip(proof[i], bit // len(proof))
    else:
        proof = [old_root]
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, old_root, new_root, proof)


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_compact_tree_follows_the_root_at_every_size(data: list[bytes]) -> None:
    hashes = [merkle.leaf_hash(x) for x in data]
    tree = merkle.CompactTree()
    for size, h in enumerate(hashes, start=1):
        tree.append(h)
        assert tree.root() == merkle.root(hashes[:size])
    assert len(tree.hashes) == len(hashes).bit_count()


def test_a_rewritten_prefix_is_not_consistent() -> None:
    leaves = _leaves(20)
    forged = [*leaves[:7], merkle.leaf_hash(b"forged"), *leaves[8:]]
    proof = merkle.consistency_proof(12, 20, forged)
    with pytest.raises(ProofError, match="size 12"):
        merkle.verify_consistency(12, 20, merkle.root(leaves[:12]), merkle.root(forged), proof)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: merkle.inclusion_proof(5, 5, _leaves(5)), "outside a tree of size 5"),
        (lambda: merkle.inclusion_proof(0, 6, _leaves(5)), "outside the 5 leaves held"),
        (lambda: merkle.consistency_proof(0, 5, _leaves(5)), "need 0 < old <= new"),
        (lambda: merkle.consistency_proof(6, 5, _leaves(5)), "need 0 < old <= new"),
        (lambda: merkle.CompactTree(3, [merkle.EMPTY_ROOT]), "has 2 subtree roots, got 1"),
        (lambda: merkle.CompactTree().append(b"short"), "leaf hash has 5 bytes"),
    ],
    ids=["index-past-end", "size-past-leaves", "from-empty", "backwards", "bad-edge", "short-leaf"],
)
def test_misuse_is_refused_with_a_reason(call: Any, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        call()


def test_equal_sizes_need_an_empty_proof() -> None:
    leaves = _leaves(4)
    assert merkle.consistency_proof(4, 4, leaves) == []
    merkle.verify_consistency(4, 4, merkle.root(leaves), merkle.root(leaves), [])
