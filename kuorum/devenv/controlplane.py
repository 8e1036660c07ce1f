"""A real local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager.

It runs the way controller-runtime's envtest runs it (the same apiserver flags) and
adds the controller manager, so garbage collection, namespace deletion, service-account
tokens and Deployments -> ReplicaSets -> Pods behave as in a real cluster. Node
authorization and NodeRestriction are on, as in a real cluster. On its own it has no
scheduler and no kubelet (pods stay Pending); :mod:`kuorum.devenv.node` adds them, and
then the apiserver listens on the node's bridge address so pods reach it through the
``kubernetes`` Service.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from kuorum import b64
from kuorum.devenv import hostnet
from kuorum.devenv import pki as pki_module
from kuorum.devenv.binaries import Assets, ensure_assets
from kuorum.devenv.processes import Supervisor, wait_until
from kuorum.errors import UserError
from kuorum.kube.client import api_client

READY_TIMEOUT = 120.0
"""Seconds to wait for /readyz: startups of 30 s were seen on slow 2-core runners."""

ETCD, APISERVER, CONTROLLER_MANAGER = "etcd", "kube-apiserver", "kube-controller-manager"


LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    """Ports chosen at start and the apiserver's address, kept in the state file."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    address: str = LOOPBACK


class ControlPlane:
    """The three processes of one state directory, and clients for them."""

    def __init__(self, state_dir: Path, *, tie_to_parent: bool = False) -> None:
        self.state_dir = state_dir.resolve()
        self.supervisor = Supervisor(self.state_dir, tie_to_parent=tie_to_parent)
        self.pki = pki_module.Pki(self.state_dir / "pki")
        self._state_file = self.state_dir / "control-plane.json"

    # -- lifecycle -------------------------------------------------------------------

    def start(
        self,
        *,
        assets: Assets | None = None,
        timeout: float = READY_TIMEOUT,
        address: str = LOOPBACK,
    ) -> None:
        """Start etcd, the apiserver and the controller manager; wait until all are up.

        ``address`` is where the apiserver listens and what it advertises: loopback, or
        the local node's bridge address (which must exist already).
        """
        assets = assets or ensure_assets()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pki_module.create(self.pki.directory)
        etcd_client, etcd_peer, apiserver = _free_ports(3)
        ports = Ports(etcd_client, etcd_peer, apiserver, address)
        self._state_file.write_text(json.dumps(asdict(ports)))
        try:
            self._start_etcd(assets, ports)
            self._start_apiserver(assets, ports, timeout)
            self._write_kubeconfigs()
            self._start_controller_manager(assets, timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> list[str]:
        """Stop every process of this state directory; return the names stopped."""
        return self.supervisor.stop_all()

    @property
    def running(self) -> bool:
        """Tell whether the apiserver of this state directory is running."""
        return self.supervisor.running(APISERVER)

    # -- clients ---------------------------------------------------------------------

    @property
    def ports(self) -> Ports:
        if not self._state_file.exists():
            raise UserError(f"no control plane in {self.state_dir}: run 'kuorum dev up' first")
        return Ports(**json.loads(self._state_file.read_text()))

    @property
    def server(self) -> str:
        return f"https://{self.ports.address}:{self.ports.apiserver}"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (a client certificate in ``system:masters``)."""
        return self.state_dir / "kubeconfig"

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl (of the apiserver's release) as the admin; return its output."""
        argv = [str(ensure_assets(log=False).kubectl), f"--kubeconfig={self.kubeconfig}", *args]
        return subprocess.run(
            argv, capture_output=True, text=True, check=check, timeout=120, input=input
        )

    def api_client(self) -> client.ApiClient:
        """Return an admin API client."""
        return api_client(self.kubeconfig)

    def create_namespace(self, name: str, *, labels: dict[str, str] | None = None) -> None:
        """Create a namespace and wait for its ``default`` ServiceAccount (pods need it)."""
        core = client.CoreV1Api(self.api_client())
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
        try:
            core.create_namespace(body)
        except client.ApiException as error:
            if error.status != 409:
                raise

        def has_default_account() -> bool:
            try:
                core.read_namespaced_service_account("default", name)
            except client.ApiException:
                return False
            return True

        wait_until(has_default_account, timeout=60, what=f"ServiceAccount {name}/default")

    def token(
        self,
        namespace: str,
        service_account: str,
        audience: str | None = None,
        seconds: int = 3600,
        *,
        pod: str | None = None,
    ) -> str:
        """Return a token of the ServiceAccount from TokenRequest (creating it if needed).

        With ``pod`` the token is bound to a stand-in Pod of that name, as a kubelet's
        token is bound to its pod: the apiserver then names the pod in the token's user
        info (what admission policies tell share nodes apart by), and deleting the Pod
        revokes the token.
        """
        core = client.CoreV1Api(self.api_client())
        self._ensure_service_account(core, namespace, service_account)
        bound = None
        if pod is not None:
            uid = _stand_in_pod(core, namespace, service_account, pod)
            bound = client.V1BoundObjectReference(api_version="v1", kind="Pod", name=pod, uid=uid)
        spec = client.V1TokenRequestSpec(
            audiences=[audience] if audience else [],
            expiration_seconds=seconds,
            bound_object_ref=bound,
        )
        response = core.create_namespaced_service_account_token(
            service_account, namespace, client.AuthenticationV1TokenRequest(spec=spec)
        )
        if response.status is None or not response.status.token:
            raise RuntimeError(f"TokenRequest for {namespace}/{service_account} returned no token")
        return response.status.token

    def kubeconfig_for(
        self, namespace: str, service_account: str, *, pod: str | None = None
    ) -> Path:
        """Write a kubeconfig that authenticates as the ServiceAccount (a 24 h token),
        bound to the stand-in Pod ``pod`` if given (see :meth:`token`)."""
        token = self.token(namespace, service_account, seconds=24 * 3600, pod=pod)
        path = self.state_dir / "kubeconfigs" / f"{namespace}.{pod or service_account}"
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_kubeconfig(
            path, self.server, self.pki.ca_cert, f"{namespace}:{service_account}", {"token": token}
        )
        return path

    # -- internals -------------------------------------------------------------------

    def _start_etcd(self, assets: Assets, ports: Ports) -> None:
        client_url = f"http://127.0.0.1:{ports.etcd_client}"
        peer_url = f"http://127.0.0.1:{ports.etcd_peer}"
        self.supervisor.start(
            ETCD,
            [
                str(assets.path("etcd")),
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )
        wait_until(
            lambda: _http_ok(f"{client_url}/readyz"),
            timeout=READY_TIMEOUT,
            what="etcd",
            log=self.supervisor.log_path(ETCD),
        )

    def _start_apiserver(self, assets: Assets, ports: Ports, timeout: float) -> None:
        pki = self.pki
        server = f"https://{ports.address}:{ports.apiserver}"
        kubelet_cert, kubelet_key = pki.client(pki_module.KUBELET_CLIENT)
        # A loopback apiserver cannot be a Service endpoint; on the bridge it keeps the
        # ``kubernetes`` Service's endpoints itself, as a real control plane does.
        reconciler = "none" if ports.address == LOOPBACK else "lease"
        self.supervisor.start(
            APISERVER,
            [
                str(assets.path("kube-apiserver")),
                f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
                f"--cert-dir={self.state_dir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--secure-port={ports.apiserver}",
                f"--bind-address={ports.address}",
                f"--advertise-address={ports.address}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--kubelet-client-certificate={kubelet_cert}",
                f"--kubelet-client-key={kubelet_key}",
                f"--kubelet-certificate-authority={pki.ca_cert}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                "--allow-privileged=true",
                f"--service-cluster-ip-range={hostnet.SERVICE_CIDR}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-account-issuer={server}/",
                f"--service-account-key-file={pki.sa_public}",
                f"--service-account-signing-key-file={pki.sa_private}",
                f"--endpoint-reconciler-type={reconciler}",
                f"--admission-control-config-file={self._admission_config()}",
                "--v=0",
            ],
        )
        context = _admin_tls(pki)
        wait_until(
            lambda: _http_ok(f"{server}/readyz", context),
            timeout=timeout,
            what="kube-apiserver",
            log=self.supervisor.log_path(APISERVER),
        )

    def _admission_config(self) -> Path:
        """Make the apiserver present a client certificate to admission webhooks, so a
        webhook can tell the apiserver from any other caller (``--client-ca``)."""
        cert, key = self.pki.client(pki_module.WEBHOOK_CLIENT)
        kubeconfig = self.state_dir / "webhook-client.kubeconfig"
        users = [{"name": "*", "user": {"client-certificate": str(cert), "client-key": str(key)}}]
        kubeconfig.write_text(
            yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": users})
        )
        webhooks = {
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "WebhookAdmissionConfiguration",
            "kubeConfigFile": str(kubeconfig),
        }
        plugins = [
            {"name": name, "configuration": webhooks}
            for name in ("MutatingAdmissionWebhook", "ValidatingAdmissionWebhook")
        ]
        path = self.state_dir / "admission.yaml"
        document = {
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "AdmissionConfiguration",
            "plugins": plugins,
        }
        path.write_text(yaml.safe_dump(document))
        return path

    def _start_controller_manager(self, assets: Assets, timeout: float) -> None:
        kubeconfig = self.state_dir / "controller-manager.kubeconfig"
        self.supervisor.start(
            CONTROLLER_MANAGER,
            [
                str(assets.path("kube-controller-manager")),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={self.pki.sa_private}",
                f"--root-ca-file={self.pki.ca_cert}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--controllers=*",
                "--v=0",
            ],
        )
        core = client.CoreV1Api(self.api_client())

        def serviceaccounts_controller_works() -> bool:
            try:
                core.read_namespaced_service_account("default", "default")
            except client.ApiException:
                return False
            return True

        wait_until(
            serviceaccounts_controller_works,
            timeout=timeout,
            what="kube-controller-manager",
            log=self.supervisor.log_path(CONTROLLER_MANAGER),
        )

    def _write_kubeconfigs(self) -> None:
        self.write_client_kubeconfig(self.kubeconfig, "admin")
        self.write_client_kubeconfig(
            self.state_dir / "controller-manager.kubeconfig", "controller-manager"
        )

    def write_client_kubeconfig(self, path: Path, name: str) -> None:
        """Write a kubeconfig that authenticates with the client certificate ``name``."""
        cert, key = self.pki.client(name)
        _write_kubeconfig(
            path,
            self.server,
            self.pki.ca_cert,
            name,
            {
                "client-certificate-data": b64.encode(cert.read_bytes()),
                "client-key-data": b64.encode(key.read_bytes()),
            },
        )

    @staticmethod
    def _ensure_service_account(core: client.CoreV1Api, namespace: str, name: str) -> None:
        body = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
        try:
            core.create_namespaced_service_account(namespace, body)
        except client.ApiException as error:
            if error.status != 409:
                raise


STAND_IN_GATE = "kuorum.io/runs-outside-the-cluster"
"""Scheduling gate that keeps a stand-in Pod from ever being scheduled or run."""


def _stand_in_pod(core: client.CoreV1Api, namespace: str, service_account: str, name: str) -> str:
    """The uid of the Pod that stands for a process run outside the cluster (created if
    needed)."""
    body = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"kuorum.io/stand-in": "true"}),
        spec=client.V1PodSpec(
            service_account_name=service_account,
            automount_service_account_token=False,
            scheduling_gates=[client.V1PodSchedulingGate(name=STAND_IN_GATE)],
            containers=[client.V1Container(name="outside", image="kuorum.invalid/outside")],
        ),
    )
    pod: Any
    try:
        pod = core.create_namespaced_pod(namespace, body)
    except client.ApiException as error:
        if error.status != 409:
            raise
        pod = core.read_namespaced_pod(name, namespace)
    if pod.spec.service_account_name != service_account:
        raise UserError(
            f"pod {namespace}/{name} exists and runs as {pod.spec.service_account_name}, "
            f"not {service_account}: delete it or choose another name"
        )
    return str(pod.metadata.uid)


def _write_kubeconfig(
    path: Path, server: str, ca: Path, user: str, credentials: dict[str, str]
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kuorum-dev",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": b64.encode(ca.read_bytes()),
                },
            }
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": "kuorum-dev", "context": {"cluster": "kuorum-dev", "user": user}}],
        "current-context": "kuorum-dev",
    }
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _admin_tls(pki: pki_module.Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(*(str(p) for p in pki.client("admin")))
    return context


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _free_ports(count: int) -> list[int]:
    """Reserve ``count`` distinct free loopback ports (bound together, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
