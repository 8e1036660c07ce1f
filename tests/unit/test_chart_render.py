"""The Helm chart renders, lints, and every rendered object keeps the promises of the issue.

Rendering needs helm (hack/tools.sh builds it once from the Go module proxy into a cache
outside the repository); no cluster is needed here. tests/integration/test_chart_apply.py
sends the same objects to a real apiserver.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import (
    CHART,
    FULL_VALUES,
    find,
    helm,
    is_helm_test,
    pod_specs,
    render,
    template_args,
)

from kuorum import names
from kuorum.devenv import install
from kuorum.models import SecretType

DEFAULT, FULL = "default", "full"
VALUES = {DEFAULT: (), FULL: (FULL_VALUES,)}


@pytest.fixture(scope="module", params=sorted(VALUES))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(VALUES[request.param])


@pytest.fixture(scope="module")
def default_objects() -> list[dict[str, Any]]:
    return render()


@pytest.fixture(scope="module")
def full_objects() -> list[dict[str, Any]]:
    return render([FULL_VALUES])


@pytest.mark.parametrize("values", sorted(VALUES))
def test_helm_lint_is_clean(values: str) -> None:
    args = ["lint", "--strict", str(CHART), "--namespace", "kuorum-system"]
    for path in VALUES[values]:
        args += ["--values", str(path)]
    done = helm(*args, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


def test_full_values_turn_on_every_optional_object(
    default_objects: list[dict[str, Any]], full_objects: list[dict[str, Any]]
) -> None:
    optional = {"Certificate", "Issuer", "ServiceMonitor", "NetworkPolicy"}
    assert not optional & {o["kind"] for o in default_objects}
    assert optional <= {o["kind"] for o in full_objects}


def test_every_pod_is_hardened(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    specs = pod_specs(objects, helm_tests=True)
    assert set(specs) == {
        "Deployment/kuorum-operator",
        "Deployment/kuorum-webhook",
        "StatefulSet/kuorum-node",
        "Pod/kuorum-ledger-auditor",
    }
    for where, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, where
        assert isinstance(pod["runAsUser"], int) and pod["runAsUser"] > 0, where
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["enableServiceLinks"] is False, where
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), where
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["runAsNonRoot"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert container["resources"]["requests"]["memory"], where
            assert container["resources"]["limits"]["memory"], where
            if not where.startswith("Pod/"):
                assert container["readinessProbe"] and container["livenessProbe"], where
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, f"{where}: a read-only root needs a writable /tmp"


def test_one_image_one_entry_point(full_objects: list[dict[str, Any]]) -> None:
    for where, spec in pod_specs(full_objects).items():
        (container,) = spec["containers"]
        assert container["image"] == "ghcr.io/kuorum/kuorum@sha256:" + "0" * 64, where
        assert "command" not in container, f"{where}: the image's ENTRYPOINT is `kuorum`"
        assert container["args"][0] == container["name"], where
        assert spec["imagePullSecrets"] == [{"name": "regcred"}], where


def test_default_image_is_the_app_version(default_objects: list[dict[str, Any]]) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for where, spec in pod_specs(default_objects).items():
        assert spec["containers"][0]["image"] == f"ghcr.io/kuorum/kuorum:{chart['appVersion']}"
        assert spec["serviceAccountName"] == f"kuorum-{spec['containers'][0]['name']}", where


def test_chart_carries_no_secret(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    assert not [o for o in objects if o["kind"] == "Secret"]


def test_rbac_is_exactly_the_rule_files(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for component, account in install.COMPONENT_ACCOUNTS.items():
        rules = install.rbac_rules(component)
        account_object = find(objects, "ServiceAccount", account)
        assert account_object["automountServiceAccountToken"] is False
        if rules["clusterRules"]:
            assert find(objects, "ClusterRole", account)["rules"] == rules["clusterRules"]
            binding = find(objects, "ClusterRoleBinding", account)
            assert binding["roleRef"]["name"] == account
            assert binding["subjects"] == [
                {"kind": "ServiceAccount", "name": account, "namespace": "kuorum-system"}
            ]
        if rules["namespaceRules"]:
            role = find(objects, "Role", account)
            assert role["metadata"]["namespace"] == "kuorum-system"
            assert role["rules"] == rules["namespaceRules"]
            assert find(objects, "RoleBinding", account)["subjects"][0]["name"] == account
    kinds = {"ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"}
    rbac_names = {
        o["metadata"]["name"] for o in objects if o["kind"] in kinds and not is_helm_test(o)
    }
    assert rbac_names == set(install.COMPONENT_ACCOUNTS.values()), "no RBAC beyond the files"


def test_helm_test_identity_may_only_list_share_nodes(
    default_objects: list[dict[str, Any]],
) -> None:
    hooks = [o for o in default_objects if is_helm_test(o)]
    assert {o["kind"] for o in hooks} == {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Pod",
    }
    role = find(hooks, "ClusterRole", "kuorum-ledger-auditor")
    assert role["rules"] == [
        {"apiGroups": ["kuorum.io"], "resources": ["sharenodes"], "verbs": ["list"]}
    ]
    for hook in hooks:
        policy = hook["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
        assert "hook-succeeded" in policy, f"{hook['kind']} outlives a passing test"
    pod = find(hooks, "Pod", "kuorum-ledger-auditor")
    assert pod["spec"]["containers"][0]["args"] == ["ledger", "verify"]


def test_helm_test_can_be_turned_off() -> None:
    assert not [o for o in render(sets=["helmTest.enabled=false"]) if is_helm_test(o)]


def test_webhook_configuration(full_objects: list[dict[str, Any]]) -> None:
    configuration = find(full_objects, "MutatingWebhookConfiguration", "kuorum-webhook")
    (hook,) = configuration["webhooks"]
    assert hook["failurePolicy"] == "Fail"
    assert hook["timeoutSeconds"] <= 10
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["reinvocationPolicy"] == "IfNeeded", "the patch is idempotent"
    assert hook["rules"] == [
        {
            "operations": ["CREATE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["pods"],
            "scope": "Namespaced",
        }
    ]
    assert hook["objectSelector"] == {"matchLabels": {names.INJECT_LABEL: "true"}}
    (expression,) = hook["namespaceSelector"]["matchExpressions"]
    assert expression["key"] == "kubernetes.io/metadata.name"
    assert expression["operator"] == "NotIn"
    assert {"kube-system", "kuorum-system", "cert-manager"} == set(expression["values"])
    service = hook["clientConfig"]["service"]
    assert (service["name"], service["namespace"], service["port"]) == (
        "kuorum-webhook",
        "kuorum-system",
        443,
    )
    assert configuration["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "kuorum-system/kuorum-webhook"
    }


def test_webhook_configuration_matches_the_webhooks_own_builder(
    default_objects: list[dict[str, Any]],
) -> None:
    """`kuorum dev up` registers through kuorum.webhook.registration: the same webhook."""
    from kuorum.webhook import registration

    built = registration.configuration(
        ca_bundle=b"-", service=("kuorum-system", "kuorum-webhook", 443)
    )
    configuration = find(default_objects, "MutatingWebhookConfiguration", built["metadata"]["name"])
    (expected,) = copy.deepcopy(built["webhooks"])
    (hook,) = copy.deepcopy(configuration["webhooks"])
    expected_client = expected.pop("clientConfig")
    client = hook.pop("clientConfig")
    assert hook == expected
    assert expected_client.pop("caBundle")
    assert client == expected_client, "caBundle comes from cert-manager or the webhook"


def test_webhook_certificate_from_cert_manager(full_objects: list[dict[str, Any]]) -> None:
    certificate = find(full_objects, "Certificate", "kuorum-webhook")["spec"]
    assert certificate["secretName"] == "kuorum-webhook-tls"
    assert "kuorum-webhook.kuorum-system.svc" in certificate["dnsNames"]
    issuer = find(full_objects, "Issuer", certificate["issuerRef"]["name"])
    assert issuer["spec"] == {"selfSigned": {}}
    spec = find(full_objects, "Deployment", "kuorum-webhook")["spec"]["template"]["spec"]
    volume = next(v for v in spec["volumes"] if v["name"] == "tls")
    assert volume["secret"]["secretName"] == "kuorum-webhook-tls"
    assert "--tls-cert-file=/etc/kuorum/tls/tls.crt" in spec["containers"][0]["args"]


def test_webhook_manages_its_own_certificate_by_default(
    default_objects: list[dict[str, Any]],
) -> None:
    configuration = find(default_objects, "MutatingWebhookConfiguration", "kuorum-webhook")
    assert "annotations" not in configuration["metadata"]
    spec = find(default_objects, "Deployment", "kuorum-webhook")["spec"]["template"]["spec"]
    args = spec["containers"][0]["args"]
    assert "--tls-secret=kuorum-webhook-tls" in args
    assert "--webhook-configuration=kuorum-webhook" in args


@pytest.mark.parametrize("name", ["kuorum-operator", "kuorum-webhook"])
def test_deployments_run_two_replicas_and_keep_one_up(
    default_objects: list[dict[str, Any]], name: str
) -> None:
    deployment = find(default_objects, "Deployment", name)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = find(default_objects, "PodDisruptionBudget", name)
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]


def test_operator_mints_per_node_tokens_and_projects_none(
    default_objects: list[dict[str, Any]],
) -> None:
    """No token for all nodes sits in the operator's pod: it asks TokenRequest for one
    token per node audience, for its own ServiceAccount only."""
    spec = find(default_objects, "Deployment", "kuorum-operator")["spec"]["template"]["spec"]
    projected = [v for v in spec.get("volumes", []) if "projected" in v]
    assert projected == []
    role = find(default_objects, "Role", "kuorum-operator")
    (mint,) = [r for r in role["rules"] if "serviceaccounts/token" in r["resources"]]
    assert (mint["verbs"], mint["resourceNames"]) == (["create"], ["kuorum-operator"])


def test_each_node_may_write_only_its_own_sharenode(
    default_objects: list[dict[str, Any]],
) -> None:
    policy = find(default_objects, "ValidatingAdmissionPolicy", "kuorum-node-writes-own-sharenode")
    (condition,) = policy["spec"]["matchConditions"]
    assert "system:serviceaccount:kuorum-system:kuorum-node" in condition["expression"]
    assert names.POD_NAME_EXTRA in policy["spec"]["variables"][0]["expression"]
    binding = find(
        default_objects, "ValidatingAdmissionPolicyBinding", "kuorum-node-writes-own-sharenode"
    )
    assert binding["spec"]["validationActions"] == ["Deny"]


def test_the_chart_renders_the_admission_policies_dev_mode_applies(
    default_objects: list[dict[str, Any]],
) -> None:
    rendered = [o for o in default_objects if o["kind"].startswith("ValidatingAdmissionPolicy")]
    applied = [
        p
        for component in ("node", "operator", "webhook")
        for p in install.admission_policies(component, "kuorum-system")
    ]

    def by_name(manifests: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(m["kind"], m["metadata"]["name"]): m for m in manifests}

    assert by_name(rendered) == by_name(applied)
    assert len(applied) == 8 and all("KUORUM_NAMESPACE" not in str(p) for p in applied)


def test_the_operator_policy_allows_exactly_the_crds_target_types() -> None:
    (policy, _) = install.admission_policies("operator", "kuorum-system")
    (types,) = [
        v["expression"]
        for v in policy["spec"]["validations"]
        if "orValue('Opaque') in" in v["expression"]
    ]
    allowed = set(re.findall(r"'([^']+)'", types.split(" in ", 1)[1]))
    assert allowed == {str(t) for t in SecretType}


@pytest.mark.parametrize(("values", "n", "t"), [(DEFAULT, 5, 3), (FULL, 7, 4)])
def test_share_nodes(values: str, n: int, t: int) -> None:
    objects = render(VALUES[values])
    statefulset = find(objects, "StatefulSet", "kuorum-node")
    assert statefulset["spec"]["replicas"] == n
    budget = find(objects, "PodDisruptionBudget", "kuorum-node")
    assert budget["spec"]["maxUnavailable"] == n - t
    assert budget["spec"]["selector"] == statefulset["spec"]["selector"]
    service = find(objects, "Service", statefulset["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    spec = statefulset["spec"]["template"]["spec"]
    args = spec["containers"][0]["args"]
    assert args[:3] == ["node", "--name=$(POD_NAME)", "--data-dir=/var/lib/kuorum/data"]
    assert "--operator-identity=system:serviceaccount:$(POD_NAMESPACE):kuorum-operator" in args
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "data")
    assert claim["metadata"]["name"] == "data" and mount["mountPath"] == "/var/lib/kuorum"
    keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_threshold_above_replicas_is_refused() -> None:
    done = helm(*template_args(sets=["node.replicas=2", "node.threshold=3"]), check=False)
    assert done.returncode != 0
    assert "node.threshold=3 is above node.replicas=2" in done.stderr


def test_network_policies(full_objects: list[dict[str, Any]]) -> None:
    node = find(full_objects, "NetworkPolicy", "kuorum-node")["spec"]
    allowed = [peer["podSelector"]["matchLabels"] for peer in node["ingress"][0]["from"]]
    assert [labels.get("app.kubernetes.io/component") for labels in allowed] == [
        "operator",
        "node",
        None,
        "ledger-auditor",
    ]
    agents = node["ingress"][0]["from"][2]
    assert agents == {
        "namespaceSelector": {},
        "podSelector": {"matchLabels": {names.INJECT_LABEL: "true"}},
    }, "delivery Pod: the agent of a labelled pod reaches the nodes, which check its token"
    (extra,) = node["ingress"][1:]
    assert extra["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ledger-auditor"}}},
    ]
    webhook = find(full_objects, "NetworkPolicy", "kuorum-webhook")["spec"]
    assert webhook["ingress"] == [{"ports": [{"port": "https", "protocol": "TCP"}]}]
    operator = find(full_objects, "NetworkPolicy", "kuorum-operator")["spec"]
    assert [rule["ports"] for rule in operator["ingress"]] == [
        [{"port": "metrics", "protocol": "TCP"}]
    ]


def test_service_monitors_select_services_that_exist(full_objects: list[dict[str, Any]]) -> None:
    services = [o for o in full_objects if o["kind"] == "Service"]
    monitors = [o for o in full_objects if o["kind"] == "ServiceMonitor"]
    assert len(monitors) == 3
    for monitor in monitors:
        assert monitor["metadata"]["labels"]["release"] == "prometheus"
        wanted = monitor["spec"]["selector"]["matchLabels"]
        matching = [s for s in services if wanted.items() <= s["metadata"]["labels"].items()]
        assert matching, f"{monitor['metadata']['name']} selects no Service"
        ports = {p["name"] for s in matching for p in s["spec"]["ports"]}
        assert monitor["spec"]["endpoints"][0]["port"] in ports


def test_crds_come_from_the_one_source() -> None:
    link = CHART / "crds"
    assert link.is_symlink() and link.resolve() == (CHART.parents[1] / "crds").resolve()
    # What `helm install` creates (`helm show crds` joins the files without separators).
    shipped = render(include_crds=True)
    by_name = {d["metadata"]["name"]: d for d in shipped if d["kind"] == "CustomResourceDefinition"}
    expected = [yaml.safe_load(p.read_text()) for p in sorted(Path(link).glob("*.yaml"))]
    assert by_name == {d["metadata"]["name"]: d for d in expected}
    assert {"decentralizedsecrets.kuorum.io", "sharenodes.kuorum.io"} <= set(by_name)


def test_node_policy_admits_only_operator_peers_and_agents_by_default() -> None:
    objects = render(sets=["networkPolicy.enabled=true", "helmTest.enabled=false"])
    node = find(objects, "NetworkPolicy", "kuorum-node")["spec"]
    (rule,) = node["ingress"]
    assert len(rule["from"]) == 3
    operator = find(objects, "NetworkPolicy", "kuorum-operator")["spec"]
    assert operator["ingress"] == [], "the operator serves nobody but metrics scrapes"


def test_an_existing_issuer_replaces_the_self_signed_one() -> None:
    objects = render(
        sets=[
            "certManager.enabled=true",
            "certManager.issuerRef.kind=ClusterIssuer",
            "certManager.issuerRef.name=corporate-ca",
        ]
    )
    assert not [o for o in objects if o["kind"] == "Issuer"]
    certificate = find(objects, "Certificate", "kuorum-webhook")
    assert certificate["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "corporate-ca"}


def test_the_operator_can_be_confined_to_some_namespaces() -> None:
    """operator.watchNamespaces: what it needs in a namespace it serves becomes a Role
    there; cluster-wide it keeps only ShareNodes and namespace uids."""
    objects = render(sets=["operator.watchNamespaces={shop,finance}"])
    served = install.rbac_rules("operator")["servedRules"]
    cluster = find(objects, "ClusterRole", names.OPERATOR_ACCOUNT)["rules"]
    assert not any(set(r["resources"]) & {"secrets", "decentralizedsecrets"} for r in cluster)
    roles = [
        o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == "kuorum-operator"
    ]
    by_namespace = {r["metadata"]["namespace"]: r["rules"] for r in roles}
    assert by_namespace["shop"] == by_namespace["finance"] == served
    bindings = {
        o["metadata"]["namespace"]
        for o in objects
        if o["kind"] == "RoleBinding" and o["metadata"]["name"] == "kuorum-operator"
    }
    assert {"shop", "finance"} <= bindings
    args = find(objects, "Deployment", "kuorum-operator")["spec"]["template"]["spec"]
    command = args["containers"][0]["args"]
    assert "--watch-namespace=shop" in command and "--watch-namespace=finance" in command
