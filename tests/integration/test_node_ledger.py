"""Witnessed ledgers on real nodes, and ``kuorum ledger verify`` catching tampering.

The tampering is done the way a node's own administrator could do it: stop the node,
rewrite its SQLite ledger consistently (entries and leaf hashes, dropping checkpoints
the new history contradicts) and restart it, so the node itself signs the new history.
Only the checkpoints its peers cosigned before can tell, and verify must say so.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from nodes import (
    NodeProcess,
    ShareNodes,
    ledger_entries,
    public_keys,
    release,
    share_nodes_fixture,  # noqa: F401 - the share_nodes fixture
    store_body,
)

from kuorum import sharing
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.envelope import NodeKeys
from kuorum.ledger import (
    Checkpoint,
    Ed25519NoteSigner,
    Entry,
    EntryKind,
    leaf_hash,
    sign_checkpoint,
)
from kuorum.ledger import root as merkle_root
from kuorum.ledger.entries import FORK_EVIDENCE
from kuorum.ledger.witness import add_checkpoint_request

pytestmark = pytest.mark.integration

COSIGNATURE_TIMEOUT = 60.0


def populate(
    control_plane: ControlPlane, share_nodes: ShareNodes, count: int = 3
) -> list[NodeProcess]:
    """Start ``count`` nodes, store two versions on each, wait for full cosigning."""
    nodes = share_nodes.start(count)
    for version in (1, 2):
        dealt = sharing.split(sharing.new_data_key(), 2, count)
        for index, node in enumerate(nodes, start=1):
            body = store_body(
                node,
                public_keys(control_plane, node),
                dealt,
                namespace="team",
                name="db",
                version=version,
                index=index,
            )
            path = f"/v1/shares/team/db/{version}"
            answer = node.request("PUT", path, token=node.operator_token, body=body)
            assert answer.status == 200, answer.body
    wait_fully_cosigned(nodes)
    return nodes


def cosignatures(node: NodeProcess) -> int:
    """Signature lines on the node's served checkpoint beyond its own."""
    note = node.request("GET", "/v1/ledger/checkpoint").body.decode()
    return sum(line.startswith("\u2014 ") for line in note.splitlines()) - 1


def wait_fully_cosigned(nodes: list[NodeProcess]) -> None:
    deadline = time.monotonic() + COSIGNATURE_TIMEOUT
    while time.monotonic() < deadline:
        if all(cosignatures(node) == len(nodes) - 1 for node in nodes):
            return
        time.sleep(0.2)
    raise AssertionError(
        f"checkpoints not cosigned by every peer: {[cosignatures(node) for node in nodes]}"
    )


def verify(control_plane: ControlPlane, *extra: str) -> tuple[int, dict[str, dict[str, object]]]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kuorum",
            "ledger",
            "verify",
            "--json",
            "--kubeconfig",
            str(control_plane.kubeconfig),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    return result.returncode, {node["node"]: node for node in report["nodes"]}


