"""Envelopes: payload binding, sealed-share signatures and binding, node key files."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import stat
from pathlib import Path
from typing import TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuorum import envelope, sharing
from kuorum.envelope import (
    KEMS,
    BadSignature,
    DecryptionFailed,
    EncryptionPrivateKey,
    EncryptionPublicKey,
    InvalidKey,
    MalformedEnvelope,
    NodeKeys,
    NodePublicKeys,
    SealedShare,
    ShareContext,
    decrypt_payload,
    encrypt_payload,
    open_share,
    seal_share,
)
from kuorum.envelope._payload import decode_data, encode_data
from kuorum.envelope._sealing import _signed_message

SETTINGS = settings(max_examples=20, deadline=None)


class Where(TypedDict):
    namespace: str
    name: str
    version: int


WHERE = Where(namespace="team-a", name="db", version=7)


def _flip(data: bytes, position: int, mask: int) -> bytes:
    return data[:position] + bytes((data[position] ^ mask,)) + data[position + 1 :]


def test_the_facade_exports_exactly_its_public_names() -> None:
    public = {n for n in vars(envelope) if not n.startswith("_")} - {"annotations"}
    assert set(envelope.__all__) == public


# --- payload ------------------------------------------------------------------------

payloads = st.dictionaries(st.text(max_size=12), st.binary(max_size=64), max_size=6)


@SETTINGS
@given(data=payloads)
def test_payload_round_trips(data: dict[str, bytes]) -> None:
    key = sharing.new_data_key()
    assert decrypt_payload(encrypt_payload(data, key, **WHERE), key, **WHERE) == data


@SETTINGS
@given(data=payloads)
def test_payload_encoding_is_canonical(data: dict[str, bytes]) -> None:
    assert encode_data(dict(reversed(list(data.items())))) == encode_data(data)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (b"\x02" + bytes(4), "unknown payload encoding version"),
        (
            b"\x01\x00\x00\x00\x02"
            + b"\x00\x00\x00\x01b"
            + bytes(4)
            + b"\x00\x00\x00\x01a"
            + bytes(4),
            "not in canonical order",
        ),
        (b"\x01\x00\x00\x00\x01" + b"\x00\x00\x00\x01\xff" + bytes(4), "not UTF-8"),
        (b"\x01\x00\x00\x00\x01" + b"\x00\x00\x00\x09a", "truncated"),
        (b"\x01" + bytes(4) + b"x", "trailing bytes"),
    ],
    ids=["version", "order", "utf-8", "truncated", "trailing"],
)
def test_non_canonical_payload_encodings_are_refused(encoded: bytes, message: str) -> None:
    with pytest.raises(MalformedEnvelope, match=message):
        decode_data(encoded)


def test_payload_encryption_is_randomized() -> None:
    key = sharing.new_data_key()
    assert encrypt_payload({"a": b"1"}, key, **WHERE) != encrypt_payload({"a": b"1"}, key, **WHERE)


@SETTINGS
@given(data=st.data(), mask=st.integers(1, 255))
def test_a_changed_payload_byte_is_detected(data: st.DataObject, mask: int) -> None:
    key = sharing.new_data_key()
    ciphertext = encrypt_payload({"password": b"hunter2"}, key, **WHERE)
    tampered = _flip(ciphertext, data.draw(st.integers(0, len(ciphertext) - 1)), mask)
    with pytest.raises((DecryptionFailed, MalformedEnvelope)):
        decrypt_payload(tampered, key, **WHERE)


@pytest.mark.parametrize(
    "where",
    [
        Where(namespace="team-b", name="db", version=7),
        Where(namespace="team-a", name="db2", version=7),
        Where(namespace="team-a", name="db", version=8),
        Where(namespace="team-ad", name="b", version=7),  # same concatenation
    ],
    ids=["namespace", "name", "version", "field-boundary"],
)
def test_a_payload_moved_to_another_secret_or_version_does_not_open(
    where: Where,
) -> None:
    key = sharing.new_data_key()
    ciphertext = encrypt_payload({"k": b"v"}, key, **WHERE)
    with pytest.raises(DecryptionFailed) as caught:
        decrypt_payload(ciphertext, key, **where)
    assert str(caught.value) == "the payload did not decrypt"


def test_a_payload_does_not_open_under_another_key() -> None:
    ciphertext = encrypt_payload({"k": b"v"}, sharing.new_data_key(), **WHERE)
    with pytest.raises(DecryptionFailed):
        decrypt_payload(ciphertext, sharing.new_data_key(), **WHERE)


@pytest.mark.parametrize(
    ("ciphertext", "error", "message"),
    [
        (b"\x01" + bytes(27), MalformedEnvelope, "truncated"),
        (b"\x02" + bytes(40), MalformedEnvelope, "unknown payload ciphertext version 2"),
        ("text", MalformedEnvelope, "must be bytes"),
    ],
    ids=["short", "version", "str"],
)
def test_malformed_payload_ciphertexts_raise_clear_errors(
    ciphertext: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        decrypt_payload(ciphertext, sharing.new_data_key(), **WHERE)


def test_payload_arguments_are_checked() -> None:
    with pytest.raises(InvalidKey, match="32 bytes"):
        encrypt_payload({}, bytes(16), **WHERE)
    with pytest.raises(ValueError, match="non-negative"):
        encrypt_payload({}, bytes(32), namespace="a", name="b", version=-1)
    with pytest.raises(ValueError, match="non-empty"):
        encrypt_payload({}, bytes(32), namespace="", name="b", version=1)
    with pytest.raises(TypeError, match="values bytes"):
        encrypt_payload({"k": "v"}, bytes(32), **WHERE)  # type: ignore[dict-item]


# --- sealed shares ------------------------------------------------------------------


@pytest.fixture(scope="module")
def operator_keys() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="module", params=KEMS)
def node_keys(request: pytest.FixtureRequest) -> NodeKeys:
    return NodeKeys.generate(kem=request.param)


@pytest.fixture(scope="module")
def dealing() -> sharing.Dealing:
    return sharing.split(sharing.new_data_key(), 2, 3)


def _context(**changes: object) -> ShareContext:
    base = ShareContext("team-a", "db", 7, 2, "node-b", "store")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _sealed(node: NodeKeys, operator: NodeKeys, dealing: sharing.Dealing) -> SealedShare:
    return seal_share(
        dealing.shares[1],
        recipient=node.public().encryption,
        context=_context(),
        sender=operator.signing,
    )


def _open(sealed: SealedShare, node: NodeKeys, operator: NodeKeys, **context: object) -> object:
    return open_share(
        sealed,
        recipient=node.encryption,
        context=_context(**context),
        sender=operator.signing.public_key(),
    )


def test_a_sealed_share_round_trips_through_bytes(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    sealed = _sealed(node_keys, operator_keys, dealing)
    encoded = sealed.to_bytes()
    assert encoded[0] == envelope.SEALED_SHARE_VERSION
    assert len(encoded) == {"X25519": 212, "MLKEM768_X25519": 1300}[node_keys.encryption.kem]
    assert SealedShare.from_bytes(encoded) == sealed
    assert _open(SealedShare.from_bytes(encoded), node_keys, operator_keys) == dealing.shares[1]


def test_share_bytes_can_be_sealed_too(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    sealed = seal_share(
        dealing.shares[1].to_bytes(),
        recipient=node_keys.public().encryption,
        context=_context(),
        sender=operator_keys.signing,
    )
    assert _open(sealed, node_keys, operator_keys) == dealing.shares[1]


@settings(max_examples=30, deadline=None)
@given(data=st.data(), mask=st.integers(1, 255))
def test_a_changed_sealed_share_byte_is_detected(
    node_keys: NodeKeys,
    operator_keys: NodeKeys,
    dealing: sharing.Dealing,
    data: st.DataObject,
    mask: int,
) -> None:
    encoded = _sealed(node_keys, operator_keys, dealing).to_bytes()
    tampered = _flip(encoded, data.draw(st.integers(0, len(encoded) - 1)), mask)
    with pytest.raises((MalformedEnvelope, BadSignature)):
        _open(SealedShare.from_bytes(tampered), node_keys, operator_keys)


@pytest.mark.parametrize(
    "change",
    [
        {"namespace": "team-b"},
        {"name": "db2"},
        {"version": 8},
        {"index": 3},
        {"recipient": "node-c"},
        {"purpose": "release"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_sealed_share_opened_in_another_context_is_refused(
    node_keys: NodeKeys,
    operator_keys: NodeKeys,
    dealing: sharing.Dealing,
    change: dict[str, object],
) -> None:
    sealed = _sealed(node_keys, operator_keys, dealing)
    with pytest.raises(BadSignature, match="does not match its sender, recipient and context"):
        _open(sealed, node_keys, operator_keys, **change)


def test_a_share_sealed_by_someone_else_is_refused(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    impostor = NodeKeys.generate()
    sealed = _sealed(node_keys, impostor, dealing)
    with pytest.raises(BadSignature, match="another key than the expected sender"):
        _open(sealed, node_keys, operator_keys)
    relabelled = dataclasses.replace(
        sealed, sender=operator_keys.signing.public_key().public_bytes_raw()
    )
    with pytest.raises(BadSignature, match="does not match"):
        _open(relabelled, node_keys, operator_keys)


def test_a_share_sealed_to_another_recipient_is_refused(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    other = NodeKeys.generate(kem=node_keys.encryption.kem)
    sealed = _sealed(other, operator_keys, dealing)
    with pytest.raises(BadSignature):
        _open(sealed, node_keys, operator_keys)


def test_a_re_signed_ciphertext_for_another_recipient_does_not_decrypt(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    """A valid signature is not enough: HPKE itself refuses a ciphertext for another key."""
    other = NodeKeys.generate(kem=node_keys.encryption.kem)
    sealed = _sealed(other, operator_keys, dealing)
    context = _context()
    message = _signed_message(
        context, sealed.sender, node_keys.public().encryption, sealed.ciphertext
    )
    forged = dataclasses.replace(sealed, signature=operator_keys.signing.sign(message))
    with pytest.raises(DecryptionFailed, match="did not decrypt"):
        _open(forged, node_keys, operator_keys)


def test_a_bad_share_signed_by_its_sender_is_provably_theirs(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    """The signature proves the sender; the commitments prove the share is wrong."""
    wrong = dataclasses.replace(dealing.shares[1], value=sharing.new_data_key())
    sealed = seal_share(
        wrong,
        recipient=node_keys.public().encryption,
        context=_context(),
        sender=operator_keys.signing,
    )
    opened = _open(sealed, node_keys, operator_keys)
    assert isinstance(opened, sharing.Share)
    assert not sharing.verify(opened, dealing.commitments)


@pytest.mark.parametrize("kem", KEMS)
def test_sealing_to_a_degenerate_public_key_is_refused(
    kem: str, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    """All-zero X25519 parts are low-order points: there is no shared secret."""
    raw = bytes(32 if kem == "X25519" else 1216)
    with pytest.raises(InvalidKey, match=f"recipient's {kem} public key is not usable"):
        seal_share(
            dealing.shares[1],
            recipient=EncryptionPublicKey.from_bytes(raw, kem=kem),
            context=_context(),
            sender=operator_keys.signing,
        )


def test_a_share_for_another_slot_cannot_be_sealed(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    with pytest.raises(ValueError, match="share 1 does not belong to slot 2"):
        seal_share(
            dealing.shares[0],
            recipient=node_keys.public().encryption,
            context=_context(),
            sender=operator_keys.signing,
        )


def test_a_release_key_is_ephemeral_and_of_the_requested_kem(
    operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    for kem in KEMS:
        ephemeral = EncryptionPrivateKey.generate(kem=kem)
        wire = ephemeral.public_key().to_bytes()
        recipient = EncryptionPublicKey.from_bytes(wire, kem=kem)
        context = _context(purpose="release", recipient="kuorum-operator")
        sealed = seal_share(
            dealing.shares[1], recipient=recipient, context=context, sender=operator_keys.signing
        )
        opened = open_share(
            sealed, recipient=ephemeral, context=context, sender=operator_keys.signing.public_key()
        )
        assert opened == dealing.shares[1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01", "truncated"),
        (b"\x02\x01" + bytes(96 + 114), "unknown sealed share version 2"),
        (b"\x01\x09" + bytes(96 + 114), "unknown KEM id 9"),
        (b"\x01\x01" + bytes(96 + 113), "ciphertext is 114 bytes"),
        (b"\x01\x02" + bytes(96 + 114), "ciphertext is 1202 bytes"),
        (42, "must be bytes"),
    ],
    ids=["short", "version", "kem", "x25519-length", "hybrid-length", "int"],
)
def test_malformed_sealed_shares_raise_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(MalformedEnvelope, match=message):
        SealedShare.from_bytes(data)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=1400))
def test_arbitrary_bytes_raise_only_envelope_errors(data: bytes) -> None:
    key = bytes(32)
    for attempt in (
        lambda: SealedShare.from_bytes(data),
        lambda: decrypt_payload(data, key, **WHERE),
        lambda: decode_data(data),
    ):
        with contextlib.suppress(MalformedEnvelope, DecryptionFailed):
            attempt()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"namespace": ""}, "namespace must be a non-empty string"),
        ({"version": -1}, "version must be a non-negative integer"),
        ({"index": 0}, "index must be from 1 to 16"),
        ({"index": 17}, "index must be from 1 to 16"),
        ({"purpose": "steal"}, "purpose must be one of store, release"),
    ],
    ids=["namespace", "version", "index-0", "index-17", "purpose"],
)
def test_share_contexts_are_checked(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _context(**change)


def test_kubernetes_maximum_names_fit_in_a_context(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    context = ShareContext("n" * 63, "x" * 253, 2**64 - 1, 2, "node-" + "b" * 248, "store")
    sealed = seal_share(
        dealing.shares[1],
        recipient=node_keys.public().encryption,
        context=context,
        sender=operator_keys.signing,
    )
    opened = open_share(
        sealed,
        recipient=node_keys.encryption,
        context=context,
        sender=operator_keys.signing.public_key(),
    )
    assert opened == dealing.shares[1]


def test_context_encoding_is_versioned_and_unambiguous() -> None:
    encoded = _context().to_bytes()
    assert encoded[0] == envelope.CONTEXT_VERSION
    assert (
        _context(namespace="team-ad", name="b").to_bytes()
        != _context(namespace="team-a", name="db").to_bytes()
    )


# --- keys ---------------------------------------------------------------------------


def test_node_keys_save_and_load(tmp_path: Path, node_keys: NodeKeys) -> None:
    directory = tmp_path / "keys"
    node_keys.save(directory)
    names = sorted(os.listdir(directory))
    assert names == ["encryption.key", "signing.key"]
    for name in names:
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    loaded = NodeKeys.load(directory)
    assert loaded.public() == node_keys.public()
    assert loaded.encryption.private_bytes() == node_keys.encryption.private_bytes()
    node_keys.save(directory)  # replacing in place leaves no temporary files
    assert sorted(os.listdir(directory)) == names


def test_node_keys_round_trip_through_secret_data(node_keys: NodeKeys) -> None:
    data = node_keys.to_secret_data()
    assert NodeKeys.from_secret_data(data).public() == node_keys.public()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("signing.key"), "need both signing.key and encryption.key"),
        (lambda d: d.update({"encryption.key": "text"}), "as bytes"),
        (lambda d: d.update({"signing.key": b"junk"}), "signing.key is not a PEM private key"),
        (lambda d: d.update({"encryption.key": b"junk"}), "not a Kuorum encryption key"),
        (
            lambda d: d.update({"encryption.key": b"other-v9 X25519 AAAA\n"}),
            "unknown format 'other-v9'",
        ),
        (
            lambda d: d.update({"encryption.key": b"kuorum-encryption-key-v1 RSA AAAA\n"}),
            "unknown KEM 'RSA'",
        ),
        (
            lambda d: d.update({"encryption.key": b"kuorum-encryption-key-v1 X25519 AAAA\n"}),
            "X25519 private key must be 32 bytes",
        ),
        (
            lambda d: d.update({"encryption.key": b"kuorum-encryption-key-v1 X25519 !!\n"}),
            "not valid base64",
        ),
    ],
    ids=["missing", "str", "signing-junk", "encryption-junk", "format", "kem", "length", "base64"],
)
def test_broken_key_material_raises_invalid_key(mutate: object, message: str) -> None:
    data = NodeKeys.generate(kem="X25519").to_secret_data()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidKey, match=message):
        NodeKeys.from_secret_data(data)


def test_loading_from_an_empty_directory_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidKey, match=r"node key file missing: .*signing\.key"):
        NodeKeys.load(tmp_path)


def test_public_keys_match_the_sharenode_spec_fields(node_keys: NodeKeys) -> None:
    spec = node_keys.public().to_dict()
    assert set(spec) == {"signingKey", "encryptionKey"}
    assert spec["encryptionKey"]["kem"] == node_keys.encryption.kem
    assert len(base64.b64decode(spec["signingKey"])) == 32
    assert NodePublicKeys.from_dict(spec) == node_keys.public()
    fingerprint = node_keys.public().fingerprint()
    assert len(fingerprint) == 32
    assert fingerprint != NodeKeys.generate().public().fingerprint()


KEY = base64.b64encode(NodeKeys.generate().public().signing.public_bytes_raw()).decode()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "must be a mapping"),
        ({"signingKey": "AAAA"}, "encryptionKey must be a mapping"),
        (
            {"signingKey": "AAAA", "encryptionKey": {"kem": "X25519", "publicKey": KEY}},
            "an Ed25519 key must be 32 bytes",
        ),
        (
            {"signingKey": KEY, "encryptionKey": {"kem": "X448", "publicKey": KEY}},
            "unknown KEM 'X448'",
        ),
        (
            {"signingKey": KEY, "encryptionKey": {"kem": "X25519", "publicKey": "AAAA"}},
            "X25519 public key must be 32 bytes",
        ),
        (
            {"signingKey": 5, "encryptionKey": {"kem": "X25519", "publicKey": KEY}},
            "signingKey must be a base64 string",
        ),
    ],
    ids=["list", "no-encryption", "signing-length", "kem", "encryption-length", "type"],
)
def test_bad_sharenode_key_fields_raise_invalid_key(spec: object, message: str) -> None:
    with pytest.raises(InvalidKey, match=message):
        NodePublicKeys.from_dict(spec)  # type: ignore[arg-type]


def test_private_keys_never_show_in_reprs(node_keys: NodeKeys) -> None:
    private = node_keys.encryption.private_bytes()
    texts = [repr(node_keys), repr(node_keys.encryption), str(node_keys)]
    for text in texts:
        assert private.hex()[:16] not in text
        assert base64.b64encode(private).decode()[:16] not in text
    assert "fingerprint=" in repr(node_keys.public().encryption)


def test_sealed_shares_have_a_short_repr(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    sealed = _sealed(node_keys, operator_keys, dealing)
    assert repr(sealed).startswith(f"SealedShare(kem={node_keys.encryption.kem!r}, sender=")
    assert sealed.ciphertext.hex()[:16] not in repr(sealed)


def test_generate_refuses_unknown_kems() -> None:
    with pytest.raises(InvalidKey, match="expected one of MLKEM768_X25519, X25519"):
        EncryptionPrivateKey.generate(kem="P256")


def test_a_rule_bound_share_opens_only_under_its_rule(
    node_keys: NodeKeys, operator_keys: NodeKeys, dealing: sharing.Dealing
) -> None:
    rule = bytes(range(32))
    assert _context().to_bytes()[0] == envelope.CONTEXT_VERSION, "unbound: the 0x01 encoding"
    assert _context(rule=rule).to_bytes()[0] == 0x02
    assert _context(rule=rule).to_bytes().startswith(b"\x02" + _context().to_bytes()[1:])
    sealed = seal_share(
        dealing.shares[1],
        recipient=node_keys.public().encryption,
        context=_context(rule=rule),
        sender=operator_keys.signing,
    )
    assert _open(sealed, node_keys, operator_keys, rule=rule) == dealing.shares[1]
    for other in (b"", bytes(32)):
        with pytest.raises(BadSignature):
            _open(sealed, node_keys, operator_keys, rule=other)
    with pytest.raises(ValueError, match=r"ShareContext\.rule"):
        _context(rule=b"short")


def test_a_rule_bound_payload_opens_only_under_its_rule() -> None:
    key, rule = sharing.new_data_key(), bytes(range(32))
    ciphertext = encrypt_payload({"k": b"v"}, key, **WHERE, rule=rule)
    assert decrypt_payload(ciphertext, key, **WHERE, rule=rule) == {"k": b"v"}
    for other in (b"", bytes(32)):
        with pytest.raises(DecryptionFailed):
            decrypt_payload(ciphertext, key, **WHERE, rule=other)
