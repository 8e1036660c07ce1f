"""The real apiserver calls the real webhook process over TLS: injection, access, failure.

The webhook runs as ``kuorum webhook`` under the kuorum-webhook ServiceAccount with the
chart's RBAC, registered by URL with its caBundle. The operator is built in parallel,
so these tests create DecentralizedSecrets and set their status (Ready, version)
themselves through the status subresource, as the operator would.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from kubernetes import client
from webhooks import webhook_fixture  # noqa: F401

from kuorum import names
from kuorum.devenv import webhook as local
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.pki import WEBHOOK_CLIENT
from kuorum.devenv.processes import wait_until
from kuorum.kube.raw import raw
from kuorum.webhook import registration

pytestmark = pytest.mark.integration

SECRET_VALUE = "s3cr3t-value-that-must-never-reach-a-pod"


@pytest.fixture
def namespace(control_plane: ControlPlane) -> str:
    name = f"inject-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(name)
    return name


def create_secret(
    control_plane: ControlPlane,
    namespace: str,
    name: str,
    *,
    access: dict[str, Any] | None = None,
    ready: bool = True,
    version: int = 1,
) -> None:
    """Create a DecentralizedSecret and its target Secret; set its status as the operator would."""
    api = control_plane.api_client()
    custom = client.CustomObjectsApi(api)
    spec: dict[str, Any] = {
        "threshold": 2,
        "shares": 3,
        "source": {"generate": {"keys": [{"name": "password"}]}},
        "target": {"name": f"{name}-creds"},
    }
    if access is not None:
        spec["access"] = access
    body = {
        "apiVersion": names.API_VERSION,
        "kind": names.SECRET_KIND,
        "metadata": {"name": name},
        "spec": spec,
    }
    custom.create_namespaced_custom_object(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, body
    )
    client.CoreV1Api(api).create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name=f"{name}-creds"),
            string_data={"password": SECRET_VALUE},
        ),
    )
    set_status(control_plane, namespace, name, ready=ready, version=version)


def set_status(
    control_plane: ControlPlane, namespace: str, name: str, *, ready: bool, version: int
) -> None:
    condition = {
        "type": "Ready",
        "status": "True" if ready else "False",
        "reason": "Materialized" if ready else "Distributing",
        "message": "set by the test",
        "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    client.CustomObjectsApi(control_plane.api_client()).patch_namespaced_custom_object_status(
        names.GROUP,
        names.VERSION,
        namespace,
        names.SECRET_PLURAL,
        name,
        {"status": {"version": version, "conditions": [condition]}},
        _content_type="application/merge-patch+json",
    )


def pod_body(
    name: str, annotations: dict[str, str], *, labelled: bool = True, account: str | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "image": "busybox"}, {"name": "side", "image": "busybox"}],
        "initContainers": [{"name": "init", "image": "busybox"}],
    }
    if account:
        spec["serviceAccountName"] = account
    return {
        "metadata": {
            "name": name,
            "labels": {names.INJECT_LABEL: "true"} if labelled else {"app": "plain"},
            "annotations": annotations,
        },
        "spec": spec,
    }


def create_pod(control_plane: ControlPlane, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    core = client.CoreV1Api(control_plane.api_client())
    core.create_namespaced_pod(namespace, body)
    stored: dict[str, Any] = raw(core.read_namespaced_pod, body["metadata"]["name"], namespace)
    return stored


def refusal(
    control_plane: ControlPlane, namespace: str, body: dict[str, Any]
) -> client.ApiException:
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(control_plane.api_client()).create_namespaced_pod(namespace, body)
    return caught.value


def message(error: client.ApiException) -> str:
    return str(json.loads(error.body)["message"])


def wait_admitted(
    control_plane: ControlPlane, namespace: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Create the pod once the webhook's cache has seen the secrets (watch delivery is async)."""
    stored: dict[str, Any] = {}

    def attempt() -> bool:
        try:
            stored.update(create_pod(control_plane, namespace, body))
        except client.ApiException as error:
            if error.status in (404, 503) and "kuorum" in (error.body or ""):
                return False
            raise
        return True

    wait_until(attempt, timeout=30, what="admission of a labelled pod", interval=0.2)
    return stored


