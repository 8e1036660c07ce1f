"""``kuorum operator``: run the kopf operator that reconciles DecentralizedSecrets."""

from __future__ import annotations

import argparse
import logging
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

from kuorum import names
from kuorum.placement import HEARTBEAT_GRACE

RESYNC = 300.0
"""Default seconds a target Secret is trusted as last read or written (``--resync``)."""


def register(subparsers: Any) -> None:
    """Add ``kuorum operator`` to the CLI."""
    parser = subparsers.add_parser(
        "operator", help="reconcile DecentralizedSecrets: deal, store, collect, materialize"
    )
    parser.add_argument("--kubeconfig", type=Path, help="default: in-cluster, $KUBECONFIG")
    parser.add_argument(
        "--namespace",
        default=names.SYSTEM_NAMESPACE,
        help=f"namespace of the operator's ServiceAccount (default {names.SYSTEM_NAMESPACE})",
    )
    parser.add_argument(
        "--service-account",
        default=names.OPERATOR_ACCOUNT,
        help=f"the operator's ServiceAccount (default {names.OPERATOR_ACCOUNT})",
    )
    parser.add_argument(
        "--trusted-sealer",
        action="append",
        default=[],
        metavar="KEY",
        help="an Ed25519 public key (raw, base64) sealed sources may be sealed with; "
        "repeatable; without it any sealer is accepted",
    )
    parser.add_argument(
        "--admit-nodes",
        metavar="NAME,...",
        help="the only ShareNodes to deal to and collect from (default: every ShareNode); "
        "a ShareNode that appears under another name is ignored",
    )
    parser.add_argument(
        "--watch-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="serve only DecentralizedSecrets of this namespace and write only there; "
        "repeatable (default: every namespace)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=10.0,
        help="most seconds between passes over one secret (it is also passed over at once "
        "when it changes); a pass that failed is retried after this (default 10)",
    )
    parser.add_argument(
        "--resync",
        type=float,
        default=RESYNC,
        help="seconds a target Secret is trusted as last read or written before it is read "
        f"again: a copy deleted by hand comes back within this (default {RESYNC:g})",
    )
    parser.add_argument(
        "--heartbeat-grace",
        type=float,
        default=HEARTBEAT_GRACE.total_seconds(),
        help="seconds after its last heartbeat a ShareNode counts as down "
        f"(default {HEARTBEAT_GRACE.total_seconds():g})",
    )
    parser.add_argument(
        "--listen",
        default="0.0.0.0:8080",
        help="HOST:PORT of /metrics and /healthz (port 0: any free port; default 0.0.0.0:8080)",
    )
    parser.add_argument(
        "--leader-election-lease",
        metavar="NAME",
        help="hold this Lease (in --namespace) before reconciling; for several replicas",
    )
    parser.add_argument(
        "--identity",
        default=socket.gethostname(),
        help="this replica's name in the Lease (default: the host name, i.e. the pod name)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the operator and block until it stops."""
    import kopf
    import prometheus_client

    from kuorum.kube.client import api_client
    from kuorum.operator.handlers import install
    from kuorum.operator.kubeio import THREADS
    from kuorum.operator.leader import Elector
    from kuorum.operator.settings import OperatorSettings

    settings = OperatorSettings(
        api=api_client(args.kubeconfig, connections=THREADS),
        namespace=args.namespace,
        service_account=args.service_account,
        interval=args.interval,
        resync=args.resync,
        heartbeat_grace=timedelta(seconds=args.heartbeat_grace),
        trusted_sealers=trusted_sealers(args.trusted_sealer),
        admitted_nodes=(
            frozenset(n.strip() for n in args.admit_nodes.split(",") if n.strip())
            if args.admit_nodes
            else None
        ),
        served=frozenset(args.watch_namespace) or None,
    )
    registry = install(settings)

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> Any:
        return connection_info(settings.api)

    host, _, port = args.listen.rpartition(":")
    prometheus_client.start_http_server(int(port), addr=host or "0.0.0.0")  # noqa: S104
    if args.leader_election_lease:
        Elector(
            settings.api,
            namespace=args.namespace,
            name=args.leader_election_lease,
            identity=args.identity,
        ).acquire()
    kopf.configure(verbose=False)
    # kopf logs every successful handler run at INFO: a line per event per object, which
    # at a thousand secrets costs more than the handlers themselves. Failures stay (WARNING+).
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if settings.served:
        kopf.run(registry=registry, namespaces=sorted(settings.served), standalone=True)
    else:
        kopf.run(registry=registry, clusterwide=True, standalone=True)
    return 0


def connection_info(api: Any) -> Any:
    """kopf's credentials from the same client configuration the operator itself uses.

    In a pod the in-cluster loader installs a hook that re-reads the rotated token file;
    calling it here gives kopf a fresh token whenever it logs in again after a 401.
    """
    import kopf

    configuration = api.configuration
    if configuration.refresh_api_key_hook is not None:
        configuration.refresh_api_key_hook(configuration)
    token = bearer_token(configuration.api_key or {})
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        scheme="Bearer" if token else None,
        token=token,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


def bearer_token(api_key: dict[str, str]) -> str | None:
    """The bare token of a client configuration's ``api_key``.

    Under ``BearerToken`` the in-cluster loader stores ``"bearer <token>"`` (lower case),
    the kubeconfig loader ``"Bearer <token>"``; kopf adds the scheme itself, so a prefix
    left on sends ``Bearer bearer ...``: a 401.
    """
    value = (api_key.get("BearerToken") or api_key.get("authorization") or "").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer":
        return token.strip() or None
    return value or None


def trusted_sealers(keys: list[str]) -> frozenset[bytes] | None:
    """The ``--trusted-sealer`` keys, checked; None when none is given."""
    from kuorum import b64
    from kuorum.errors import UserError

    if not keys:
        return None
    decoded = {b64.decode(key, f"--trusted-sealer {key[:12]}...", UserError) for key in keys}
    if any(len(key) != 32 for key in decoded):
        raise UserError("--trusted-sealer must be a raw Ed25519 public key: 32 bytes, base64")
    return frozenset(decoded)
