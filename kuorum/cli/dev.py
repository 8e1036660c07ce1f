"""``kuorum dev``: a whole Kuorum on this machine, on a real local control plane.

``up`` starts etcd, kube-apiserver and kube-controller-manager, a real node (kubelet,
containerd, kube-proxy, scheduler, CoreDNS) where the machine allows it, installs the
CRDs, then the share nodes, the operator and the webhook, each as its own ServiceAccount
with the chart's RBAC rules, and returns; the processes keep running in the background.
``down`` stops everything ``up`` started and undoes what the node changed on the host.
``stop-node`` / ``start-node`` are for fault drills.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kuorum.errors import UserError

if TYPE_CHECKING:  # the image leaves kuorum.devenv out: imported where used
    from kuorum.devenv.controlplane import ControlPlane
    from kuorum.devenv.images import Image
    from kuorum.devenv.node import LocalNode

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
    up.add_argument(
        "--no-node",
        action="store_true",
        help="no kubelet node: the control plane only (pods stay Pending)",
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
    """Start the control plane, the node and the components, print how to use them."""
    from kuorum import names
    from kuorum.devenv import install
    from kuorum.devenv import stack as devstack
    from kuorum.devenv.binaries import ensure_assets
    from kuorum.devenv.controlplane import LOOPBACK, ControlPlane
    from kuorum.devenv.node import KUBELET

    if args.nodes < 1:
        raise UserError(f"--nodes {args.nodes}: run at least one share node")
    plane = ControlPlane(args.state_dir)
    if plane.running:
        print(f"kuorum: already running in {plane.state_dir} (kuorum dev down to stop it)")
        _print_usage(plane.state_dir, node=plane.supervisor.running(KUBELET))
        return 0
    assets = ensure_assets()
    local = None if args.no_node else _prepare_node(plane)
    print(f"kuorum: starting the control plane in {plane.state_dir} ...", flush=True)
    try:
        plane.start(assets=assets, address=local.address if local else LOOPBACK)
        _link_kubectl(plane.state_dir, assets.kubectl)
        if local:
            print("kuorum: starting the node (containerd, kubelet, kube-proxy) ...", flush=True)
            local.node.start(local.sandbox, local.images)
        api = plane.api_client()
        install.apply_crds(api, install.crd_manifests())
        install.ensure_namespace(api, names.SYSTEM_NAMESPACE)
        print(f"kuorum: starting {args.nodes} share nodes ...", flush=True)
        devstack.start_nodes(plane, args.nodes)
        print("kuorum: starting the operator and the webhook ...", flush=True)
        devstack.start_operator(plane)
        devstack.start_webhook(plane)
    except BaseException:
        if local:
            local.node.stop()
        plane.stop()
        raise
    for record in plane.supervisor.records():
        print(
            f"  {record.name:<26} pid {record.pid:<8} log {plane.supervisor.log_path(record.name)}"
        )
    _print_usage(plane.state_dir, node=local is not None)
    return 0


@dataclass(frozen=True)
class _Node:
    """A node ready to start: the host prepared, its binaries and images built."""

    node: LocalNode
    sandbox: Image
    images: list[Image]
    address: str


def _prepare_node(plane: ControlPlane) -> _Node | None:
    """Build what the node needs and prepare the host, or say plainly why there is none."""
    from kuorum.devenv import hostnet, images
    from kuorum.devenv import node as local_node
    from kuorum.devenv.binaries import ensure_node_assets

    reason = local_node.unavailable()
    if reason:
        print(f"kuorum: no local node ({reason}); pods will stay Pending", flush=True)
        return None
    ensure_node_assets()
    built = images.build_all()
    node = local_node.LocalNode(plane)
    node.prepare_host()
    return _Node(node, built[0], built[1:], hostnet.NODE_IP)


@needs_devenv
def run_down(args: argparse.Namespace) -> int:
    """Stop every process of the state directory and undo the node's host changes."""
    from kuorum.devenv import node as local_node
    from kuorum.devenv.controlplane import ControlPlane

    plane = ControlPlane(args.state_dir)
    stopped = local_node.LocalNode(plane).stop() + plane.stop()
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


def _print_usage(state_dir: Path, *, node: bool) -> None:
    """The next steps; with a node, the quick-start pod runs and its log is shown."""
    ran = (
        "\n  kubectl wait -n shop pod/quickstart --for=jsonpath='{.status.phase}'=Succeeded"
        " --timeout=120s"
        "\n  kubectl logs -n shop quickstart        # digests of what it read, not values"
        if node
        else ""
    )
    print(
        f"\n{NEXT_STEPS}"
        f"\n  export KUBECONFIG={state_dir / 'kubeconfig'}"
        f"\n  export PATH={state_dir / 'bin'}:$PATH    # kubectl of the same release"
        "\n  kubectl get snode"
        "\n  kubectl apply -f examples/generated-secret.yaml"
        "\n  kubectl wait -n shop dsec/db --for=condition=Ready --timeout=120s"
        "\n  kubectl apply -f examples/quickstart-pod.yaml"
        "\n  kubectl get pod -n shop quickstart -o yaml | grep -A2 secretRef"
        f"{ran}"
        f"\n  {_kuorum()} ledger verify\n"
    )


def _kuorum() -> str:
    """How this kuorum was run, so the printed step works without an activated venv."""
    invoked = Path(sys.argv[0])
    return str(invoked) if invoked.name == "kuorum" else "python -m kuorum"
