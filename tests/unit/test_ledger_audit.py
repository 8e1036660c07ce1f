"""`kuorum ledger verify`'s checks: every kind of tampering is reported, an honest log is ok."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from kuorum.ledger import merkle
from kuorum.ledger.audit import NodeAudit, WitnessReport, audit_node
from kuorum.ledger.checkpoint import Checkpoint, sign_checkpoint
from kuorum.ledger.cosignature import Cosigner
from kuorum.ledger.entries import Entry, EntryKind
from kuorum.ledger.note import Ed25519NoteSigner, SignedNote

NODE = "kuorum-node-1"
ORIGIN = "kuorum.io/ledger/kuorum-node-1"
START = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
LOG_KEY = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
WITNESS_2 = Cosigner("kuorum.io/witness/kuorum-node-2", Ed25519PrivateKey.generate())
WITNESS_3 = Cosigner("kuorum.io/witness/kuorum-node-3", Ed25519PrivateKey.generate())


def make_entries(count: int = 20) -> list[bytes]:
    kinds = [EntryKind.SHARE_STORED, EntryKind.SHARE_RELEASED, EntryKind.SHARE_REFUSED]
    return [
        Entry(
            kinds[i % 3],
            START + timedelta(seconds=i),
            "system:serviceaccount:kuorum-system:kuorum-operator",
            namespace="payments",
            name="db",
            version=i // 3 + 1,
            index=1,
            reason=f"event {i}",
        ).to_bytes()
        for i in range(count)
    ]


ENTRIES = make_entries()


def checkpoint(
    entries: list[bytes], size: int | None = None, key: Ed25519NoteSigner = LOG_KEY
) -> bytes:
    size = len(entries) if size is None else size
    root = merkle.root([merkle.leaf_hash(e) for e in entries[:size]])
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), key)


def report(name: str, cosigner: Cosigner, entries: list[bytes], size: int) -> WitnessReport:
    note = SignedNote.parse(checkpoint(entries, size))
    cosigned = note.with_signatures(cosigner.cosign(note.text.encode(), 1_790_000_000))
    return WitnessReport(name, cosigner.verifier(), cosigned.format())


def witnessed_honestly() -> list[WitnessReport]:
    return [
        report("kuorum-node-2", WITNESS_2, ENTRIES, 12),
        report("kuorum-node-3", WITNESS_3, ENTRIES, 20),
    ]


def audit(
    entries: list[bytes],
    signed: bytes | None = None,
    witnesses: list[WitnessReport] | None = None,
) -> NodeAudit:
    return audit_node(
        NODE,
        LOG_KEY.verifier(),
        entries,
        checkpoint(ENTRIES) if signed is None else signed,
        witnessed_honestly() if witnesses is None else witnesses,
    )


def edited(entries: list[bytes], index: int) -> list[bytes]:
    entry = Entry.from_bytes(entries[index])
    changed = dataclasses.replace(entry, reason="nothing to see here")
    return [*entries[:index], changed.to_bytes(), *entries[index + 1 :]]


def test_untouched_log_is_ok() -> None:
    result = audit(ENTRIES)
    assert result.ok, result.problems
    assert (result.tree_size, result.entries, result.witnesses) == (20, 20, 2)
    assert json.loads(json.dumps(result.to_json())) == {
        "node": NODE,
        "ok": True,
        "origin": ORIGIN,
        "treeSize": 20,
        "entries": 20,
        "witnesses": 2,
        "problems": [],
    }


def test_entries_appended_after_the_checkpoint_are_fine() -> None:
    longer = make_entries(25)
    assert audit(longer).ok


def test_an_edited_entry_is_located_between_witnessed_sizes() -> None:
    result = audit(edited(ENTRIES, 17))
    assert not result.ok
    assert result.problems == (
        "the first 20 entries do not match its signed checkpoint:"
        " an entry in 12..19 was edited, removed, inserted or reordered",
        "the first 20 entries do not match the checkpoint witness kuorum-node-3 cosigned:"
        " an entry in 12..19 was edited, removed, inserted or reordered",
    )


def test_an_edit_is_named_to_the_entry_when_witnesses_bracket_it() -> None:
    witnesses = [report(f"w{n}", WITNESS_2, ENTRIES, n) for n in (17, 18)]
    result = audit(edited(ENTRIES, 17), witnesses=witnesses)
    assert result.problems[-1] == (
        "the first 18 entries do not match the checkpoint witness w18 cosigned:"
        " entry 17 was edited, removed, inserted or reordered"
    )


def test_an_entry_that_no_longer_parses_is_named() -> None:
    broken = [*ENTRIES[:4], ENTRIES[4].replace(b'"v":1', b'"v":9'), *ENTRIES[5:]]
    result = audit(broken)
    assert "entry 4 is not a valid ledger entry: entry format version is not 1" in result.problems


def test_a_deleted_entry_is_reported() -> None:
    result = audit(ENTRIES[:5] + ENTRIES[6:])
    assert "log is shorter (19) than its signed checkpoint (20): entries were removed" in (
        result.problems
    )
    assert any("kuorum-node-2 cosigned: an entry in 0..11" in p for p in result.problems)


def test_reordered_entries_are_reported() -> None:
    swapped = [*ENTRIES[:14], ENTRIES[15], ENTRIES[14], *ENTRIES[16:]]
    result = audit(swapped)
    assert any(
        "do not match its signed checkpoint: an entry in 12..19" in p for p in result.problems
    )


def test_a_truncated_log_is_reported_against_checkpoint_and_witness() -> None:
    result = audit(ENTRIES[:12])
    assert result.problems == (
        "log is shorter (12) than its signed checkpoint (20): entries were removed",
        "log is shorter (12) than the checkpoint witness kuorum-node-3 cosigned (20):"
        " entries were removed",
    )


def test_a_checkpoint_signed_by_another_key_is_reported() -> None:
    impostor = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    result = audit(ENTRIES, signed=checkpoint(ENTRIES, key=impostor))
    assert result.problems == (
        f"the checkpoint of {NODE} does not hold up: note carries no signature from {ORIGIN}",
    )


def test_a_node_rewriting_history_with_its_own_key_is_caught_by_witnesses() -> None:
    rewritten = edited(ENTRIES, 3)
    result = audit(rewritten, signed=checkpoint(rewritten))
    assert result.problems == (
        "the first 12 entries do not match the checkpoint witness kuorum-node-2 cosigned:"
        " an entry in 0..11 was edited, removed, inserted or reordered",
        "the first 20 entries do not match the checkpoint witness kuorum-node-3 cosigned:"
        " an entry in 0..19 was edited, removed, inserted or reordered",
    )


def test_a_rolled_back_log_is_caught_by_witnesses() -> None:
    result = audit(ENTRIES[:15], signed=checkpoint(ENTRIES[:15]))
    assert result.problems == (
        "the signed checkpoint (15) is behind the checkpoint witness kuorum-node-3 cosigned (20):"
        " the log was rolled back",
        "log is shorter (15) than the checkpoint witness kuorum-node-3 cosigned (20):"
        " entries were removed",
    )


def test_a_forged_cosignature_is_reported() -> None:
    forger = Cosigner(WITNESS_2.name, Ed25519PrivateKey.generate())
    forged = report("kuorum-node-2", forger, ENTRIES, 12)
    pinned = dataclasses.replace(forged, verifier=WITNESS_2.verifier())
    result = audit(ENTRIES, witnesses=[pinned])
    assert result.problems == (
        "the checkpoint witness kuorum-node-2 cosigned does not hold up:"
        " note carries no signature from kuorum.io/witness/kuorum-node-2",
    )
    assert result.witnesses == 0


def test_a_witness_report_for_another_log_is_reported() -> None:
    other = Ed25519NoteSigner("kuorum.io/ledger/kuorum-node-9", Ed25519PrivateKey.generate())
    note = SignedNote.parse(sign_checkpoint(Checkpoint(other.name, 1, merkle.EMPTY_ROOT), other))
    note = note.with_signatures(LOG_KEY.sign(note.text.encode()))
    cosigned = note.with_signatures(WITNESS_2.cosign(note.text.encode(), 1))
    result = audit(ENTRIES, witnesses=[WitnessReport("w", WITNESS_2.verifier(), cosigned.format())])
    assert result.problems == (
        f"the checkpoint witness w cosigned is of log {other.name}, not {ORIGIN}",
    )


def test_an_unreadable_checkpoint_still_checks_the_witnesses() -> None:
    result = audit(edited(ENTRIES, 2), signed=b"garbage")
    assert result.tree_size == 0
    assert result.problems[0].startswith(f"the checkpoint of {NODE} does not hold up:")
    assert len(result.problems) == 3


@given(
    operation=st.sampled_from(["edit", "delete", "insert", "swap", "truncate"]),
    position=st.integers(min_value=0, max_value=18),
)
def test_every_tampering_is_reported(operation: str, position: int) -> None:
    tampered = {
        "edit": lambda: edited(ENTRIES, position),
        "delete": lambda: ENTRIES[:position] + ENTRIES[position + 1 :],
        "insert": lambda: [*ENTRIES[:position], ENTRIES[position], *ENTRIES[position:]],
        "swap": lambda: [
            *ENTRIES[:position],
            ENTRIES[position + 1],
            ENTRIES[position],
            *ENTRIES[position + 2 :],
        ],
        "truncate": lambda: ENTRIES[:position],
    }[operation]()
    assert not audit(tampered).ok
    assert not audit(tampered, signed=checkpoint(tampered)).ok  # re-signed: witnesses catch it


# -- an audit that needs its witnesses


def test_a_rewrite_nobody_witnessed_fails_the_quorum_and_names_the_range() -> None:
    """The node deletes entry 15 (past what any witness saw) and re-signs: the prefix
    checks pass, but 12..18 are cosigned by one peer only."""
    rewritten = [*ENTRIES[:15], *ENTRIES[16:]]
    witnesses = [
        report("kuorum-node-2", WITNESS_2, rewritten, 12),
        report("kuorum-node-3", WITNESS_3, rewritten, 19),
    ]
    signed = checkpoint(rewritten)
    assert audit_node(NODE, LOG_KEY.verifier(), rewritten, signed, witnesses).ok
    result = audit_node(NODE, LOG_KEY.verifier(), rewritten, signed, witnesses, quorum=2)
    (problem,) = result.problems
    assert problem.startswith(f"entries 12..18 of {NODE} are cosigned by fewer than 2 peers")


def test_no_witness_at_all_fails_unless_every_entry_is_fresh() -> None:
    signed = checkpoint(ENTRIES)
    (problem,) = audit_node(NODE, LOG_KEY.verifier(), ENTRIES, signed, quorum=1).problems
    assert "entries 0..19" in problem and "(0 vouch for a prefix)" in problem
    fresh = audit_node(NODE, LOG_KEY.verifier(), ENTRIES, signed, quorum=1, fresh_after=START)
    assert fresh.ok, "entries written after the freshness bound may wait for witnesses"
    stale = audit_node(
        NODE,
        LOG_KEY.verifier(),
        ENTRIES,
        signed,
        quorum=1,
        fresh_after=START + timedelta(seconds=5),
    )
    assert not stale.ok


def test_a_full_quorum_covers_the_log() -> None:
    witnesses = [
        report("kuorum-node-2", WITNESS_2, ENTRIES, 20),
        report("kuorum-node-3", WITNESS_3, ENTRIES, 20),
    ]
    signed = checkpoint(ENTRIES)
    assert audit_node(NODE, LOG_KEY.verifier(), ENTRIES, signed, witnesses, quorum=2).ok
