"""A webhook process on loopback, registered by URL: for ``kuorum dev up``, tests, benches.

The apiserver of a local control plane calls ``https://127.0.0.1:PORT/mutate`` and
trusts the CA given in the caBundle; the serving certificate therefore carries the IP
SAN 127.0.0.1 (the apiserver checks it against the URL's host). Two TLS modes, as in a cluster:

- ``files`` (default): a CA and a serving pair are written to ``directory/webhook-tls``
  (keys 0600; ``ca.key`` stays so a test can issue a renewal) and passed as
  ``--tls-cert-file/--tls-key-file``; ``configuration()`` carries that CA;
- ``self_managed``: the process keeps its pair in a Secret and patches the caBundle of
  an existing configuration itself (register first, with any placeholder CA).
"""

from __future__ import annotations

import datetime
import ssl
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from kuorum import names
from kuorum.devenv import images
from kuorum.devenv.pki import WEBHOOK_CLIENT
from kuorum.devenv.processes import Supervisor, free_port, wait_until
from kuorum.kube.raw import raw
from kuorum.webhook import registration, tls
from kuorum.webhook.registration import MUTATE_PATH

READY_TIMEOUT = 60.0
PROCESS_NAME = "kuorum-webhook"
TLS_SECRET = "kuorum-webhook-tls"  # noqa: S105 (a Secret's name)

AGENT_IMAGE = f"{images.REGISTRY}/kuorum:{images.project_version()}"
"""The agent image the local webhook gives pods with delivery Pod: the Kuorum image built
here (``make image``), which ``kuorum dev up`` imports into the local node."""


@dataclass
class LocalWebhook:
    """One ``kuorum webhook`` process serving on 127.0.0.1."""

    directory: Path
    """Logs and pid files go to ``logs/`` and ``pids/`` (a ControlPlane's state directory
    works: ``kuorum dev down`` then stops the webhook too), certificates to
    ``webhook-tls/``."""
    kubeconfig: Path
    """Credentials the process runs with (the kuorum-webhook ServiceAccount's)."""
    port: int = field(default_factory=free_port)
    self_managed: bool = False
    extra_args: tuple[str, ...] = ()
    tie_to_parent: bool = True
    """Let the kernel kill the process when its parent dies (tests, benches)."""
    client_ca: Path | None = None
    """Answer /mutate only to the apiserver's webhook client certificate, signed by this CA
    (the control plane's: it presents ``pki.WEBHOOK_CLIENT``)."""

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.supervisor = Supervisor(self.directory, tie_to_parent=self.tie_to_parent)
        self.tls_directory = self.directory / "webhook-tls"
        self._ca, self._ca_key = self.tls_directory / "ca.crt", self.tls_directory / "ca.key"
        self._cert, self._key = self.tls_directory / "tls.crt", self.tls_directory / "tls.key"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{MUTATE_PATH}"

    @property
    def ca_bundle(self) -> bytes:
        """The CA that files mode serves under (self-managed mode: read it from the Secret)."""
        self._ensure_files()
        return self._ca.read_bytes()

    @property
    def log(self) -> Path:
        return self.supervisor.log_path(PROCESS_NAME)

    def configuration(self, ca_bundle: bytes | None = None) -> dict[str, Any]:
        """The MutatingWebhookConfiguration that sends labelled pods to this process."""
        return registration.configuration(url=self.url, ca_bundle=ca_bundle or self.ca_bundle)

    def argv(self) -> list[str]:
        """The command line of the process."""
        argv = [
            sys.executable,
            "-m",
            "kuorum",
            "webhook",
            f"--listen=127.0.0.1:{self.port}",
            f"--kubeconfig={self.kubeconfig}",
            f"--namespace={names.SYSTEM_NAMESPACE}",
            f"--agent-image={AGENT_IMAGE}",
        ]
        if self.self_managed:
            argv += [f"--tls-secret={TLS_SECRET}", "--tls-san=127.0.0.1"]
        else:
            self._ensure_files()
            argv += [f"--tls-cert-file={self._cert}", f"--tls-key-file={self._key}"]
        if self.client_ca is not None:
            argv += [f"--client-ca={self.client_ca}", f"--client-name={WEBHOOK_CLIENT}"]
        return argv + list(self.extra_args)

    def start(self, *, timeout: float = READY_TIMEOUT) -> None:
        """Start the process and wait until /readyz answers 200."""
        self.supervisor.start(PROCESS_NAME, self.argv())
        wait_until(self.ready, timeout=timeout, what="kuorum webhook", log=self.log)

    def stop(self) -> None:
        self.supervisor.stop(PROCESS_NAME)

    def ready(self) -> bool:
        """Tell whether /readyz answers 200 (certificate not checked: it may be renewing)."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(
                f"https://127.0.0.1:{self.port}/readyz", timeout=2, context=context
            ) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _ensure_files(self) -> None:
        if self._cert.exists():
            return
        self.tls_directory.mkdir(exist_ok=True, mode=0o700)
        now = datetime.datetime.now(datetime.UTC)
        ca = tls.issue_ca(now=now)
        serving = tls.issue_serving(ca, ["127.0.0.1", "localhost"], now=now)
        self._ca.write_bytes(ca.certificate)
        self._cert.write_bytes(serving.certificate)
        for path, key in ((self._ca_key, ca.key), (self._key, serving.key)):
            path.touch(mode=0o600)
            path.write_bytes(key)


def register(api: client.ApiClient, configuration: dict[str, Any]) -> None:
    """Create the configuration, or replace the one of that name."""
    admission = client.AdmissionregistrationV1Api(api)
    name = configuration["metadata"]["name"]
    body: Any = configuration
    try:
        admission.create_mutating_webhook_configuration(body)
    except client.ApiException as error:
        if error.status != 409:
            raise
        current = raw(admission.read_mutating_webhook_configuration, name)
        version = current["metadata"]["resourceVersion"]
        body = dict(
            configuration, metadata=dict(configuration["metadata"], resourceVersion=version)
        )
        admission.replace_mutating_webhook_configuration(name, body)


def unregister(api: client.ApiClient, name: str = registration.CONFIGURATION_NAME) -> None:
    """Delete the configuration if it exists."""
    try:
        client.AdmissionregistrationV1Api(api).delete_mutating_webhook_configuration(name)
    except client.ApiException as error:
        if error.status != 404:
            raise
