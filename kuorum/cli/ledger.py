"""``kuorum ledger verify``: audit every share node's ledger from the outside.

For each ShareNode it fetches the checkpoint, every entry and what the node witnessed
for its peers (TLS pinned to the ShareNode's certificate), then runs
:func:`kuorum.ledger.audit_node` with the node's registered key and the cosigned
checkpoints its peers hold. A peer that pinned another key for the node is a problem
too. It prints one short report per node (``--json`` for machines) and exits 1 if
anything is wrong, so it can gate a pipeline.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kuorum import names

FRESH_SECONDS = 300.0
"""Entries younger than this may still wait for their cosignatures (peers witness every
30 s by default; this leaves room for a node restarting or a peer catching up)."""

PAGE = 1000
"""Entries asked for per request (the node's page size)."""
TIMEOUT = 15.0


def register(subparsers: Any) -> None:
    """Add ``kuorum ledger verify`` to the CLI."""
    ledger = subparsers.add_parser("ledger", help="inspect the share nodes' ledgers")
    actions = ledger.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="audit every ShareNode's ledger; exit 1 on any problem",
        description="Fetch each node's entries, checkpoint and the cosignatures its peers "
        "hold, and check them against the keys registered in its ShareNode.",
    )
    verify.add_argument("--kubeconfig", type=Path, help="default: $KUBECONFIG or ~/.kube/config")
    verify.add_argument("--json", action="store_true", help="print one JSON document")
    verify.add_argument(
        "--witnesses",
        type=int,
        metavar="K",
        help="peers that must have cosigned every entry (default: a majority of the others)",
    )
    verify.add_argument(
        "--fresh",
        type=float,
        default=FRESH_SECONDS,
        metavar="SECONDS",
        help="entries younger than this may still lack cosignatures (default %(default)s)",
    )
    verify.add_argument(
        "--nodes-lock",
        type=Path,
        metavar="FILE",
        help="check each ShareNode's keys against FILE (kuorum nodes lock); a node it does "
        "not pin, or pins otherwise, fails, and so does a pinned node that is missing",
    )
    verify.set_defaults(func=run_verify)


@dataclass
class Evidence:
    """What one node served; ``problems`` holds what could not be fetched."""

    name: str
    signing_key: str
    checkpoint: bytes = b""
    entries: list[bytes] = field(default_factory=list)
    witnessed: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Client:
    """Plain HTTPS GETs to one node, trusting only its published certificate."""

    def __init__(self, endpoint: str, certificate: str) -> None:
        from kuorum.kube.pinned import pinned_context

        parsed = urlsplit(endpoint)
        if parsed.scheme != "https" or not parsed.hostname:
            raise ValueError(f"endpoint {endpoint!r} is not an https:// URL")
        self._host, self._port = parsed.hostname, parsed.port or 443
        self._context = pinned_context(certificate)

    def get(self, path: str) -> bytes:
        connection = http.client.HTTPSConnection(
            self._host, self._port, context=self._context, timeout=TIMEOUT
        )
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise OSError(f"GET {path} answered HTTP {response.status}: {body[:200]!r}")
        return body


def collect(items: list[dict[str, Any]]) -> list[Evidence]:
    """Fetch every node's evidence; failures become problems, never exceptions.

    What peers witnessed is fetched first and the logs second: logs only grow, so no
    witnessed size can then be ahead of the log fetched for it (no false "rollback").
    """
    from kuorum.ledger import Checkpoint, SignedNote
    from kuorum.models import ShareNode

    nodes: list[tuple[Evidence, _Client | None]] = []
    for item in items:
        spec = item.get("spec") or {}
        evidence = Evidence(item["metadata"]["name"], str(spec.get("signingKey", "")))
        try:
            parsed = ShareNode.from_object(item).spec
            node = _Client(parsed.endpoint, parsed.tls_certificate)
            evidence.witnessed = json.loads(node.get("/v1/ledger/witnessed"))
        except Exception as error:  # any failure is evidence against the node
            evidence.problems.append(f"could not fetch its ledger: {type(error).__name__}: {error}")
            node = None
        nodes.append((evidence, node))
    for evidence, node in nodes:
        if node is None:
            continue
        try:
            evidence.checkpoint = node.get("/v1/ledger/checkpoint")
            size = Checkpoint.parse(SignedNote.parse(evidence.checkpoint).text.encode()).size
            while len(evidence.entries) < size:
                start = len(evidence.entries)
                page = json.loads(node.get(f"/v1/ledger/entries?start={start}&end={size}"))
                if not page["entries"]:
                    raise OSError(
                        f"served no entries from {start} although its checkpoint has size {size}"
                    )
                evidence.entries += [base64.b64decode(entry) for entry in page["entries"]]
        except Exception as error:  # any failure is evidence against the node
            evidence.problems.append(f"could not fetch its ledger: {type(error).__name__}: {error}")
    return [evidence for evidence, _ in nodes]


def default_quorum(nodes: int) -> int:
    """Cosigning peers each entry needs by default: a majority of the other nodes."""
    return (nodes - 1) // 2 + 1 if nodes > 1 else 0


