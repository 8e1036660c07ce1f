"""Request parsing of the node API: errors name the field, never echo share material."""

from __future__ import annotations

import base64

import pytest

from kuorum.node.errors import BadRequest
from kuorum.node.requests import release_request, slot, store_request

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
    with pytest.raises(BadRequest, match=field):
        store_request({**GOOD, **change})


def test_secret_material_is_not_echoed() -> None:
    secret = "c2VjcmV0LXNoYXJl!"
    with pytest.raises(BadRequest) as error:
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
        with pytest.raises(BadRequest, match="reason"):
            release_request({"recipientKey": key, "kem": "X25519", "reason": reason})
