"""Verifiable sharing: reconstruction, blame, encodings, and that t-1 shares say nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuorum import _group as g
from kuorum import sharing
from kuorum.sharing import (
    Commitments,
    Dealing,
    InvalidParameters,
    MalformedEncoding,
    NotEnoughShares,
    Share,
)

SETTINGS = settings(max_examples=20, deadline=None)


@st.composite
def dealings(draw: st.DrawFn, max_shares: int = 8) -> tuple[bytes, Dealing]:
    shares = draw(st.integers(min_value=1, max_value=max_shares))
    threshold = draw(st.integers(min_value=1, max_value=shares))
    secret = sharing.new_data_key()
    return secret, sharing.split(secret, threshold, shares)


def _flip(data: bytes, position: int, mask: int) -> bytes:
    return data[:position] + bytes((data[position] ^ mask,)) + data[position + 1 :]


def _forged(share: Share) -> Share:
    """A well-formed share with a wrong value."""
    return dataclasses.replace(share, value=g.scalar_add(share.value, g.ONE))


def test_the_module_exports_exactly_its_public_names() -> None:
    public = {
        name
        for name, value in vars(sharing).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and getattr(value, "__module__", sharing.__name__) == sharing.__name__
    }
    assert set(sharing.__all__) == public


# --- reconstruction -----------------------------------------------------------------


@SETTINGS
@given(dealt=dealings(), data=st.data())
def test_any_t_of_n_shares_reconstruct_the_secret(
    dealt: tuple[bytes, Dealing], data: st.DataObject
) -> None:
    secret, dealing = dealt
    t = dealing.commitments.threshold
    subset = data.draw(st.permutations(dealing.shares))[:t]
    assert all(sharing.verify(s, dealing.commitments) for s in subset)
    result = sharing.reconstruct(subset, dealing.commitments)
    assert result.secret == secret
    assert result.bad_indexes == ()
    assert sharing.combine(subset, dealing.commitments) == secret


@SETTINGS
@given(dealt=dealings(), data=st.data())
def test_fewer_than_t_shares_raise_and_list_the_missing_indexes(
    dealt: tuple[bytes, Dealing], data: st.DataObject
) -> None:
    _, dealing = dealt
    c = dealing.commitments
    size = data.draw(st.integers(min_value=0, max_value=c.threshold - 1))
    subset = data.draw(st.permutations(dealing.shares))[:size]
    with pytest.raises(NotEnoughShares) as caught:
        sharing.combine(subset, c)
    given_indexes = {s.index for s in subset}
    assert caught.value.missing == tuple(
        i for i in range(1, c.shares + 1) if i not in given_indexes
    )
    assert caught.value.bad == ()
    assert (caught.value.needed, caught.value.valid) == (c.threshold, size)
    assert f"need {c.threshold} valid shares, have {size}" in str(caught.value)


def test_extreme_parameters_work() -> None:
    for threshold, shares in [(1, 1), (1, 16), (16, 16), (11, 16)]:
        secret = sharing.new_data_key()
        dealing = sharing.split(secret, threshold, shares)
        assert len(dealing.shares) == shares
        assert [s.index for s in dealing.shares] == list(range(1, shares + 1))
        assert sharing.combine(dealing.shares[-threshold:], dealing.commitments) == secret


def test_a_zero_secret_is_shared_like_any_other() -> None:
    """Its commitment a_0*G is the identity, which libsodium will not output by itself."""
    dealing = sharing.split(g.ZERO, 2, 3)
    assert sharing.combine(dealing.shares[1:], dealing.commitments) == g.ZERO


def test_one_threshold_shares_are_the_secret_so_the_statistical_test_has_power() -> None:
    secret = sharing.new_data_key()
    assert all(s.value == secret for s in sharing.split(secret, 1, 3).shares)


# --- blame --------------------------------------------------------------------------


@SETTINGS
@given(dealt=dealings(), data=st.data())
def test_combine_names_every_bad_share_and_still_recovers(
    dealt: tuple[bytes, Dealing], data: st.DataObject
) -> None:
    secret, dealing = dealt
    c = dealing.commitments
    bad = data.draw(st.sets(st.sampled_from([s.index for s in dealing.shares])))
    offered = [_forged(s) if s.index in bad else s for s in dealing.shares]
    if c.shares - len(bad) >= c.threshold:
        result = sharing.reconstruct(offered, c)
        assert result.secret == secret
        assert result.bad_indexes == tuple(sorted(bad))
    else:
        with pytest.raises(NotEnoughShares) as caught:
            sharing.reconstruct(offered, c)
        assert caught.value.bad == tuple(sorted(bad))
        assert caught.value.missing == ()


def test_the_error_lists_bad_and_missing_indexes_together() -> None:
    dealing = sharing.split(sharing.new_data_key(), 3, 5)
    with pytest.raises(NotEnoughShares) as caught:
        sharing.combine([_forged(dealing.shares[0]), dealing.shares[1]], dealing.commitments)
    assert (caught.value.bad, caught.value.missing) == ((1,), (3, 4, 5))
    assert str(caught.value) == (
        "need 3 valid shares, have 1; bad share indexes: [1]; missing share indexes: [3, 4, 5]"
    )


def test_a_share_beyond_n_is_bad() -> None:
    dealing = sharing.split(sharing.new_data_key(), 2, 3)
    stray = sharing.split(sharing.new_data_key(), 2, 4).shares[3]
    result = sharing.reconstruct([*dealing.shares, stray], dealing.commitments)
    assert result.bad_indexes == (4,)
    assert not sharing.verify(stray, dealing.commitments)


def test_a_share_offered_twice_counts_once() -> None:
    dealing = sharing.split(sharing.new_data_key(), 2, 3)
    with pytest.raises(NotEnoughShares) as caught:
        sharing.combine([dealing.shares[0], dealing.shares[0]], dealing.commitments)
    assert (caught.value.valid, caught.value.missing) == (1, (2, 3))


def test_shares_of_another_dealing_of_the_same_secret_are_refused() -> None:
    secret = sharing.new_data_key()
    first, second = sharing.split(secret, 2, 3), sharing.split(secret, 2, 3)
    assert not any(sharing.verify(s, second.commitments) for s in first.shares)
    with pytest.raises(NotEnoughShares) as caught:
        sharing.combine(first.shares, second.commitments)
    assert caught.value.bad == (1, 2, 3)


def test_shares_of_another_secret_are_refused() -> None:
    first = sharing.split(sharing.new_data_key(), 3, 5)
    second = sharing.split(sharing.new_data_key(), 3, 5)
    mixed = [*first.shares[:2], *second.shares[2:]]
    result = sharing.reconstruct(mixed, second.commitments)
    assert result.bad_indexes == (1, 2)


# --- tampering ----------------------------------------------------------------------


@SETTINGS
@given(position=st.integers(0, 65), mask=st.integers(1, 255))
def test_a_changed_share_byte_is_refused_or_blamed(position: int, mask: int) -> None:
    secret = sharing.new_data_key()
    dealing = sharing.split(secret, 2, 3)
    tampered = _flip(dealing.shares[0].to_bytes(), position, mask)
    try:
        share = Share.from_bytes(tampered)
    except MalformedEncoding:
        return
    assert not sharing.verify(share, dealing.commitments)
    result = sharing.reconstruct([share, *dealing.shares[1:]], dealing.commitments)
    assert result.secret == secret
    assert result.bad_indexes == (share.index,)


@SETTINGS
@given(data=st.data(), mask=st.integers(1, 255))
def test_a_changed_commitment_byte_is_detected(data: st.DataObject, mask: int) -> None:
    dealing = sharing.split(sharing.new_data_key(), 3, 5)
    encoded = dealing.commitments.to_bytes()
    position = data.draw(st.integers(0, len(encoded) - 1))
    tampered = _flip(encoded, position, mask)
    try:
        commitments = Commitments.from_bytes(tampered)
    except MalformedEncoding:
        return
    assert commitments.digest() != dealing.commitments.digest()
    if position >= 3:  # a point changed: no share verifies any more
        assert not any(sharing.verify(s, commitments) for s in dealing.shares)
        with pytest.raises(NotEnoughShares):
            sharing.combine(dealing.shares, commitments)


# --- encodings ----------------------------------------------------------------------


def test_encodings_round_trip_with_their_version_bytes() -> None:
    dealing = sharing.split(sharing.new_data_key(), 3, 5)
    share = dealing.shares[4]
    encoded = share.to_bytes()
    assert (len(encoded), encoded[0], encoded[1]) == (66, sharing.SHARE_VERSION, 5)
    assert Share.from_bytes(encoded) == share
    assert Share.from_bytes(bytearray(encoded)) == share
    c = dealing.commitments.to_bytes()
    assert (len(c), c[0], c[1], c[2]) == (3 + 3 * 32, sharing.COMMITMENTS_VERSION, 3, 5)
    assert Commitments.from_bytes(c) == dealing.commitments
    digest = dealing.commitments.digest()
    assert len(digest) == 64
    assert int(digest, 16) >= 0


GOOD_SHARE = bytes((1, 1)) + bytes(64)
NOT_CANONICAL = b"\xff" * 32


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "66 bytes, got 0"),
        (GOOD_SHARE + b"\x00", "66 bytes, got 67"),
        (bytes((2,)) + GOOD_SHARE[1:], "unknown share encoding version 2"),
        (bytes((1, 0)) + bytes(64), "index must be an integer from 1 to 16"),
        (bytes((1, 17)) + bytes(64), "index must be an integer from 1 to 16"),
        (bytes((1, 1)) + NOT_CANONICAL + bytes(32), "canonical scalars"),
        (bytes((1, 1)) + bytes(32) + NOT_CANONICAL, "canonical scalars"),
        ("text", "must be bytes"),
    ],
    ids=["empty", "long", "version", "index-0", "index-17", "value", "blinding", "str"],
)
def test_malformed_shares_raise_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(MalformedEncoding, match=message) as caught:
        Share.from_bytes(data)
    assert isinstance(caught.value, ValueError)
    assert "ff" * 8 not in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_parse_or_raise_malformed_encoding(data: bytes) -> None:
    for parse in (Share.from_bytes, Commitments.from_bytes):
        with contextlib.suppress(MalformedEncoding):
            parse(data)


POINT = g.scalarmult_base(g.ONE)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x01", "too short"),
        (bytes((2, 1, 1)) + POINT, "unknown commitments encoding version 2"),
        (bytes((1, 2, 2)) + POINT, "are 67 bytes, got 35"),
        (bytes((1, 0, 1)), "threshold <= shares"),
        (bytes((1, 2, 1)) + POINT * 2, "threshold <= shares"),
        (bytes((1, 1, 17)) + POINT, "threshold <= shares"),
        (bytes((1, 1, 1)) + b"\xff" * 32, "commitment point 0 is not a ristretto255 point"),
        (None, "must be bytes"),
    ],
    ids=["short", "version", "length", "t-0", "t>n", "n>16", "bad-point", "none"],
)
def test_malformed_commitments_raise_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(MalformedEncoding, match=message):
        Commitments.from_bytes(data)


@pytest.mark.parametrize(
    ("secret", "threshold", "shares", "message"),
    [
        (bytes(32), 0, 3, "1 <= threshold <= shares <= 16"),
        (bytes(32), 4, 3, "1 <= threshold <= shares <= 16"),
        (bytes(32), 3, 17, "1 <= threshold <= shares <= 16"),
        (bytes(32), 2.0, 3, "must be integers"),
        (bytes(31), 2, 3, "32 bytes encoding a canonical"),
        (g.ORDER.to_bytes(32, "little"), 2, 3, "canonical ristretto255 scalar"),
        ("0" * 32, 2, 3, "canonical ristretto255 scalar"),
    ],
    ids=["t-0", "t>n", "n>16", "float", "short-secret", "secret=L", "str-secret"],
)
def test_split_refuses_bad_parameters(
    secret: bytes, threshold: int, shares: int, message: str
) -> None:
    with pytest.raises(InvalidParameters, match=message):
        sharing.split(secret, threshold, shares)


def test_reprs_and_errors_never_show_secret_material() -> None:
    secret = sharing.new_data_key()
    dealing = sharing.split(secret, 2, 3)
    result = sharing.reconstruct(dealing.shares, dealing.commitments)
    texts = [repr(dealing), repr(result), repr(dealing.shares[0]), str(dealing.shares)]
    material = [secret, *(s.value for s in dealing.shares), *(s.blinding for s in dealing.shares)]
    for text in texts:
        for m in material:
            assert m.hex()[:16] not in text
            assert repr(m)[2:20] not in text


# --- no information from t-1 shares -------------------------------------------------


def _two_sample_chi_square(a: Sequence[int], b: Sequence[int], bins: int) -> float:
    """Chi-square statistic that samples a and b come from the same distribution."""
    count_a, count_b = Counter(a), Counter(b)
    total = 0.0
    for k in range(bins):
        pooled = count_a[k] + count_b[k]
        if pooled:
            total += (count_a[k] - count_b[k]) ** 2 / pooled
    return total


# Critical value of chi-square with 15 degrees of freedom at p = 2.5e-7: a false alarm
# about once in four million runs.
CRITICAL_15 = 60.0
DEALINGS = 1500


def _observed(secret: bytes, threshold: int, dealings: int = DEALINGS) -> list[int]:
    """Low nibbles of the first max(t-1, 1) shares' values, folded into 16 bins."""
    out = []
    for _ in range(dealings):
        dealing = sharing.split(secret, threshold, threshold + 1)
        bin_ = 0
        for s in dealing.shares[: max(threshold - 1, 1)]:
            bin_ ^= s.value[0] & 0x0F
        out.append(bin_)
    return out


def test_t_minus_1_shares_carry_no_information_about_the_secret() -> None:
    zero, other = g.ZERO, g.scalar(0x0F)  # low nibbles 0 and 15: easy to tell apart
    statistic = _two_sample_chi_square(_observed(zero, 3), _observed(other, 3), 16)
    assert statistic < CRITICAL_15
    # The same test sees the secret at once when a share does carry it (t = 1).
    leaky = _two_sample_chi_square(_observed(zero, 1, 200), _observed(other, 1, 200), 16)
    assert leaky > CRITICAL_15
