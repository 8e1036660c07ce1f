"""``kuorum status NAME [-n NAMESPACE]``: one screen on a DecentralizedSecret.

Everything shown comes from the secret's status and the ShareNodes' status: versions,
nodes and their state, shares reachable, last collection, bad shares, ledger sizes; with
delivery Pod also which pods received which version, read from the nodes' ledgers.
Nothing here can show a value: the command never reads the materialized Secret.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``kuorum status`` to the CLI."""
    parser = subparsers.add_parser("status", help="one screen on a DecentralizedSecret")
    parser.add_argument("name", help="the DecentralizedSecret")
    parser.add_argument("-n", "--namespace", default="default", help="its namespace")
    parser.add_argument("--kubeconfig", type=Path, help="default: $KUBECONFIG, ~/.kube/config")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the screen; exit 1 when the secret is not Ready."""
    from kuorum.errors import UserError
    from kuorum.kube.client import api_client
    from kuorum.kube.decentralizedsecrets import get_decentralized_secret
    from kuorum.kube.sharenodes import list_share_nodes
    from kuorum.models import is_ready

    api = api_client(args.kubeconfig)
    obj = get_decentralized_secret(api, args.namespace, args.name)
    if obj is None:
        raise UserError(
            f"no DecentralizedSecret {args.namespace}/{args.name}; "
            f"list them with: kubectl get dsec -n {args.namespace}"
        )
    nodes = {n["metadata"]["name"]: n for n in list_share_nodes(api)}
    ledgers = None
    if (obj.get("spec") or {}).get("delivery") == "Pod":
        from kuorum.cli.ledger import collect

        chosen = [n["name"] for n in (obj.get("status") or {}).get("nodes") or []]
        ledgers = {e.name: e.entries for e in collect([nodes[n] for n in chosen if n in nodes])}
    print(render(obj, nodes, ledgers))
    return 0 if is_ready(obj) else 1


def render(
    obj: Mapping[str, Any],
    sharenodes: Mapping[str, Mapping[str, Any]],
    ledgers: Mapping[str, Sequence[bytes]] | None = None,
) -> str:
    """The screen for one DecentralizedSecret object and the ShareNodes by name (and,
    with delivery Pod, the entries of its nodes' ledgers by node)."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    chosen = status.get("nodes") or []
    lines = [
        f"{meta['namespace']}/{meta['name']}: {spec.get('threshold')}-of-{spec.get('shares')}, "
        f"version {status.get('version', '-')}"
        + (
            f" (version {status['pendingVersion']} pending)" if status.get("pendingVersion") else ""
        ),
        f"  source             {_source(spec.get('source') or {})}",
        f"  shares reachable   {status.get('sharesReachable', '-')} of {len(chosen) or '-'}"
        f" (need {spec.get('threshold')})",
        f"  last collection    {status.get('lastCollectionTime', '-')}",
        f"  next rotation      {status.get('nextRotationTime', '-')}",
        "",
        "  conditions",
    ]
    for condition in status.get("conditions") or []:
        lines.append(
            f"    {condition['type']:<12} {condition['status']:<6} {condition.get('reason', '')}: "
            f"{condition.get('message', '')}"
        )
    lines += ["", f"  {'node':<20} {'index':>5}  {'state':<12} {'zone':<10} ledger"]
    for node in chosen:
        found = sharenodes.get(node["name"]) or {}
        zone = (found.get("spec") or {}).get("zone", "-")
        ledger = (found.get("status") or {}).get("ledgerSize", "-")
        lines.append(
            f"  {node['name']:<20} {node['index']:>5}  {node['state']:<12} {zone:<10} {ledger}"
        )
    bad = status.get("badShares") or []
    if bad:
        lines += ["", "  bad shares"]
        lines += [f"    {b['node']} (version {b['version']}) at {b['time']}" for b in bad]
    if ledgers is not None:
        lines += ["", "  deliveries (from the nodes' ledgers)"]
        delivered = deliveries(ledgers, meta["namespace"], meta["name"])
        lines += [
            f"    version {version}  {pod} (uid {uid}, {actor})  from {', '.join(sorted(by))}"
            for (version, pod, uid, actor), by in sorted(delivered.items())
        ] or ["    none yet"]
    return "\n".join(lines)


def deliveries(
    ledgers: Mapping[str, Sequence[bytes]], namespace: str, name: str
) -> dict[tuple[int, str, str, str], set[str]]:
    """Which nodes released which version to which pod: ``(version, pod, uid, actor)`` to
    the node names, from each node's ``share.released`` entries that name a pod."""
    from kuorum.ledger import Entry, EntryKind

    found: dict[tuple[int, str, str, str], set[str]] = {}
    for node, bodies in ledgers.items():
        for body in bodies:
            entry = Entry.from_bytes(body)
            if (
                entry.kind == EntryKind.SHARE_RELEASED
                and (entry.namespace, entry.name) == (namespace, name)
                and entry.pod is not None
                and entry.version is not None
            ):
                key = (entry.version, entry.pod, entry.pod_uid or "-", entry.actor)
                found.setdefault(key, set()).add(node)
    return found


def _source(source: Mapping[str, Any]) -> str:
    """Which source, with what identifies it (never a value: the spec holds none)."""
    if "sealed" in source:
        sealed = source["sealed"]
        return f"sealed (version {sealed.get('version', '-')}, sealer {sealed.get('sealer', '-')})"
    if "fromSecret" in source:
        return f"fromSecret (Secret {source['fromSecret'].get('name', '-')})"
    keys = [k.get("name", "-") for k in (source.get("generate") or {}).get("keys") or []]
    return f"generate (keys {', '.join(keys) or '-'})"
