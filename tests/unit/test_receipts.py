"""Store receipts: signed by the node, checked by the operator, tamper-evident."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum.receipts import InvalidReceipt, Receipt, check

KEY = ed25519.Ed25519PrivateKey.generate()
RECEIPT = Receipt.of(
    "node-a", "team", "db", 3, 2, sealed_share=b"s", commitments=b"c", payload=b"p",
    ledger_index=7,
)  # fmt: skip


def test_round_trip_through_json_and_signature() -> None:
    signature = RECEIPT.sign(KEY)
    again = Receipt.from_dict(RECEIPT.to_dict())
    assert again == RECEIPT
    again.verify(signature, KEY.public_key())


@pytest.mark.parametrize(
    "change",
    [{"version": 4}, {"index": 1}, {"node": "node-b"}, {"ledger_index": 8},
     {"payload_sha256": "00" * 32}],
    ids=["version", "index", "node", "ledger-index", "payload"],
)  # fmt: skip
def test_any_changed_field_breaks_the_signature(change: dict[str, object]) -> None:
    signature = RECEIPT.sign(KEY)
    with pytest.raises(InvalidReceipt, match=r"node-a|node-b"):
        dataclasses.replace(RECEIPT, **change).verify(signature, KEY.public_key())  # type: ignore[arg-type]


def test_another_nodes_key_is_refused() -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(InvalidReceipt, match="pinned key of node node-a"):
        RECEIPT.verify(RECEIPT.sign(other), KEY.public_key())


@pytest.mark.parametrize(
    "data",
    [None, [], {**RECEIPT.to_dict(), "version": "3"}, {**RECEIPT.to_dict(), "index": True},
     {k: v for k, v in RECEIPT.to_dict().items() if k != "ledgerIndex"}],
    ids=["none", "list", "version-string", "index-bool", "missing-ledger-index"],
)  # fmt: skip
def test_malformed_receipts_name_the_field(data: object) -> None:
    with pytest.raises(InvalidReceipt):
        Receipt.from_dict(data)


def _signed(receipt: Receipt) -> tuple[dict[str, object], bytes]:
    return receipt.to_dict(), receipt.sign(KEY)


PUBLIC = KEY.public_key().public_bytes_raw()


def test_check_accepts_the_receipt_for_exactly_what_was_sent() -> None:
    sent = dataclasses.replace(RECEIPT, ledger_index=0)
    assert check(*_signed(RECEIPT), PUBLIC, sent) == RECEIPT


@pytest.mark.parametrize(
    "change",
    [
        {"node": "node-b"},
        {"namespace": "other"},
        {"name": "other"},
        {"version": 8},
        {"index": 3},
        {"sealed_share_sha256": "00" * 32},
        {"commitments_sha256": "00" * 32},
        {"payload_sha256": "00" * 32},
    ],
)
def test_check_refuses_a_receipt_for_anything_else(change: dict[str, object]) -> None:
    """A node that acks another share, secret or version (signed or not) is caught."""
    acked = dataclasses.replace(RECEIPT, **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidReceipt) as refused:
        check(*_signed(acked), PUBLIC, RECEIPT)
    assert f"acknowledges another {next(iter(change))}" in str(refused.value)


def test_check_refuses_a_signature_by_another_key() -> None:
    other = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    with pytest.raises(InvalidReceipt, match="not signed by the pinned key"):
        check(*_signed(RECEIPT), other, RECEIPT)
