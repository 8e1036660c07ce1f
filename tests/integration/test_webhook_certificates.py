"""Serving certificates of the real webhook process, as the real apiserver sees them.

Self-managed: the process creates its CA and serving pair in a Secret, patches the
caBundle, and a renewal (CA included) is picked up while pods keep being admitted.
Files: a rewritten certificate file is served without a restart. DecentralizedSecrets
and their status are set by the test itself (the operator is built in parallel).
"""

from __future__ import annotations

import base64
import datetime
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from kubernetes import client

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv import webhook as local
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.kube.raw import raw
from kuorum.webhook import registration, tls

pytestmark = pytest.mark.integration

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane) -> str:
    """A namespace with a Ready DecentralizedSecret ``db`` that any pod there may use."""
    name = f"tls-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(name)
    custom = client.CustomObjectsApi(control_plane.api_client())
    body = {
        "apiVersion": names.API_VERSION,
        "kind": names.SECRET_KIND,
        "metadata": {"name": "db"},
        "spec": {"threshold": 2, "shares": 3, "source": {"generate": {"keys": [{"name": "k"}]}}},
    }
    custom.create_namespaced_custom_object(
        names.GROUP, names.VERSION, name, names.SECRET_PLURAL, body
    )
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "Materialized",
        "message": "set by the test",
        "lastTransitionTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    custom.patch_namespaced_custom_object_status(
        names.GROUP,
        names.VERSION,
        name,
        names.SECRET_PLURAL,
        "db",
        {"status": {"version": 1, "conditions": [ready]}},
        _content_type="application/merge-patch+json",
    )
    return name


def admit_labelled_pod(control_plane: ControlPlane, namespace: str) -> bool:
    """Create a labelled pod; True when the apiserver reached the webhook and it injected."""
    core = client.CoreV1Api(control_plane.api_client())
    name = f"p-{uuid.uuid4().hex[:8]}"
    body = {
        "metadata": {
            "name": name,
            "labels": {names.INJECT_LABEL: "true"},
            "annotations": {names.ENV_ANNOTATION: "db"},
        },
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
    }
    try:
        core.create_namespaced_pod(namespace, body)
    except client.ApiException:
        return False
    pod = raw(core.read_namespaced_pod, name, namespace)
    return names.INJECTED_ANNOTATION in pod["metadata"]["annotations"]


def served_certificate(port: int) -> bytes:
    """The to-be-signed bytes of the certificate the process serves right now."""
    return tbs(ssl.get_server_certificate(("127.0.0.1", port)).encode())


def tbs(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificates(pem)[0].tbs_certificate_bytes


def ca_bundle_of_configuration(api: client.ApiClient) -> bytes:
    configuration = raw(
        client.AdmissionregistrationV1Api(api).read_mutating_webhook_configuration,
        registration.CONFIGURATION_NAME,
    )
    return base64.b64decode(configuration["webhooks"][0]["clientConfig"]["caBundle"])


@pytest.fixture(scope="module")
def self_managed(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[local.LocalWebhook]:
    api = control_plane.api_client()
    install.grant_component(api, "webhook")
    process = local.LocalWebhook(
        tmp_path_factory.mktemp("self-managed"),
        control_plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.WEBHOOK_ACCOUNT),
        self_managed=True,
        extra_args=("--renew-check-seconds=1",),
    )
    placeholder = tls.issue_ca(now=NOW).certificate  # trusted by nobody: must be replaced
    local.register(api, process.configuration(ca_bundle=placeholder))
    process.start()
    try:
        yield process
    finally:
        local.unregister(api)
        process.stop()
        try:
            client.CoreV1Api(api).delete_namespaced_secret(local.TLS_SECRET, names.SYSTEM_NAMESPACE)
        except client.ApiException as error:
            if error.status != 404:
                raise


def test_self_managed_pair_is_stored_trusted_and_renewed_without_downtime(
    control_plane: ControlPlane, self_managed: local.LocalWebhook, namespace: str
) -> None:
    api = control_plane.api_client()
    secret = raw(
        client.CoreV1Api(api).read_namespaced_secret, local.TLS_SECRET, names.SYSTEM_NAMESPACE
    )
    assert secret["type"] == "kubernetes.io/tls"
    first_ca = base64.b64decode(secret["data"]["ca.crt"])
    assert ca_bundle_of_configuration(api) == first_ca
    wait_until(lambda: admit_labelled_pod(control_plane, namespace), timeout=30, what="admission")

    # Age the stored CA: an older CA0, now in the last third of its life, becomes the
    # current CA (bundle CA0 + CA1), the served pair stays P1 (by CA1). The process must
    # rotate to a new CA2 and a new pair, keeping CA1 trusted until P1 is no longer served.
    aged_ca = tls.issue_ca(now=NOW - datetime.timedelta(days=300))
    data = dict(secret["data"])
    data["ca.crt"] = base64.b64encode(aged_ca.certificate + first_ca).decode()
    data["ca.key"] = base64.b64encode(aged_ca.key).decode()
    core = client.CoreV1Api(api)
    secret["data"] = data
    core.replace_namespaced_secret(local.TLS_SECRET, names.SYSTEM_NAMESPACE, secret)
    first_served = served_certificate(self_managed.port)

    admitted = 0

    def serves_a_new_pair() -> bool:
        nonlocal admitted
        assert admit_labelled_pod(control_plane, namespace)  # no downtime, at any moment
        admitted += 1
        return served_certificate(self_managed.port) != first_served

    wait_until(serves_a_new_pair, timeout=30, what="the renewed certificate", interval=0.2)
    for _ in range(3):
        assert admit_labelled_pod(control_plane, namespace)
    bundle = x509.load_pem_x509_certificates(ca_bundle_of_configuration(api))
    new_ca, *older = bundle
    assert {c.tbs_certificate_bytes for c in older} == {tbs(aged_ca.certificate), tbs(first_ca)}
    served = x509.load_pem_x509_certificate(
        ssl.get_server_certificate(("127.0.0.1", self_managed.port)).encode()
    )
    served.verify_directly_issued_by(new_ca)
    assert admitted >= 1


def test_rewritten_certificate_files_are_served_without_a_restart(
    control_plane: ControlPlane, tmp_path: Path, namespace: str
) -> None:
    process = local.LocalWebhook(
        tmp_path,
        control_plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.WEBHOOK_ACCOUNT),
        extra_args=("--reload-seconds=0.5",),
    )
    process.start()
    try:
        before = served_certificate(process.port)
        ca = tls.Pair(process.ca_bundle, (process.tls_directory / "ca.key").read_bytes())
        renewed = tls.issue_serving(ca, ["127.0.0.1"], now=NOW)
        (process.tls_directory / "tls.key").write_bytes(renewed.key)
        (process.tls_directory / "tls.crt").write_bytes(renewed.certificate)
        wait_until(
            lambda: served_certificate(process.port) == tbs(renewed.certificate),
            timeout=30,
            what="the rewritten certificate",
        )
        assert before != tbs(renewed.certificate)
    finally:
        process.stop()