def test_untouched_witnessed_ledgers_verify(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    nodes = populate(control_plane, share_nodes)
    code, report = verify(control_plane)
    assert code == 0, report
    assert set(report) == {node.name for node in nodes}
    for node in nodes:
        assert report[node.name]["ok"] is True
        assert report[node.name]["witnesses"] == len(nodes) - 1
        assert report[node.name]["entries"] == report[node.name]["treeSize"]
    human = subprocess.run(
        [
            sys.executable,
            "-m",
            "kuorum",
            "ledger",
            "verify",
            "--kubeconfig",
            str(control_plane.kubeconfig),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert human.returncode == 0
    assert all(f"{node.name}: ok" in human.stdout for node in nodes)


Rewrite = Callable[[list[bytes]], list[bytes]]


def edit(entries: list[bytes]) -> list[bytes]:
    entry = Entry.from_bytes(entries[2])
    entries[2] = dataclasses.replace(entry, reason="nothing to see here").to_bytes()
    return entries


def delete(entries: list[bytes]) -> list[bytes]:
    del entries[2]
    return entries


def reorder(entries: list[bytes]) -> list[bytes]:
    entries[2], entries[3] = entries[3], entries[2]
    return entries


def truncate(entries: list[bytes]) -> list[bytes]:
    return entries[:-2]


def rewrite_ledger(node: NodeProcess, change: Rewrite) -> None:
    """Rewrite entries and leaf hashes together; drop checkpoints the new log cannot back."""
    with sqlite3.connect(node.database) as db:
        rows = db.execute("SELECT body FROM entries ORDER BY entry_index").fetchall()
        entries = change([bytes(row[0]) for row in rows])
        db.execute("DELETE FROM entries")
        db.executemany(
            "INSERT INTO entries VALUES (?, ?, ?)",
            [(index, body, leaf_hash(body)) for index, body in enumerate(entries)],
        )
        db.execute("DELETE FROM checkpoints WHERE size > ?", (len(entries),))
        db.execute("DELETE FROM cosignatures WHERE size > ?", (len(entries),))


def replace_signing_key(node: NodeProcess) -> None:
    fresh = NodeKeys.generate(kem="X25519")
    old = NodeKeys.load(node.data_dir / "keys")
    NodeKeys(old.encryption, fresh.signing).save(node.data_dir / "keys")


def start_rekeyed(control_plane: ControlPlane, node: NodeProcess) -> None:
    """Start a node whose keys changed: it stays unregistered (keys never change in place)
    until an administrator runs ``kuorum nodes rekey``; then it registers its new keys."""
    node.start()
    wait_until(
        lambda: "kuorum nodes rekey" in node.log.read_text(),
        timeout=60,
        what=f"{node.name} refusing to re-register with new keys",
    )
    assert not node.ready()
    kubeconfig = str(control_plane.kubeconfig)
    subprocess.run(
        [sys.executable, "-m", "kuorum", "nodes", "rekey", node.name, "--kubeconfig", kubeconfig],
        check=True,
        capture_output=True,
        timeout=60,
    )
    node.wait_ready()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda node: rewrite_ledger(node, edit),
        lambda node: rewrite_ledger(node, delete),
        lambda node: rewrite_ledger(node, reorder),
        lambda node: rewrite_ledger(node, truncate),
        replace_signing_key,
    ],
    ids=["edit", "delete", "reorder", "truncate", "signing-key"],
)
def test_tampering_with_one_ledger_is_named(
    control_plane: ControlPlane, share_nodes: ShareNodes, tamper: Callable[[NodeProcess], None]
) -> None:
    nodes = populate(control_plane, share_nodes)
    victim = nodes[1]
    victim.stop()
    tamper(victim)
    if tamper is replace_signing_key:
        start_rekeyed(control_plane, victim)
    else:
        victim.start()
        victim.wait_ready()
    code, report = verify(control_plane)
    assert code == 1
    assert report[victim.name]["ok"] is False
    assert report[victim.name]["problems"]
    for node in nodes:
        if node is not victim:
            assert report[node.name]["ok"] is True, report[node.name]


def test_witnesses_refuse_a_rekeyed_node_and_log_it(
    control_plane: ControlPlane, share_nodes: ShareNodes, tmp_path: Path
) -> None:
    """A changed log key is never re-trusted silently: peers refuse and ledger it, and
    ``ledger verify --nodes-lock`` names the node against the committed lock."""
    witness, victim = populate(control_plane, share_nodes, count=2)
    lock = tmp_path / "nodes.lock"
    lock_command = ["nodes", "lock", "--kubeconfig", str(control_plane.kubeconfig), "-o", str(lock)]
    subprocess.run(
        [sys.executable, "-m", "kuorum", *lock_command],
        check=True,
        timeout=60,
    )
    assert verify(control_plane, "--nodes-lock", str(lock))[0] == 0
    victim.stop()
    replace_signing_key(victim)
    start_rekeyed(control_plane, victim)
    deadline = time.monotonic() + COSIGNATURE_TIMEOUT
    refusals: list[Entry] = []
    while not refusals and time.monotonic() < deadline:
        refusals = [
            entry
            for entry in map(Entry.from_bytes, ledger_entries(witness))
            if entry.kind == EntryKind.WITNESS_REFUSED
        ]
        time.sleep(0.2)
    assert refusals, "the witness never refused the re-keyed node's checkpoint"
    assert refusals[0].actor == f"kuorum.io/node/{victim.name}"
    assert "log key" in refusals[0].reason or "signature" in refusals[0].reason
    while "different signingKey" not in witness.log.read_text():
        assert time.monotonic() < deadline, "the witness never logged the changed key"
        time.sleep(0.2)
    code, report = verify(control_plane, "--nodes-lock", str(lock))
    assert code == 1
    assert any(
        f"ShareNode {victim.name} has another spec.signingKey" in problem
        for problem in report[victim.name]["problems"]  # type: ignore[attr-defined]
    )


def test_a_node_cannot_rewrite_unseen_or_avoid_its_witnesses(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    """The node stops asking its witnesses (they are away when it restarts, and it
    waits an hour before asking again), deletes a release entry written since, and
    re-signs: every prefix check passes, but the entries no majority cosigned are named.
    When the peers are back they pull its checkpoint themselves: not asking does not
    keep a node unwitnessed."""
    nodes = populate(control_plane, share_nodes)
    victim, peers = nodes[1], [nodes[0], nodes[2]]
    for node in nodes:
        node.stop()
    victim.argv[victim.argv.index("--witness-interval") + 1] = "3600"
    victim.start()
    victim.wait_ready()
    keys = public_keys(control_plane, victim)
    answer, _ = release(victim, keys, victim.operator_token, namespace="team", name="db", version=2)
    assert answer.status == 200
    released = len(ledger_entries(victim)) - 1
    victim.stop()
    rewrite_ledger(victim, lambda entries: entries[:released] + entries[released + 1 :])
    victim.start()
    victim.wait_ready()
    assert verify(control_plane)[1][victim.name]["ok"], "within --fresh the tail may wait"
    code, report = verify(control_plane, "--fresh", "0")
    assert code == 1
    (problem,) = report[victim.name]["problems"]  # type: ignore[misc]
    assert f"of {victim.name} are cosigned by fewer than 2 peers" in problem

    for peer in peers:
        peer.start()
    for peer in peers:
        peer.wait_ready()
    wait_until(
        lambda: verify(control_plane, "--fresh", "0")[1][victim.name]["ok"],
        timeout=COSIGNATURE_TIMEOUT,
        what=f"peers pulling and cosigning {victim.name}'s log without being asked",
    )


def test_a_same_size_fork_is_recorded_by_the_witness_and_shown_by_verify(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    """With the node's pod (its key and its tokens), an attacker signs another history of the size
    its peers cosigned and shows it to a witness: the witness keeps the fork on its
    ledger, however often it is replayed, and ``ledger verify`` names it."""
    witness, victim = populate(control_plane, share_nodes, count=2)
    served = victim.request("GET", "/v1/ledger/checkpoint").body
    size = int(served.split(b"\n")[1])
    other = edit([bytes(e) for e in ledger_entries(victim)[:size]])
    keys = NodeKeys.load(victim.data_dir / "keys")
    signer = Ed25519NoteSigner(f"kuorum.io/node/{victim.name}", keys.signing)
    forged = sign_checkpoint(
        Checkpoint(
            f"kuorum.io/node/{victim.name}", size, merkle_root([leaf_hash(e) for e in other])
        ),
        signer,
    )
    body = add_checkpoint_request(size, [], forged)
    pod_token = (share_nodes.directory / "peer-tokens" / victim.name / witness.name).read_text()
    for _ in range(3):
        answer = witness.request("POST", "/v1/ledger/add-checkpoint", token=pod_token, raw=body)
        assert answer.status == 409, answer.body
    forks = [
        e
        for e in map(Entry.from_bytes, ledger_entries(witness))
        if e.kind == EntryKind.WITNESS_REFUSED and e.reason.startswith(FORK_EVIDENCE)
    ]
    assert len(forks) == 1 and forks[0].actor == f"kuorum.io/node/{victim.name}"
    code, report = verify(control_plane)
    assert code == 1
    assert any(
        f"peer {witness.name} recorded {FORK_EVIDENCE}" in problem
        for problem in report[victim.name]["problems"]  # type: ignore[attr-defined]
    )