def test_labelled_pod_gets_env_and_volume_injection_as_annotated(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    create_secret(control_plane, namespace, "db")
    create_secret(control_plane, namespace, "api")
    annotations = {
        names.ENV_ANNOTATION: "db, api(password=API_PASSWORD)",
        names.ENV_PREFIX_ANNOTATION: "APP_",
        names.VOLUME_ANNOTATION: "db(password=pw.txt)=/etc/db",
        names.CONTAINERS_ANNOTATION: "app",
        names.INIT_CONTAINERS_ANNOTATION: "init",
    }
    pod = wait_admitted(control_plane, namespace, pod_body("web", annotations))

    app, side = pod["spec"]["containers"]
    (init,) = pod["spec"]["initContainers"]
    for injected in (app, init):
        assert injected["envFrom"] == [{"secretRef": {"name": "db-creds"}, "prefix": "APP_"}]
        assert injected["env"] == [
            {
                "name": "APP_API_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "api-creds", "key": "password"}},
            }
        ]
        kuorum_mounts = [m for m in injected["volumeMounts"] if m["mountPath"] == "/etc/db"]
        assert len(kuorum_mounts) == 1 and kuorum_mounts[0]["readOnly"] is True
    assert "envFrom" not in side and "env" not in side
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    volume = volumes[kuorum_mounts[0]["name"]]
    assert volume["secret"]["secretName"] == "db-creds"
    assert volume["secret"]["items"] == [{"key": "password", "path": "pw.txt"}]
    assert (
        pod["metadata"]["annotations"][names.INJECTED_ANNOTATION]
        == f"{namespace}/db,{namespace}/api"
    )
    assert SECRET_VALUE not in json.dumps(pod)


def test_unlabelled_pod_is_untouched(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    annotations = {names.ENV_ANNOTATION: "db"}
    pod = create_pod(control_plane, namespace, pod_body("plain", annotations, labelled=False))
    assert names.INJECTED_ANNOTATION not in pod["metadata"]["annotations"]
    assert all("envFrom" not in c for c in pod["spec"]["containers"])


def test_pod_of_a_namespace_or_account_not_allowed_is_denied_with_the_rule(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    create_secret(control_plane, namespace, "db", access={"serviceAccounts": ["web"]})
    other = f"{namespace}-other"
    control_plane.create_namespace(other)
    core = client.CoreV1Api(control_plane.api_client())
    for where in (namespace, other):
        core.create_namespaced_service_account(where, {"metadata": {"name": "web"}})
    wait_admitted(
        control_plane, namespace, pod_body("allowed", {names.ENV_ANNOTATION: "db"}, account="web")
    )

    wrong_account = refusal(control_plane, namespace, pod_body("p1", {names.ENV_ANNOTATION: "db"}))
    assert wrong_account.status == 403
    text = message(wrong_account)
    assert f"DecentralizedSecret {namespace}/db" in text and "service account default" in text
    assert "serviceAccounts" in text

    wrong_namespace = refusal(
        control_plane,
        other,
        pod_body("p2", {names.ENV_ANNOTATION: f"{namespace}/db"}, account="web"),
    )
    assert wrong_namespace.status == 403
    assert f"pods of namespace {other}" in message(wrong_namespace)
    assert "namespaces" in message(wrong_namespace)


def test_missing_or_unready_secret_denies_the_pod(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    create_secret(control_plane, namespace, "later", ready=False)
    missing = refusal(control_plane, namespace, pod_body("p1", {names.ENV_ANNOTATION: "nope"}))
    assert missing.status == 404
    assert f"DecentralizedSecret {namespace}/nope" in message(
        missing
    ) and "does not exist" in message(missing)

    def refused_as_not_ready() -> bool:
        error = refusal(
            control_plane, namespace, pod_body("p2", {names.VOLUME_ANNOTATION: "later"})
        )
        return error.status == 503 and "is not Ready" in message(error)

    wait_until(refused_as_not_ready, timeout=30, what="not-Ready refusal", interval=0.2)


def test_malformed_annotation_is_denied_with_the_annotation_named(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    error = refusal(control_plane, namespace, pod_body("p", {names.ENV_ANNOTATION: "db(=X"}))
    assert error.status == 400 and names.ENV_ANNOTATION in message(error)


def test_while_the_webhook_is_stopped_labelled_pods_are_refused_and_others_admitted(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    webhook.stop()
    try:
        plain = create_pod(control_plane, namespace, pod_body("plain", {}, labelled=False))
        assert plain["metadata"]["name"] == "plain"
        error = refusal(
            control_plane, namespace, pod_body("labelled", {names.ENV_ANNOTATION: "db"})
        )
        text = message(error)
        assert f'failed calling webhook "{registration.WEBHOOK_NAME}"' in text
        assert "connection refused" in text
    finally:
        webhook.start()


def test_rotation_restarts_an_opted_in_deployment_exactly_once(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    create_secret(control_plane, namespace, "db", version=1)
    api = control_plane.api_client()
    apps = client.AppsV1Api(api)
    labels = {"app": "web", names.INJECT_LABEL: "true"}
    template_annotations = {names.ENV_ANNOTATION: "db"}

    def deployment(name: str, opted: bool) -> dict[str, Any]:
        annotations = {names.RESTART_ON_ROTATION_ANNOTATION: "true"} if opted else {}
        return {
            "metadata": {"name": name, "annotations": annotations},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {**labels, "name": name}},
                "template": {
                    "metadata": {
                        "labels": {**labels, "name": name},
                        "annotations": template_annotations,
                    },
                    "spec": {"containers": [{"name": "app", "image": "busybox"}]},
                },
            },
        }

    apps.create_namespaced_deployment(namespace, deployment("opted", True))
    apps.create_namespaced_deployment(namespace, deployment("bystander", False))

    def replicasets(name: str) -> list[dict[str, Any]]:
        listed = raw(apps.list_namespaced_replica_set, namespace, label_selector=f"name={name}")
        return list(listed["items"])

    wait_until(lambda: len(replicasets("opted")) == 1, timeout=30, what="first ReplicaSet")

    def injected_pod() -> bool:
        pods = raw(
            client.CoreV1Api(api).list_namespaced_pod, namespace, label_selector="name=opted"
        )["items"]
        return any(
            names.INJECTED_ANNOTATION in (p["metadata"].get("annotations") or {}) for p in pods
        )

    wait_until(injected_pod, timeout=30, what="an injected pod of the deployment")

    set_status(control_plane, namespace, "db", ready=True, version=2)
    wait_until(lambda: len(replicasets("opted")) == 2, timeout=30, what="the restart's ReplicaSet")
    template = raw(apps.read_namespaced_deployment, "opted", namespace)["spec"]["template"]
    assert (
        template["metadata"]["annotations"][names.SECRET_VERSIONS_ANNOTATION] == f"{namespace}/db=2"
    )

    # The same version again (a status update without rotation) and a wait: no second restart.
    set_status(control_plane, namespace, "db", ready=True, version=2)
    time.sleep(3)
    assert len(replicasets("opted")) == 2
    assert len(replicasets("bystander")) == 1

    # A rotation while the webhook is down is caught up at its next start, once.
    webhook.stop()
    try:
        set_status(control_plane, namespace, "db", ready=True, version=3)
    finally:
        webhook.start()
    wait_until(lambda: len(replicasets("opted")) == 3, timeout=30, what="the catch-up restart")
    template = raw(apps.read_namespaced_deployment, "opted", namespace)["spec"]["template"]
    assert (
        template["metadata"]["annotations"][names.SECRET_VERSIONS_ANNOTATION] == f"{namespace}/db=3"
    )
    time.sleep(3)
    assert len(replicasets("opted")) == 3
    assert len(replicasets("bystander")) == 1


def test_labelled_pod_admitted_without_injection_is_reported(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    api = control_plane.api_client()
    core = client.CoreV1Api(api)
    bypassed: list[str] = []

    def create_while_unregistered() -> bool:
        """The apiserver drops the configuration a moment after the delete: retry."""
        body = pod_body(f"bypassed-{uuid.uuid4().hex[:6]}", {names.ENV_ANNOTATION: "db"})
        pod = create_pod(control_plane, namespace, body)
        if names.INJECTED_ANNOTATION in pod["metadata"]["annotations"]:
            return False
        bypassed.append(pod["metadata"]["name"])
        return True

    local.unregister(api)  # as if the configuration had been deleted
    try:
        wait_until(create_while_unregistered, timeout=30, what="a pod admitted unregistered")
    finally:
        local.register(api, webhook.configuration())

    def reported() -> bool:
        listed = raw(core.list_namespaced_event, namespace)["items"]
        return any(
            e["reason"] == "NotInjected" and e["involvedObject"]["name"] == bypassed[0]
            for e in listed
        )

    wait_until(reported, timeout=30, what="the NotInjected event")

    def metric_counts_every_uninjected_labelled_pod() -> bool:
        labelled = raw(
            core.list_pod_for_all_namespaces, label_selector=f"{names.INJECT_LABEL}=true"
        )
        uninjected = [
            p
            for p in labelled["items"]
            if p["metadata"]["namespace"] not in ("kube-system", names.SYSTEM_NAMESPACE)
            and names.INJECTED_ANNOTATION not in (p["metadata"].get("annotations") or {})
        ]
        return f"kuorum_webhook_uninjected_pods {float(len(uninjected))}" in webhook_metrics(
            webhook
        )

    wait_until(metric_counts_every_uninjected_labelled_pod, timeout=30, what="the metric")


def webhook_metrics(webhook: local.LocalWebhook) -> str:
    context = ssl.create_default_context(cadata=webhook.ca_bundle.decode())
    with urllib.request.urlopen(
        f"https://127.0.0.1:{webhook.port}/metrics", context=context
    ) as response:
        return str(response.read().decode())


def test_the_webhook_pod_namespace_is_excluded(
    control_plane: ControlPlane, webhook: local.LocalWebhook
) -> None:
    configuration = webhook.configuration()["webhooks"][0]
    excluded = configuration["namespaceSelector"]["matchExpressions"][0]["values"]
    assert {"kube-system", names.SYSTEM_NAMESPACE} <= set(excluded)
    body = pod_body(f"own-{uuid.uuid4().hex[:6]}", {names.ENV_ANNOTATION: "db"})
    pod = create_pod(control_plane, names.SYSTEM_NAMESPACE, body)
    client.CoreV1Api(control_plane.api_client()).delete_namespaced_pod(
        body["metadata"]["name"], names.SYSTEM_NAMESPACE
    )  # leave Kuorum's namespace as found
    assert names.INJECTED_ANNOTATION not in pod["metadata"]["annotations"]


def _post_mutate(
    webhook: local.LocalWebhook, body: bytes, client_pair: tuple[Any, Any] | None
) -> tuple[int, bytes]:
    context = ssl.create_default_context(cadata=webhook.ca_bundle.decode())
    if client_pair is not None:
        context.load_cert_chain(*(str(p) for p in client_pair))
    request = urllib.request.Request(  # noqa: S310 - a loopback URL of our own
        webhook.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_only_the_apiserver_is_answered(
    control_plane: ControlPlane, webhook: local.LocalWebhook, namespace: str
) -> None:
    """Any pod could reach /mutate: without the apiserver's client certificate (none, or
    another certificate of the same CA) it learns nothing, not even that a secret
    exists; with it, bodies larger than a pod can be are refused."""
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": namespace,
            "operation": "CREATE",
            "object": {
                "metadata": {
                    "name": "probe",
                    "labels": {names.INJECT_LABEL: "true"},
                    "annotations": {names.ENV_ANNOTATION: "db"},
                },
                "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            },
        },
    }
    body = json.dumps(review).encode()
    pki = control_plane.pki
    for pair in (None, pki.client("admin")):
        status, answer = _post_mutate(webhook, body, pair)
        assert status == 403
        assert json.loads(answer) == {
            "error": "this endpoint answers the Kubernetes apiserver only"
        }
    apiserver = pki.client(WEBHOOK_CLIENT)
    status, answer = _post_mutate(webhook, body, apiserver)
    assert status == 200 and json.loads(answer)["response"]["uid"] == review["request"]["uid"]
    status, _ = _post_mutate(webhook, b" " * (4 * 1024 * 1024), apiserver)
    assert status == 413
