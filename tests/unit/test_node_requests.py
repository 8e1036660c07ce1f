"""Request parsing of the node API (paths here, bodies in the core's wire format): errors
name the field, never echo share material."""

from __future__ import annotations

import base64

import pytest

from kuorum.node.errors import BadRequest
from kuorum.node.requests import slot
from kuorum.nodeapi import ReleaseRequest, StoreRequest, WireError

store_request = StoreRequest.from_json
release_request = ReleaseRequest.from_json

GOOD = {
    "index": 1,
    "threshold": 2,
    "sealedShare": base64.b64encode(b"s").decode(),
    "commitments": base64.b64encode(b"c").decode(),
    "payload": base64.b64encode(b"p").decode(),
}


def test_store_body_round_trips() -> None:
    body = store_request(GOOD)
    assert (body.index, body.threshold, body.sealed_share, body.commitments, body.payload) == (
        1,
        2,
        b"s",
        b"c",
        b"p",
    )
    assert "s" not in repr(body).replace("StoreRequest", "").replace("threshold", "")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"index": "1"}, "index"),
        ({"index": True}, "index"),
        ({"threshold": None}, "threshold"),
        ({"sealedShare": "%%%"}, "sealedShare"),
        ({"payload": 5}, "payload"),
    ],
    ids=["index-string", "index-bool", "threshold-missing", "share-not-base64", "payload-int"],
)
def test_bad_store_fields_are_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(WireError, match=field):
        store_request({**GOOD, **change})


def test_secret_material_is_not_echoed() -> None:
    secret = "c2VjcmV0LXNoYXJl!"
    with pytest.raises(WireError) as error:
        store_request({**GOOD, "sealedShare": secret})
    assert secret not in str(error.value)


@pytest.mark.parametrize(
    ("namespace", "name", "version"),
    [
        ("Team", "db", "1"),
        ("team", "db_1", "1"),
        ("team", "db", "0"),
        ("team", "db", "-1"),
        ("team", "db", "x"),
    ],
)
def test_bad_slots_are_refused(namespace: str, name: str, version: str) -> None:
    with pytest.raises(BadRequest):
        slot(namespace, name, version)


def test_release_reason_is_required_and_bounded() -> None:
    key = base64.b64encode(b"k" * 32).decode()
    assert (
        release_request({"recipientKey": key, "kem": "X25519", "reason": "materialize"}).reason
        == "materialize"
    )
    for reason in ("", "x" * 300, "line\nbreak"):
        with pytest.raises(WireError, match="reason"):
            release_request({"recipientKey": key, "kem": "X25519", "reason": reason})


def test_every_body_round_trips_through_its_json() -> None:
    from kuorum.nodeapi import Destroyed, HeldVersion, Released, SignedReceipt, held_from_json

    receipt = SignedReceipt({"node": "n1", "version": 3}, b"sig")
    bodies = [
        StoreRequest(1, 2, b"s", b"c", b"p"),
        ReleaseRequest(b"k" * 32, "X25519", "materialize"),
        receipt,
        HeldVersion(3, 1, receipt),
        Released(1, 2, b"s", b"c", b"p"),
        Destroyed((1, 2)),
    ]
    for body in bodies:
        assert type(body).from_json(body.to_json()) == body
    assert held_from_json([HeldVersion(3, 1, receipt).to_json()]) == [HeldVersion(3, 1, receipt)]


@pytest.mark.parametrize(
    "answer",
    [[], {"destroyed": ["1"]}, {"destroyed": [True]}, {"destroyed": "1"}],
    ids=["not-an-object", "string-version", "bool-version", "not-a-list"],
)
def test_a_malformed_destroy_answer_is_refused(answer: object) -> None:
    from kuorum.nodeapi import Destroyed

    with pytest.raises(WireError):
        Destroyed.from_json(answer)