def audit(
    everyone: list[Evidence], *, quorum: int | None = None, fresh: float = FRESH_SECONDS
) -> list[dict[str, Any]]:
    """Audit each node with the checkpoints its peers cosigned; plain data for printing.

    A cosignature that does not verify with its witness's registered key is blamed on
    the witness, not on the log it cosigned. Entries fewer than ``quorum`` peers cosigned
    (default: a majority of the others) fail unless younger than ``fresh`` seconds.
    """
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives.asymmetric import ed25519

    from kuorum.ledger import (
        CosignatureVerifier,
        Ed25519NoteVerifier,
        LedgerError,
        SignedNote,
        WitnessReport,
        audit_node,
    )

    def key(encoded: str) -> ed25519.Ed25519PublicKey:
        return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))

    problems: dict[str, list[str]] = {e.name: list(e.problems) for e in everyone}
    reports: dict[str, list[WitnessReport]] = {e.name: [] for e in everyone}
    by_origin = {names.ledger_origin(e.name): e for e in everyone}
    for witness in everyone:
        for state in witness.witnessed:
            subject = by_origin.get(str(state.get("origin")))
            if subject is None or not state.get("size"):
                continue
            if state.get("signingKey") != subject.signing_key:
                problems[subject.name].append(
                    f"peer {witness.name} pinned a different signing key for this node than "
                    "its ShareNode shows now: the key was changed"
                )
            try:
                verifier = CosignatureVerifier(
                    names.ledger_origin(witness.name), key(witness.signing_key)
                )
                note = str(state["checkpoint"]).encode()
                SignedNote.parse(note).verify([verifier])
            except (LedgerError, ValueError, KeyError) as error:
                problems[witness.name].append(
                    f"its cosignature on the checkpoint of {subject.name} does not verify with "
                    f"its registered key: {error}"
                )
                continue
            reports[subject.name].append(WitnessReport(witness.name, verifier, note))
    for witness in everyone:
        for forked, reason in _forks_seen(witness, by_origin):
            problems[forked].append(f"peer {witness.name} recorded {reason}")
    results = []
    for evidence in everyone:
        own = problems[evidence.name]
        try:
            log_key = Ed25519NoteVerifier(
                names.ledger_origin(evidence.name), key(evidence.signing_key)
            )
        except ValueError as error:
            own.append(f"its ShareNode signingKey is not an Ed25519 key: {error}")
            log_key = None
        if log_key is None or evidence.problems:
            results.append({"node": evidence.name, "ok": False, "problems": own})
            continue
        result = audit_node(
            evidence.name,
            log_key,
            evidence.entries,
            evidence.checkpoint,
            reports[evidence.name],
            quorum=default_quorum(len(everyone)) if quorum is None else quorum,
            fresh_after=datetime.now(UTC) - timedelta(seconds=fresh),
        ).to_json()
        result["problems"] = [*own, *result["problems"]]  # type: ignore[misc]
        result["ok"] = not result["problems"]
        results.append(result)
    return results


def _check_lock(reports: list[dict[str, Any]], objects: list[dict[str, Any]], lock: Path) -> None:
    """Fail each node the lock does not vouch for; report locked nodes that are gone."""
    from kuorum import nodelock

    pins = nodelock.load(lock)
    by_name = {report["node"]: report for report in reports}
    for obj in objects:
        report = by_name.get(obj["metadata"]["name"])
        problems = nodelock.mismatches(pins, obj)
        if report is not None and problems:
            report["problems"] = [*problems, *report["problems"]]
            report["ok"] = False
    for name in sorted(set(pins) - set(by_name)):
        missing = (
            f"ShareNode {name} is pinned in {lock} but not in the cluster: its ledger is unaudited"
        )
        reports.append({"node": name, "ok": False, "problems": [missing]})


def _forks_seen(witness: Evidence, by_origin: dict[str, Evidence]) -> list[tuple[str, str]]:
    """``(node, reason)`` for each fork of a node's log that ``witness`` has on its ledger."""
    from kuorum.ledger import Entry, EntryKind, LedgerError
    from kuorum.ledger.entries import FORK_EVIDENCE

    seen = []
    for data in witness.entries:
        try:
            entry = Entry.from_bytes(data)
        except LedgerError:
            continue  # named by the audit of the witness's own log
        subject = by_origin.get(entry.actor)
        if (
            subject is not None
            and entry.kind == EntryKind.WITNESS_REFUSED
            and entry.reason.startswith(FORK_EVIDENCE)
        ):
            seen.append((subject.name, entry.reason))
    return seen


def run_verify(args: argparse.Namespace) -> int:
    """Audit every ShareNode; print the reports; 0 only if every node checks out."""
    from kuorum.kube.client import api_client
    from kuorum.kube.sharenodes import list_share_nodes

    objects = list_share_nodes(api_client(args.kubeconfig))
    reports = audit(collect(objects), quorum=args.witnesses, fresh=args.fresh)
    if args.nodes_lock is not None:
        _check_lock(reports, objects, args.nodes_lock)
    ok = bool(reports) and all(report["ok"] for report in reports)
    if args.json:
        json.dump({"ok": ok, "nodes": reports}, sys.stdout, indent=2)
        print()
    elif not reports:
        print("no ShareNodes found: nothing to verify (right cluster? right --kubeconfig?)")
    for report in [] if args.json else reports:
        if report["ok"]:
            print(
                f"{report['node']}: ok, tree size {report['treeSize']}, "
                f"{report['entries']} entries, "
                f"{report['witnesses']} witness checkpoints verified"
            )
        else:
            print(f"{report['node']}: FAILED")
            for problem in report["problems"]:
                print(f"  - {problem}")
    return 0 if ok else 1
