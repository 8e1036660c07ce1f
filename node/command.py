"""``kuorum node``: run one share node (HTTPS API, SQLite custody, witnessed ledger)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kuorum.node.settings import (
    DEFAULT_NODE_IDENTITY,
    DEFAULT_OPERATOR_IDENTITY,
    DEFAULT_TOKEN_CACHE_SECONDS,
    NodeSettings,
)

KEMS = ("MLKEM768_X25519", "X25519")
WILDCARDS = ("0.0.0.0", "::", "")  # noqa: S104 - recognised to demand --endpoint, not bound


def register(subparsers: Any) -> None:
    """Add ``kuorum node`` to the CLI."""
    parser = subparsers.add_parser(
        "node",
        help="run a share node",
        description="Hold shares in durable custody, release them to the operator only, "
        "and keep a ledger that peers witness.",
    )
    parser.add_argument("--name", required=True, help="ShareNode name (cluster-unique)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="keys, TLS certificate and database live here (created 0700)",
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1:8443",
        metavar="HOST:PORT",
        help="address to serve HTTPS on (default 127.0.0.1:8443)",
    )
    parser.add_argument(
        "--endpoint", help="URL clients dial, published in the ShareNode (default https://<listen>)"
    )
    parser.add_argument("--zone", default="", help="failure zone, published in the ShareNode")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        help="credentials of the node's ServiceAccount (default: in-cluster, "
        "$KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument(
        "--operator-identity",
        default=DEFAULT_OPERATOR_IDENTITY,
        help=f"the only identity allowed to store, release and destroy "
        f"(default {DEFAULT_OPERATOR_IDENTITY})",
    )
    parser.add_argument(
        "--node-identity",
        default=DEFAULT_NODE_IDENTITY,
        help=f"the identity of share nodes, whose pods may submit their checkpoints "
        f"(default {DEFAULT_NODE_IDENTITY})",
    )
    parser.add_argument(
        "--peer-tokens",
        type=Path,
        metavar="DIR",
        help="a directory holding, per peer, a file named like the peer with a token for "
        "that peer's audience (read at each use); without it peers pull our checkpoints",
    )
    parser.add_argument(
        "--kem",
        choices=KEMS,
        default=KEMS[0],
        help="HPKE KEM of a new node key (default MLKEM768_X25519, hybrid "
        "post-quantum); an existing key keeps its KEM",
    )
    parser.add_argument(
        "--tls-san",
        action="append",
        default=[],
        metavar="NAME",
        help="DNS name or IP in the TLS certificate; repeatable (default: the --endpoint host)",
    )
    parser.add_argument(
        "--witness-interval",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how often to ask peers to cosign the latest checkpoint (default 30)",
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="how often to refresh the ShareNode status (default 15)",
    )
    parser.add_argument(
        "--token-cache-seconds",
        type=float,
        default=DEFAULT_TOKEN_CACHE_SECONDS,
        metavar="SECONDS",
        help="longest a positive TokenReview is reused, never past the token's expiry: how long "
        "a deleted ServiceAccount's token still works (default %(default)s)",
    )
    parser.add_argument(
        "--unsafe-corrupt-releases",
        action="store_true",
        help="FOR FAULT DRILLS ONLY: act as a lying node, releasing shares that fail "
        "verification (correctly sealed and signed), to see the operator blame this node",
    )
    parser.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> NodeSettings:
    """Check the flags and turn them into :class:`NodeSettings`."""
    from urllib.parse import urlsplit

    from kuorum.errors import UserError
    from kuorum.models import is_dns_subdomain

    if not is_dns_subdomain(args.name):
        raise UserError(
            f"--name {args.name!r} is not a valid ShareNode name: use lowercase letters, "
            "digits, '-' and '.', e.g. the pod name"
        )
    host, _, port = str(args.listen).rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--listen {args.listen!r} is not HOST:PORT, e.g. 127.0.0.1:8443")
    if not args.endpoint and host.strip("[]") in WILDCARDS:
        raise UserError(
            f"--listen {args.listen} accepts every address, so clients cannot dial it: "
            "pass --endpoint https://<name clients resolve>:PORT and a matching --tls-san"
        )
    endpoint = args.endpoint or f"https://{host}:{port}"
    parsed = urlsplit(endpoint)
    if parsed.scheme != "https" or not parsed.hostname:
        raise UserError(f"--endpoint {endpoint!r} must be an https:// URL clients can dial")
    sans = tuple(args.tls_san) or (parsed.hostname,)
    if parsed.hostname not in sans:
        raise UserError(
            f"--endpoint host {parsed.hostname!r} is not among --tls-san "
            f"{list(sans)}: clients could not verify the certificate; add it"
        )
    for flag in ("witness_interval", "heartbeat_interval"):
        if getattr(args, flag) <= 0:
            raise UserError(f"--{flag.replace('_', '-')} must be a positive number of seconds")
    if args.token_cache_seconds < 0:
        raise UserError("--token-cache-seconds must be 0 (no cache) or more")
    return NodeSettings(
        name=args.name,
        data_dir=args.data_dir,
        host=host,
        port=int(port),
        endpoint=endpoint.rstrip("/"),
        zone=args.zone,
        kubeconfig=args.kubeconfig,
        operator_identity=args.operator_identity,
        node_identity=args.node_identity,
        peer_tokens=args.peer_tokens,
        kem=args.kem,
        tls_sans=sans,
        witness_interval=args.witness_interval,
        heartbeat_interval=args.heartbeat_interval,
        token_cache_seconds=args.token_cache_seconds,
        unsafe_corrupt_releases=args.unsafe_corrupt_releases,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM."""
    from kuorum.node.server import serve

    serve(settings_from(args))
    return 0
