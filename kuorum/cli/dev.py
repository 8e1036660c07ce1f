"""``kuorum dev``: a whole Kuorum on this machine, on a real local control plane.

``up`` starts etcd, kube-apiserver and kube-controller-manager, installs the CRDs, then
the share nodes, the operator and the webhook, each as its own ServiceAccount with the
chart's RBAC rules, and returns; the processes keep running in the background. ``down``
stops everything ``up`` started. ``stop-node`` / ``start-node`` are for fault drills.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kuorum.errors import UserError

DEFAULT_STATE_DIR = Path(".kuorum-dev")
DEFAULT_NODES = 5


def register(subparsers: Any) -> None:
    """Add ``kuorum dev up|down|stop-node|start-node`` to the CLI."""
    dev = subparsers.add_parser("dev", help="run Kuorum on a local control plane")
    actions = dev.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start the control plane and every component")
    up.add_argument(
        "--nodes",
        type=int,
        default=DEFAULT_NODES,
        metavar="N",
        help=f"share nodes to run (default {DEFAULT_NODES})",
    )
    down = actions.add_parser("down", help="stop everything 'dev up' started")
    stop = actions.add_parser("stop-node", help="kill one share node (SIGKILL), keep its data")
    start = actions.add_parser("start-node", help="start a stopped share node again")
    for parser in (stop, start):
        parser.add_argument("name", help="the node's name, as in `kubectl get snode`")
    for parser in (up, down, stop, start):
        parser.add_argument(
            "--state-dir",
            type=Path,
            default=DEFAULT_STATE_DIR,
            help=f"where keys, data, logs and the kubeconfig live (default {DEFAULT_STATE_DIR})",
        )
    up.set_defaults(func=run_up)
    down.set_defaults(func=run_down)
    stop.set_defaults(func=run_stop_node)
    start.set_defaults(func=run_start_node)


Command = Callable[[argparse.Namespace], int]


def needs_devenv(command: Command) -> Command:
    """Say plainly that the dev environment is absent (the image ships without it)."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ModuleNotFoundError as error:
            if not (error.name or "").startswith("kuorum.devenv"):
                raise
            raise UserError(
                "kuorum dev: the local dev environment is not installed here (the image "
                "leaves it out); run it from a source checkout: make demo"
            ) from None

    return run


@needs_devenv
def run_up(args: argparse.Namespace) -> int:
    """Start the control plane and the components, print how to use them."""
    from kuorum import names
    from kuorum.devenv import install
    from kuorum.devenv import stack as devstack
    from kuorum.devenv.binaries import ensure_assets
    from kuorum.devenv.controlplane import ControlPlane

    if args.nodes < 1:
        raise UserError(f"--nodes {args.nodes}: run at least one share node")
    plane = ControlPlane(args.state_dir)
    if plane.running:
        print(f"kuorum: already running in {plane.state_dir} (kuorum dev down to stop it)")
        _print_usage(plane.state_dir)
        return 0
    assets = ensure_assets()
    print(f"kuorum: starting the control plane in {plane.state_dir} ...", flush=True)
    plane.start(assets=assets)
    _link_kubectl(plane.state_dir, assets.kubectl)
    try:
        api = plane.api_client()
        install.apply_crds(api, install.crd_manifests())
        install.ensure_namespace(api, names.SYSTEM_NAMESPACE)
        print(f"kuorum: starting {args.nodes} share nodes ...", flush=True)
        devstack.start_nodes(plane, args.nodes)
        print("kuorum: starting the operator and the webhook ...", flush=True)
        devstack.start_operator(plane)
        devstack.start_webhook(plane)
    except BaseException:
        plane.stop()
        raise
    for record in plane.supervisor.records():
        print(
            f"  {record.name:<26} pid {record.pid:<8} log {plane.supervisor.log_path(record.name)}"
        )
    _print_usage(plane.state_dir)
    return 0


@needs_devenv
def run_down(args: argparse.Namespace) -> int:
    """Stop every process of the state directory."""
    from kuorum.devenv.controlplane import ControlPlane

    stopped = ControlPlane(args.state_dir).stop()
    print("kuorum: stopped " + (", ".join(stopped) if stopped else "nothing (none was running)"))
    return 0


@needs_devenv
def run_stop_node(args: argparse.Namespace) -> int:
    """Kill one share node, as a crash would."""
    from kuorum.devenv import stack as devstack
    from kuorum.devenv.controlplane import ControlPlane

    stopped = devstack.stop_node(ControlPlane(args.state_dir), args.name)
    print(f"kuorum: {'killed' if stopped else 'was not running:'} {args.name}")
    return 0


@needs_devenv
def run_start_node(args: argparse.Namespace) -> int:
    """Start a share node again, on its old port and data directory."""
    from kuorum.devenv import stack as devstack
    from kuorum.devenv.controlplane import ControlPlane

    devstack.start_node(ControlPlane(args.state_dir), args.name)
    print(f"kuorum: started {args.name}")
    return 0


def _link_kubectl(state_dir: Path, kubectl: Path) -> None:
    """Put kubectl of the apiserver's own release at ``STATE_DIR/bin/kubectl``."""
    link = state_dir / "bin" / "kubectl"
    link.parent.mkdir(exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(kubectl)


NEXT_STEPS = "Next steps:"
"""Heads the printed commands (tests/integration/test_docs.py runs what follows it)."""


def _print_usage(state_dir: Path) -> None:
    print(
        f"\n{NEXT_STEPS}"
        f"\n  export KUBECONFIG={state_dir / 'kubeconfig'}"
        f"\n  export PATH={state_dir / 'bin'}:$PATH    # kubectl of the same release"
        "\n  kubectl get snode"
        "\n  kubectl apply -f examples/generated-secret.yaml"
        "\n  kubectl wait -n shop dsec/db --for=condition=Ready --timeout=120s"
        "\n  kubectl apply -f examples/quickstart-pod.yaml"
        "\n  kubectl get pod -n shop quickstart -o yaml | grep -A2 secretRef"
        f"\n  {_kuorum()} ledger verify\n"
    )


def _kuorum() -> str:
    """How this kuorum was run, so the printed step works without an activated venv."""
    invoked = Path(sys.argv[0])
    return str(invoked) if invoked.name == "kuorum" else "python -m kuorum"
