"""The libsodium ristretto255 wrapper: known answers, identity handling, input checks."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuorum import _group as g

scalars = st.integers(min_value=0, max_value=g.ORDER - 1)

# RFC 9496, appendix A.1: encodings of small multiples of the generator.
MULTIPLES_OF_G = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
]

# RFC 9496, appendix A.2: non-canonical or invalid encodings.
BAD_ENCODINGS = [
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000000",
]


@pytest.mark.parametrize("k", range(len(MULTIPLES_OF_G)))
def test_multiples_of_the_generator_match_rfc_9496(k: int) -> None:
    assert g.scalarmult_base(g.scalar(k)).hex() == MULTIPLES_OF_G[k]


@pytest.mark.parametrize("encoding", BAD_ENCODINGS)
def test_invalid_encodings_are_refused(encoding: str) -> None:
    assert not g.is_valid_point(bytes.fromhex(encoding))
    with pytest.raises(ValueError, match="not a valid ristretto255 point"):
        g.point(bytes.fromhex(encoding))


@pytest.mark.parametrize("value", [b"", bytes(31), bytes(33), "00" * 32, None])
def test_wrong_types_and_lengths_are_not_points(value: object) -> None:
    assert not g.is_valid_point(value)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(a=scalars, b=scalars)
def test_scalar_arithmetic_matches_integers_mod_l(a: int, b: int) -> None:
    sa, sb = g.scalar(a), g.scalar(b)
    assert g.scalar_add(sa, sb) == g.scalar((a + b) % g.ORDER)
    assert g.scalar_mul(sa, sb) == g.scalar(a * b % g.ORDER)


@settings(max_examples=15, deadline=None)
@given(a=scalars, b=scalars)
def test_scalar_multiplication_distributes_over_addition(a: int, b: int) -> None:
    left = g.scalarmult_base(g.scalar((a + b) % g.ORDER))
    right = g.point_add(g.scalarmult_base(g.scalar(a)), g.scalarmult_base(g.scalar(b)))
    assert left == right
    h = g.PEDERSEN_H
    assert g.scalarmult(g.scalar((a + b) % g.ORDER), h) == g.point_add(
        g.scalarmult(g.scalar(a), h), g.scalarmult(g.scalar(b), h)
    )


def test_identity_results_are_returned_not_refused() -> None:
    """libsodium refuses to output the identity; the wrapper answers those cases itself."""
    k = g.scalar_random()
    minus_k = g.scalar(-int.from_bytes(k, "little") % g.ORDER)
    assert g.scalarmult_base(g.ZERO) == g.IDENTITY
    assert g.scalarmult(g.ZERO, g.PEDERSEN_H) == g.IDENTITY
    assert g.scalarmult(k, g.IDENTITY) == g.IDENTITY
    assert g.point_add(g.scalarmult_base(k), g.scalarmult_base(minus_k)) == g.IDENTITY
    assert g.point_add(g.IDENTITY, g.PEDERSEN_H) == g.PEDERSEN_H


def test_second_generator_is_hash_to_group_of_the_published_label() -> None:
    expected = g.point_from_hash(hashlib.sha512(b"kuorum/pedersen/H/v1").digest())
    assert expected == g.PEDERSEN_H
    assert g.is_valid_point(g.PEDERSEN_H)
    assert g.PEDERSEN_H not in (g.IDENTITY, g.scalarmult_base(g.ONE))


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (g.scalar(0), True),
        (g.scalar(g.ORDER - 1), True),
        (g.ORDER.to_bytes(32, "little"), False),
        (b"\xff" * 32, False),
        (bytes(31), False),
        ("x" * 32, False),
    ],
    ids=["zero", "order-1", "order", "all-ones", "short", "str"],
)
def test_canonical_scalars(value: bytes, canonical: bool) -> None:
    assert g.is_canonical_scalar(value) is canonical


def test_random_scalars_are_canonical_and_differ() -> None:
    drawn = {g.scalar_random() for _ in range(8)}
    assert len(drawn) == 8
    assert all(g.is_canonical_scalar(s) for s in drawn)


def test_wrong_lengths_are_refused_before_reaching_libsodium() -> None:
    with pytest.raises(TypeError, match="32 bytes"):
        g.scalar_add(bytes(31), g.ZERO)
    with pytest.raises(TypeError, match="32 bytes"):
        g.scalarmult(g.ONE, bytes(33))
    with pytest.raises(ValueError, match="out of range"):
        g.scalar(g.ORDER)
