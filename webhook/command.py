"""``kuorum webhook``: run the admission webhook that injects secrets into pods."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kuorum import names

if TYPE_CHECKING:
    from kuorum.webhook.process import Settings


def register(subparsers: Any) -> None:
    """Add ``kuorum webhook`` to the CLI."""
    parser = subparsers.add_parser(
        "webhook",
        help="run the admission webhook",
        description="Inject DecentralizedSecrets into pods labelled kuorum.io/inject=true "
        "(env or read-only volumes), enforce each secret's access rules, and restart "
        "opted-in workloads when a secret they consume rotates.",
    )
    parser.add_argument(
        "--listen",
        default="0.0.0.0:8443",
        metavar="HOST:PORT",
        help="address to serve HTTPS on (default 0.0.0.0:8443)",
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        help="credentials of the webhook's ServiceAccount (default: in-cluster, "
        "$KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument(
        "--namespace",
        default=names.SYSTEM_NAMESPACE,
        help="the webhook's own namespace: never injected, holds its TLS "
        f"Secret (default {names.SYSTEM_NAMESPACE})",
    )
    parser.add_argument(
        "--tls-cert-file",
        type=Path,
        help="serving certificate (PEM), e.g. mounted from cert-manager; reloaded when it changes",
    )
    parser.add_argument("--tls-key-file", type=Path, help="private key of --tls-cert-file")
    parser.add_argument(
        "--reload-seconds",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how often the certificate files are checked (default 10)",
    )
    parser.add_argument(
        "--tls-secret",
        help="self-managed TLS: keep a CA and a serving pair in this Secret of --namespace "
        "and renew them before expiry (instead of --tls-cert-file/--tls-key-file)",
    )
    parser.add_argument(
        "--webhook-configuration",
        default="kuorum-webhook",
        help="self-managed TLS: MutatingWebhookConfiguration whose caBundle is kept current "
        "(default kuorum-webhook)",
    )
    parser.add_argument(
        "--service",
        help="self-managed TLS: name of the webhook's Service; its cluster DNS names go "
        "into the certificate",
    )
    parser.add_argument(
        "--tls-san",
        action="append",
        default=[],
        metavar="NAME",
        help="self-managed TLS: extra DNS name or IP of the certificate; repeatable "
        "(e.g. 127.0.0.1 when the apiserver calls a URL on loopback)",
    )
    parser.add_argument(
        "--renew-check-seconds",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="self-managed TLS: how often the pair is checked for renewal (default 600)",
    )
    parser.add_argument(
        "--client-ca",
        type=Path,
        metavar="FILE",
        help="answer /mutate only to callers with a client certificate signed by this CA "
        "(the apiserver's, configured with --admission-control-config-file); others get 403",
    )
    parser.add_argument(
        "--client-name",
        action="append",
        default=[],
        metavar="CN",
        help="with --client-ca: the certificate's common name must be one of these; repeatable",
    )
    parser.add_argument(
        "--agent-image",
        default="",
        metavar="IMAGE",
        help="image of the kuorum agent sidecar added to pods that consume a secret with "
        "spec.delivery Pod (the chart passes its own image); without it such pods are refused",
    )
    parser.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> Settings:
    """Check the flags and turn them into webhook Settings."""
    from kuorum.errors import UserError
    from kuorum.webhook.process import Settings

    host, _, port = str(args.listen).rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--listen {args.listen!r} is not HOST:PORT, e.g. 0.0.0.0:8443")
    files = bool(args.tls_cert_file) + bool(args.tls_key_file)
    if files == 1 or (files == 2) == bool(args.tls_secret):
        raise UserError(
            "give either --tls-cert-file and --tls-key-file (mounted PEM files, e.g. from "
            "cert-manager) or --tls-secret (self-managed), not both and not neither"
        )
    sans = list(args.tls_san)
    if args.service:
        service, namespace = args.service, args.namespace
        sans += [service, f"{service}.{namespace}", f"{service}.{namespace}.svc"]
        sans.append(f"{service}.{namespace}.svc.cluster.local")
    if args.client_name and not args.client_ca:
        raise UserError("--client-name needs --client-ca: the CA that signs those names")
    if args.tls_secret and not sans:
        raise UserError("self-managed TLS needs --service or --tls-san: the names to certify")
    return Settings(
        host=host,
        port=int(port),
        kubeconfig=args.kubeconfig,
        tls_cert_file=args.tls_cert_file,
        tls_key_file=args.tls_key_file,
        reload_seconds=args.reload_seconds,
        namespace=args.namespace,
        tls_secret=args.tls_secret,
        configuration_name=args.webhook_configuration,
        tls_sans=tuple(dict.fromkeys(sans)),
        renew_check_seconds=args.renew_check_seconds,
        client_ca=args.client_ca,
        client_names=tuple(args.client_name),
        agent_image=args.agent_image,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM."""
    import asyncio
    import logging

    from kuorum.webhook.process import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(settings_from(args)))
    return 0
