"""``kuorum dev``: a whole Kuorum on this machine, on a real local control plane.

``up`` starts etcd, kube-apiserver and kube-controller-manager, installs the CRDs and
each component's ServiceAccount and RBAC (the chart's own rule files), then returns;
the processes keep running in the background. ``down`` stops everything ``up`` started.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = Path(".kuorum-dev")


def register(subparsers: Any) -> None:
    """Add ``kuorum dev up|down`` to the CLI."""
    dev = subparsers.add_parser("dev", help="run Kuorum on a local control plane")
    actions = dev.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start the control plane and every component")
    down = actions.add_parser("down", help="stop everything 'dev up' started")
    for parser in (up, down):
        parser.add_argument(
            "--state-dir",
            type=Path,
            default=DEFAULT_STATE_DIR,
            help=f"where keys, data, logs and the kubeconfig live (default {DEFAULT_STATE_DIR})",
        )
    up.set_defaults(func=run_up)
    down.set_defaults(func=run_down)


def run_up(args: argparse.Namespace) -> int:
    """Start the control plane, install Kuorum's objects, print how to use it."""
    from kuorum import names
    from kuorum.cluster import install
    from kuorum.cluster.binaries import ensure_assets
    from kuorum.cluster.controlplane import ControlPlane

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
        for component in install.COMPONENT_ACCOUNTS:
            if (install.RBAC_DIRECTORY / f"{component}.yaml").exists():
                install.grant_component(api, component)
    except BaseException:
        plane.stop()
        raise
    for record in plane.supervisor.records():
        print(
            f"  {record.name:<26} pid {record.pid:<8} log {plane.supervisor.log_path(record.name)}"
        )
    _print_usage(plane.state_dir)
    return 0


def run_down(args: argparse.Namespace) -> int:
    """Stop every process of the state directory."""
    from kuorum.cluster.controlplane import ControlPlane

    stopped = ControlPlane(args.state_dir).stop()
    print("kuorum: stopped " + (", ".join(stopped) if stopped else "nothing (none was running)"))
    return 0


def _link_kubectl(state_dir: Path, kubectl: Path) -> None:
    """Put kubectl of the apiserver's own release at ``STATE_DIR/bin/kubectl``."""
    link = state_dir / "bin" / "kubectl"
    link.parent.mkdir(exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(kubectl)


def _print_usage(state_dir: Path) -> None:
    print(
        f"\n  export KUBECONFIG={state_dir / 'kubeconfig'}"
        f"\n  export PATH={state_dir / 'bin'}:$PATH    # kubectl of the same release"
        "\n  kubectl get dsec -A\n  kubectl get snode\n"
    )
