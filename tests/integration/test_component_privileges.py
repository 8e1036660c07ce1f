"""No component can climb to cluster-admin: each escalation its RBAC would allow is tried
with the component's real ServiceAccount token and refused by the apiserver's admission
policies (charts/kuorum/files/policies/), while the writes the component needs pass.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv.controlplane import ControlPlane
from kuorum.kube.client import api_client
from kuorum.webhook import registration

pytestmark = pytest.mark.integration

TENANT = "privileges"


def _as(plane: ControlPlane, component: str) -> client.ApiClient:
    """The component's own credentials, with the chart's RBAC and policies granted."""
    account = install.grant_component(plane.api_client(), component)
    return api_client(plane.kubeconfig_for(names.SYSTEM_NAMESPACE, account))


def _refused(call: Callable[[], Any], words: str) -> None:
    with pytest.raises(client.ApiException) as raised:
        call()
    assert raised.value.status == 403, raised.value.body
    assert words in str(raised.value.body)


def _secret(name: str, *, kind: str = "Opaque", owned: bool = True, **extra: Any) -> Any:
    labels = {names.MANAGED_BY_LABEL: names.MANAGED_BY} if owned else {}
    return {
        "metadata": {"name": name, "labels": labels, **extra},
        "type": kind,
        "data": {"value": base64.b64encode(b"v").decode()},
    }


@pytest.fixture(name="tenant")
def tenant_fixture(control_plane: ControlPlane) -> str:
    control_plane.create_namespace(TENANT)
    return TENANT


def test_the_operator_cannot_mint_tokens_or_touch_secrets_it_does_not_own(
    control_plane: ControlPlane, tenant: str
) -> None:
    operator = client.CoreV1Api(_as(control_plane, "operator"))
    admin = client.CoreV1Api(control_plane.api_client())
    token_secret = _secret(
        "stolen-token",
        kind="kubernetes.io/service-account-token",
        annotations={"kubernetes.io/service-account.name": "default"},
    )
    _refused(
        lambda: operator.create_namespaced_secret(tenant, token_secret),
        "never writes a Secret of type kubernetes.io/service-account-token",
    )
    _refused(
        lambda: operator.create_namespaced_secret("kube-system", token_secret),
        "never writes Secrets in namespace kube-system",
    )
    bootstrap = _secret("bootstrap-token-abcdef", kind="bootstrap.kubernetes.io/token")
    _refused(lambda: operator.create_namespaced_secret(tenant, bootstrap), "of type")

    foreign = admin.create_namespaced_secret(tenant, _secret("argocd-secret", owned=False))
    takeover = _secret("argocd-secret")
    _refused(
        lambda: operator.replace_namespaced_secret("argocd-secret", tenant, takeover),
        "is not Kuorum's",
    )
    _refused(
        lambda: operator.patch_namespaced_secret("argocd-secret", tenant, {"data": {}}),
        "kuorum-operator-writes-own-secrets",
    )
    _refused(lambda: operator.delete_namespaced_secret("argocd-secret", tenant), "is not Kuorum's")
    after = admin.read_namespaced_secret("argocd-secret", tenant)
    assert (after.data, after.metadata.resource_version) == (
        foreign.data,
        foreign.metadata.resource_version,
    )

    # what it needs still works: create, update and delete its own
    operator.create_namespaced_secret(tenant, _secret("db"))
    operator.replace_namespaced_secret("db", tenant, _secret("db", kind="Opaque"))
    _refused(
        lambda: operator.patch_namespaced_secret(
            "db", tenant, {"metadata": {"labels": {names.MANAGED_BY_LABEL: None}}}
        ),
        "writes only Secrets labelled",
    )
    operator.delete_namespaced_secret("db", tenant)


@pytest.fixture(name="deployment")
def deployment_fixture(control_plane: ControlPlane, tenant: str) -> Iterator[str]:
    apps = client.AppsV1Api(control_plane.api_client())
    labels = {"app": "shop"}
    body: Any = {
        "metadata": {
            "name": "shop",
            "annotations": {names.RESTART_ON_ROTATION_ANNOTATION: "true"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {names.ENV_ANNOTATION: "db"}},
                "spec": {
                    "serviceAccountName": "default",
                    "containers": [{"name": "app", "image": "shop:1", "command": ["shop"]}],
                },
            },
        },
    }
    apps.create_namespaced_deployment(tenant, body)
    yield "shop"
    apps.delete_namespaced_deployment("shop", tenant)


def test_the_webhook_can_only_restart_workloads(
    control_plane: ControlPlane, tenant: str, deployment: str
) -> None:
    apps = client.AppsV1Api(_as(control_plane, "webhook"))
    container = {"name": "app"}
    for change in (
        {"containers": [{**container, "image": "attacker/miner:latest"}]},
        {"containers": [{**container, "command": ["sh", "-c", "cat /var/run/secrets/*"]}]},
        {"serviceAccountName": "ci-deployer"},
    ):
        _refused(
            lambda change=change: apps.patch_namespaced_deployment(
                deployment, tenant, {"spec": {"template": {"spec": change}}}
            ),
            "may change only the kuorum.io/secret-versions annotation",
        )
    _refused(
        lambda: apps.patch_namespaced_deployment(
            deployment,
            tenant,
            {"spec": {"template": {"metadata": {"annotations": {"other": "x"}}}}},
        ),
        "may change only",
    )
    restart = {names.SECRET_VERSIONS_ANNOTATION: f"{tenant}/db=2"}
    apps.patch_namespaced_deployment(
        deployment, tenant, {"spec": {"template": {"metadata": {"annotations": restart}}}}
    )
    template = apps.read_namespaced_deployment(deployment, tenant).spec.template
    assert template.spec.containers[0].image == "shop:1"
    assert template.metadata.annotations[names.SECRET_VERSIONS_ANNOTATION] == f"{tenant}/db=2"


@pytest.fixture(name="webhook_configuration")
def webhook_configuration_fixture(control_plane: ControlPlane) -> Iterator[str]:
    admission = client.AdmissionregistrationV1Api(control_plane.api_client())
    body = registration.configuration(ca_bundle=b"old", url="https://127.0.0.1:1/mutate")
    admission.create_mutating_webhook_configuration(body)
    yield body["metadata"]["name"]
    admission.delete_mutating_webhook_configuration(body["metadata"]["name"])


def test_the_webhook_can_only_set_its_own_ca_bundle(
    control_plane: ControlPlane, webhook_configuration: str
) -> None:
    admission = client.AdmissionregistrationV1Api(_as(control_plane, "webhook"))
    current = admission.read_mutating_webhook_configuration(webhook_configuration)
    hook = current.webhooks[0]
    widened = [
        {"op": "replace", "path": "/webhooks/0/rules/0/operations", "value": ["*"]},
        {"op": "replace", "path": "/webhooks/0/rules/0/resources", "value": ["*"]},
    ]
    for patch in (
        widened,
        [{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}],
        [{"op": "remove", "path": "/webhooks/0/objectSelector"}],
        [{"op": "replace", "path": "/webhooks/0/clientConfig/url", "value": "https://evil/m"}],
    ):
        _refused(
            lambda patch=patch: admission.patch_mutating_webhook_configuration(
                webhook_configuration, patch
            ),
            "may change only the caBundle",
        )
    bundle = base64.b64encode(b"new").decode()
    admission.patch_mutating_webhook_configuration(
        webhook_configuration,
        [{"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": bundle}],
    )
    after = admission.read_mutating_webhook_configuration(webhook_configuration).webhooks[0]
    assert after.client_config.ca_bundle == bundle
    assert after.rules == hook.rules and after.failure_policy == hook.failure_policy
