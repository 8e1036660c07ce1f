"""``kuorum nodes lock`` and ``kuorum nodes rekey``: pin the share nodes, and the one way
a share node's registered keys change.

``lock`` writes the pin file that ``kuorum seal`` and ``kuorum ledger verify`` check with
``--nodes-lock`` (:mod:`kuorum.nodelock`).

A ShareNode's keys and certificate are immutable (the CRD refuses a change in place), so
a node that lost its data directory stays unregistered. Re-keying is an administrator's
deliberate act, done loudly: a Warning Event naming the old key fingerprints, then the
ShareNode is deleted (only the version that was read, by resourceVersion) and the node
registers its new keys at its next attempt; the first entry of its new ledger names them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kuorum import names
from kuorum.errors import UserError


def register(subparsers: Any) -> None:
    """Add ``kuorum nodes`` to the CLI."""
    nodes = subparsers.add_parser("nodes", help="administer share nodes")
    actions = nodes.add_subparsers(dest="action", metavar="ACTION", required=True)
    rekey = actions.add_parser(
        "rekey",
        help="forget a ShareNode's registered keys so the node registers new ones",
        description="Record a Warning Event with the old key fingerprints, then delete the "
        "ShareNode; the node registers its current keys at its next attempt. Secrets whose "
        "shares the old keys held keep only their other shares.",
    )
    rekey.add_argument("name", help="the ShareNode")
    rekey.add_argument(
        "--namespace",
        default=names.SYSTEM_NAMESPACE,
        help="where Kuorum runs: the operator's pin of the node is dropped too "
        "(default %(default)s)",
    )
    rekey.add_argument("--kubeconfig", type=Path, help="default: $KUBECONFIG, ~/.kube/config")
    rekey.set_defaults(func=run_rekey)
    lock = actions.add_parser(
        "lock",
        help="print a pin file of every ShareNode's keys (commit it beside sealed manifests)",
        description="Write the SHA-256 of each ShareNode's signing key, encryption key and "
        "TLS certificate; review it, commit it, and pass it as --nodes-lock to 'kuorum seal' "
        "and 'kuorum ledger verify' so a changed or added ShareNode is refused.",
    )
    lock.add_argument("--kubeconfig", type=Path, help="default: $KUBECONFIG, ~/.kube/config")
    lock.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    lock.set_defaults(func=run_lock)


def run_lock(args: argparse.Namespace) -> int:
    from kuorum import nodelock
    from kuorum.kube.client import api_client
    from kuorum.kube.sharenodes import list_share_nodes

    objects = list_share_nodes(api_client(args.kubeconfig))
    if not objects:
        raise UserError("no ShareNodes found: nothing to lock (right cluster? --kubeconfig?)")
    text = nodelock.render(objects)
    if args.output is None:
        print(text, end="")
    else:
        args.output.write_text(text)
    return 0


def run_rekey(args: argparse.Namespace) -> int:
    from kubernetes import client

    from kuorum.kube import events
    from kuorum.kube.client import api_client
    from kuorum.kube.sharenodes import get_share_node
    from kuorum.models import ShareNode
    from kuorum.placement import fingerprint

    api = api_client(args.kubeconfig)
    obj = get_share_node(api, args.name)
    if obj is None:
        raise UserError(f"no ShareNode {args.name!r} (kubectl get sharenodes lists them)")
    spec = ShareNode.from_object(obj).spec
    old = (
        f"signing key {fingerprint(spec.signing_key)}, "
        f"encryption key {fingerprint(spec.encryption_key.public_key)}"
    )
    events.post(
        api,
        obj,
        reason="Rekeyed",
        message=f"an administrator re-keyed ShareNode {args.name}: forgot {old}",
        component="kuorum-cli",
        kind=names.NODE_KIND,
        api_version=names.API_VERSION,
        event_type=events.WARNING,
    )
    version = obj["metadata"]["resourceVersion"]
    try:
        client.CustomObjectsApi(api).delete_cluster_custom_object(
            names.GROUP,
            names.VERSION,
            names.NODE_PLURAL,
            args.name,
            body=client.V1DeleteOptions(
                preconditions=client.V1Preconditions(resource_version=version)
            ),
        )
    except client.ApiException as error:
        if error.status == 409:
            raise UserError(
                f"ShareNode {args.name} changed while re-keying; run it again"
            ) from None
        raise
    _forget_pin(client.CoreV1Api(api), args.namespace, args.name)
    print(f"ShareNode {args.name}: forgot {old}; the node registers its new keys next")
    return 0


def _forget_pin(core: Any, namespace: str, name: str) -> None:
    """Drop the operator's pin of the node (the operator re-reads its pins while it
    distrusts a node, and pins the new keys when the node registers)."""
    from kubernetes import client

    try:
        core.patch_namespaced_config_map(
            names.NODE_PINS_CONFIGMAP, namespace, {"data": {name: None}}
        )
    except client.ApiException as error:
        if error.status != 404:
            raise
