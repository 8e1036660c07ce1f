"""``kuorum status NAME [-n NAMESPACE]``: one screen on a DecentralizedSecret.

Everything shown comes from the secret's status and the ShareNodes' status: versions,
nodes and their state, shares reachable, last collection, bad shares, ledger sizes.
Nothing here can show a value: the command never reads the materialized Secret.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
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
    nodes = list_share_nodes(api)
    print(render(obj, {n["metadata"]["name"]: n for n in nodes}))
    return 0 if is_ready(obj) else 1


def render(obj: Mapping[str, Any], sharenodes: Mapping[str, Mapping[str, Any]]) -> str:
    """The screen for one DecentralizedSecret object and the ShareNodes by name."""
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
    return "\n".join(lines)


def _source(source: Mapping[str, Any]) -> str:
    """Which source, with what identifies it (never a value: the spec holds none)."""
    if "sealed" in source:
        sealed = source["sealed"]
        return f"sealed (version {sealed.get('version', '-')}, sealer {sealed.get('sealer', '-')})"
    if "fromSecret" in source:
        return f"fromSecret (Secret {source['fromSecret'].get('name', '-')})"
    keys = [k.get("name", "-") for k in (source.get("generate") or {}).get("keys") or []]
    return f"generate (keys {', '.join(keys) or '-'})"
