"""Ledger entries: one canonical encoding per event, and nowhere to put a secret."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kuorum.ledger import merkle
from kuorum.ledger.entries import Entry, EntryKind
from kuorum.ledger.errors import EntryError

OPERATOR = "system:serviceaccount:kuorum-system:kuorum-operator"
WHEN = datetime(2026, 11, 24, 18, 21, 13, tzinfo=UTC)


def released() -> Entry:
    return Entry(
        EntryKind.SHARE_RELEASED,
        WHEN,
        OPERATOR,
        namespace="payments",
        name="db-credentials",
        version=3,
        index=2,
        reason="materialize",
    )


def test_canonical_bytes_are_sorted_compact_versioned_json() -> None:
    assert released().to_bytes() == (
        b'{"actor":"system:serviceaccount:kuorum-system:kuorum-operator","index":2,'
        b'"kind":"share.released","name":"db-credentials","namespace":"payments",'
        b'"reason":"materialize","time":"2026-11-24T18:21:13Z","v":1,"version":3}'
    )


def test_leaf_hash_is_the_rfc6962_hash_of_the_canonical_bytes() -> None:
    entry = released()
    assert entry.leaf_hash() == merkle.leaf_hash(entry.to_bytes())


def test_times_are_stored_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    entry = dataclasses.replace(released(), time=WHEN.astimezone(paris))
    assert b'"time":"2026-11-24T18:21:13Z"' in entry.to_bytes()
    precise = dataclasses.replace(released(), time=WHEN.replace(microsecond=5))
    assert b'"time":"2026-11-24T18:21:13.000005Z"' in precise.to_bytes()


@given(
    kind=st.sampled_from(EntryKind),
    time=st.datetimes(timezones=st.just(UTC)),
    namespace=st.none() | st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
    version=st.none() | st.integers(min_value=0, max_value=2**40),
    index=st.none() | st.integers(min_value=1, max_value=255),
    reason=st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=60),
)
def test_round_trip(
    kind: EntryKind,
    time: datetime,
    namespace: str | None,
    version: int | None,
    index: int | None,
    reason: str,
) -> None:
    entry = Entry(kind, time, OPERATOR, namespace, "secret", version, index, reason)
    assert Entry.from_bytes(entry.to_bytes()) == entry


def test_entries_have_no_field_for_payloads() -> None:
    fields = {f.name for f in dataclasses.fields(Entry)}
    assert fields == {
        *("kind", "time", "actor", "namespace", "name", "version", "index", "reason"),
        *("pod", "pod_uid"),
    }
    with pytest.raises(TypeError):
        Entry(EntryKind.SHARE_STORED, WHEN, OPERATOR, share=b"secret")  # type: ignore[call-arg]


def _reencode(change: dict[str, Any]) -> bytes:
    fields = json.loads(released().to_bytes())
    fields.update(change)
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (_reencode({"v": 2}), "format version"),
        (_reencode({"share": "c2VjcmV0"}), "fields are wrong"),
        (_reencode({"kind": "share.leaked"}), "fields are wrong"),
        (_reencode({"time": "2026-11-24 18:21:13"}), "RFC 3339"),
        (_reencode({"time": "2026-11-24T18:21:13+00:00"}), "RFC 3339"),
        (_reencode({"version": -1}), "version"),
        (_reencode({"version": "3"}), "version"),
        (_reencode({"version": True}), "version"),
        (_reencode({"index": 0}), "index"),
        (_reencode({"namespace": "Payments"}), "not a Kubernetes object name"),
        (_reencode({"actor": ""}), "actor is empty"),
        (_reencode({"reason": "a\nb"}), "control or invisible"),
        (_reencode({"reason": "a\u200bb"}), "control or invisible"),
        (_reencode({"reason": "x" * 513}), "longer than 512"),
        (released().to_bytes().replace(b",", b", "), "canonical"),
        (released().to_bytes().replace(b"db-credentials", b"db-cr\\u0065dentials"), "canonical"),
    ],
    ids=[
        "not-json",
        "not-object",
        "future-version",
        "payload-field",
        "unknown-kind",
        "time-space",
        "time-offset",
        "negative-version",
        "string-version",
        "bool-version",
        "index-zero",
        "uppercase-namespace",
        "empty-actor",
        "newline-in-reason",
        "zero-width-space",
        "long-reason",
        "whitespace",
        "escaped-ascii",
    ],
)
def test_anything_but_a_canonical_valid_entry_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(EntryError, match=message):
        Entry.from_bytes(data)


def test_naive_times_are_refused() -> None:
    with pytest.raises(EntryError, match="timezone-aware"):
        Entry(EntryKind.NODE_STARTED, datetime(2026, 1, 1), "kuorum-node-1")


def test_kinds_cover_every_event_the_design_asks_for() -> None:
    assert {k.value for k in EntryKind} >= {
        "share.stored",
        "share.released",
        "share.refused",
        "share.destroyed",
        "node.started",
        "key.created",
    }


def test_pod_fields_are_left_out_when_unset_so_older_leaves_keep_their_bytes() -> None:
    plain = Entry(EntryKind.SHARE_RELEASED, WHEN, OPERATOR, "ns", "secret", 1, 2, "why")
    assert b"pod" not in plain.to_bytes()
    uid = "0f0e0d0c-0b0a-0908-0706-050403020100"
    delivered = dataclasses.replace(plain, pod="ns/web-1", pod_uid=uid)
    assert Entry.from_bytes(delivered.to_bytes()) == delivered
    assert b'"pod":"ns/web-1"' in delivered.to_bytes()
    with pytest.raises(EntryError):
        dataclasses.replace(plain, pod="no-slash/")
    with pytest.raises(EntryError):
        dataclasses.replace(plain, pod_uid="not-a-uid")
