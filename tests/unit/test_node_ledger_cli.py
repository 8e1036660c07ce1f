"""``kuorum ledger verify`` judging evidence: who is blamed for what (no network)."""

from __future__ import annotations

import base64
import datetime
import time

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum.cli.ledger import Evidence, audit
from kuorum.ledger import Cosigner, Entry, EntryKind, SignedNote
from kuorum.names import ledger_origin as origin
from kuorum.node.log import NodeLog


def key_b64(key: ed25519.Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def node_log(name: str, key: ed25519.Ed25519PrivateKey, count: int) -> tuple[list[bytes], str]:
    """``count`` entries of a node's log and its signed checkpoint."""
    log = NodeLog(origin(name), key, [])
    now = datetime.datetime.now(datetime.UTC)
    batch = log.prepare(
        [Entry(EntryKind.NODE_STARTED, now, name, reason=f"start {i}") for i in range(count)]
    )
    log.accept(batch)
    return [append.body for append in batch.appends], batch.checkpoint


def cosigned(note: str, witness: str, key: ed25519.Ed25519PrivateKey) -> str:
    text = SignedNote.parse(note.encode()).text.encode()
    line = Cosigner(origin(witness), key).cosign(text, int(time.time())).line()
    return note + line


def world(*, truncate_a: bool = False) -> list[Evidence]:
    """Nodes a (5 entries) and b (3 entries), each having cosigned the other's checkpoint."""
    keys = {"a": ed25519.Ed25519PrivateKey.generate(), "b": ed25519.Ed25519PrivateKey.generate()}
    entries_a, note_a = node_log("a", keys["a"], 5)
    entries_b, note_b = node_log("b", keys["b"], 3)
    a = Evidence(
        "a", key_b64(keys["a"]), note_a.encode(), entries_a[:3] if truncate_a else entries_a
    )
    b = Evidence("b", key_b64(keys["b"]), note_b.encode(), entries_b)
    a.witnessed = [
        {
            "origin": origin("b"),
            "signingKey": b.signing_key,
            "size": 3,
            "checkpoint": cosigned(note_b, "a", keys["a"]),
        }
    ]
    b.witnessed = [
        {
            "origin": origin("a"),
            "signingKey": a.signing_key,
            "size": 5,
            "checkpoint": cosigned(note_a, "b", keys["b"]),
        }
    ]
    return [a, b]


def by_node(reports: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(report["node"]): report for report in reports}


def test_honest_nodes_check_out_with_one_witness_each() -> None:
    everyone = world()
    reports = by_node(audit(everyone))
    assert reports["a"]["ok"] and reports["b"]["ok"]
    assert reports["a"]["witnesses"] == 1 and reports["b"]["witnesses"] == 1


def test_a_truncated_log_is_blamed_on_its_node_only() -> None:
    everyone = world(truncate_a=True)
    reports = by_node(audit(everyone))
    assert not reports["a"]["ok"] and reports["b"]["ok"]


def test_a_witness_whose_key_changed_is_blamed_not_the_log_it_cosigned() -> None:
    everyone = world()
    everyone[1].signing_key = key_b64(ed25519.Ed25519PrivateKey.generate())  # b re-keyed
    reports = by_node(audit(everyone))
    assert reports["a"]["ok"], reports["a"]
    assert not reports["b"]["ok"]
    assert any(
        "its cosignature on the checkpoint of a" in str(problem)
        for problem in reports["b"]["problems"]
    )  # type: ignore[attr-defined]


def test_a_key_other_than_the_pinned_one_is_named() -> None:
    everyone = world()
    everyone[1].witnessed[0]["signingKey"] = key_b64(ed25519.Ed25519PrivateKey.generate())
    reports = by_node(audit(everyone))
    assert not reports["a"]["ok"]
    assert any(
        "pinned a different signing key" in str(problem) for problem in reports["a"]["problems"]
    )  # type: ignore[attr-defined]


def test_an_unreachable_node_fails_without_hiding_the_others() -> None:
    everyone = world()
    everyone[0].problems.append("could not fetch its ledger: ConnectionRefusedError")
    reports = by_node(audit(everyone))
    assert not reports["a"]["ok"] and reports["b"]["ok"]
