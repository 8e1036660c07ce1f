"""Install Kuorum's cluster objects on a control plane: CRDs, namespace, identities.

The CRDs come from ``kuorum.models`` (which also writes ``crds/``), the RBAC rules from
``charts/kuorum/files/rbac/`` and the admission policies from
``charts/kuorum/files/policies/``: what the Helm chart installs, so a dev cluster grants
and forbids each component exactly what a production install does.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from kuorum import models, names
from kuorum.devenv.processes import wait_until

REPOSITORY = Path(__file__).resolve().parents[2]
RBAC_DIRECTORY = REPOSITORY / "charts" / "kuorum" / "files" / "rbac"
POLICY_DIRECTORY = REPOSITORY / "charts" / "kuorum" / "files" / "policies"
NAMESPACE_PLACEHOLDER = "KUORUM_NAMESPACE"
"""Stands for the release namespace in policy files (the chart's ``replace`` does the same)."""
COMPONENT_ACCOUNTS = {
    "operator": names.OPERATOR_ACCOUNT,
    "node": names.NODE_ACCOUNT,
    "webhook": names.WEBHOOK_ACCOUNT,
}


def crd_manifests() -> list[dict[str, Any]]:
    """Kuorum's CRDs, generated from the resource models."""
    return models.crds()


def apply_crds(
    api: client.ApiClient, manifests: Iterable[dict[str, Any]], *, timeout: float = 60.0
) -> None:
    """Create or replace the CRDs and wait until the apiserver serves each of them."""
    extensions = client.ApiextensionsV1Api(api)
    wanted = []
    for manifest in manifests:
        name = manifest["metadata"]["name"]
        wanted.append(name)
        body: Any = manifest
        try:
            current = extensions.read_custom_resource_definition(name)
        except client.ApiException as error:
            if error.status != 404:
                raise
            extensions.create_custom_resource_definition(body)
            continue
        version = current.metadata.resource_version if current.metadata else None
        body = dict(manifest, metadata=dict(manifest["metadata"], resourceVersion=version))
        extensions.replace_custom_resource_definition(name, body)

    def established() -> bool:
        for name in wanted:
            crd = extensions.read_custom_resource_definition(name)
            conditions = (crd.status and crd.status.conditions) or []
            if not any(c.type == "Established" and c.status == "True" for c in conditions):
                return False
        return True

    wait_until(established, timeout=timeout, what="CRDs " + ", ".join(wanted))


def ensure_namespace(api: client.ApiClient, name: str) -> None:
    """Create the namespace if it does not exist."""
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    try:
        client.CoreV1Api(api).create_namespace(body)
    except client.ApiException as error:
        if error.status != 409:
            raise


def rbac_rules(component: str) -> dict[str, list[dict[str, Any]]]:
    """Return ``{clusterRules, namespaceRules, servedRules}`` of a component, as the chart
    grants them by default: served rules cluster-wide, so ``clusterRules`` includes them."""
    data = yaml.safe_load((RBAC_DIRECTORY / f"{component}.yaml").read_text()) or {}
    served = data.get("servedRules") or []
    return {
        "clusterRules": (data.get("clusterRules") or []) + served,
        "namespaceRules": data.get("namespaceRules") or [],
        "servedRules": served,
    }


def admission_policies(component: str, namespace: str) -> list[dict[str, Any]]:
    """The component's ValidatingAdmissionPolicies and bindings, as the chart renders them."""
    path = POLICY_DIRECTORY / f"{component}.yaml"
    if not path.exists():
        return []
    text = path.read_text().replace(NAMESPACE_PLACEHOLDER, namespace)
    return [document for document in yaml.safe_load_all(text) if document]


def apply_admission_policies(
    api: client.ApiClient, manifests: Sequence[dict[str, Any]], *, timeout: float = 30.0
) -> None:
    """Create or replace policies and bindings; return once the apiserver enforces them
    (and raise if it found type errors in one).

    The apiserver has no status for "enforced": a probe policy is re-applied with a fresh
    nonce after the others, and a dry-run ConfigMap is created until the apiserver
    refuses it with that nonce, so both of its informers (policies, bindings) have seen
    everything applied before.
    """
    admission: Any = client.AdmissionregistrationV1Api(api)
    nonce = uuid.uuid4().hex[:16]
    for manifest in [*manifests, *_probe(nonce)]:
        name = manifest["metadata"]["name"]
        if manifest["kind"] == "ValidatingAdmissionPolicy":
            create, patch = (
                admission.create_validating_admission_policy,
                admission.patch_validating_admission_policy,
            )
        else:
            create, patch = (
                admission.create_validating_admission_policy_binding,
                admission.patch_validating_admission_policy_binding,
            )
        _create_or_replace(
            functools.partial(create, manifest), functools.partial(patch, name, manifest)
        )
    core = client.CoreV1Api(api)
    probe: Any = {"metadata": {"generateName": PROBE + "-", "labels": {PROBE_LABEL: nonce}}}

    def enforced() -> bool:
        try:
            core.create_namespaced_config_map("default", probe, dry_run="All")
        except client.ApiException as error:
            if error.status == 403 and nonce in str(error.body):
                return True
            if error.status != 403:
                raise
        return False

    wait_until(enforced, timeout=timeout, what="the apiserver enforcing the admission policies")
    for manifest in manifests:
        if manifest["kind"] == "ValidatingAdmissionPolicy":
            status = admission.read_validating_admission_policy(manifest["metadata"]["name"]).status
            warnings = status and status.type_checking and status.type_checking.expression_warnings
            if warnings:
                raise RuntimeError(f"policy {manifest['metadata']['name']}: {warnings}")


PROBE = "kuorum-policy-probe"
PROBE_LABEL = "kuorum.io/policy-probe"


def _probe(nonce: str) -> list[dict[str, Any]]:
    """A policy that refuses only dry-run ConfigMaps labelled with ``nonce``."""
    api_version = "admissionregistration.k8s.io/v1"
    return [
        {
            "apiVersion": api_version,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": PROBE},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["configmaps"],
                        }
                    ]
                },
                "validations": [
                    {"expression": "false", "message": f"probe {nonce}", "reason": "Forbidden"}
                ],
            },
        },
        {
            "apiVersion": api_version,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": PROBE},
            "spec": {
                "policyName": PROBE,
                "validationActions": ["Deny"],
                "matchResources": {"objectSelector": {"matchLabels": {PROBE_LABEL: nonce}}},
            },
        },
    ]


def grant_component(
    api: client.ApiClient, component: str, namespace: str = names.SYSTEM_NAMESPACE
) -> str:
    """Create the component's ServiceAccount, bind its rules and apply its admission
    policies; return the account name."""
    account = COMPONENT_ACCOUNTS[component]
    rules = rbac_rules(component)
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    account_body: Any = {"metadata": {"name": account}}
    _create_or_replace(
        lambda: core.create_namespaced_service_account(namespace, account_body), None
    )
    subject: Any = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    if rules["clusterRules"]:
        grant_cluster_role(api, account, rules["clusterRules"], subject)
    if rules["namespaceRules"]:
        role: Any = {"metadata": {"name": account}, "rules": rules["namespaceRules"]}
        _create_or_replace(
            lambda: rbac.create_namespaced_role(namespace, role),
            lambda: rbac.replace_namespaced_role(account, namespace, role),
        )
        binding: Any = {
            "metadata": {"name": account},
            "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        }
        _create_or_replace(
            lambda: rbac.create_namespaced_role_binding(namespace, binding),
            lambda: rbac.replace_namespaced_role_binding(account, namespace, binding),
        )
    apply_admission_policies(api, admission_policies(component, namespace))
    return account


def grant_cluster_role(
    api: client.ApiClient, name: str, rules: list[Any], subjects: list[Any]
) -> None:
    """Create or replace ClusterRole ``name`` with ``rules``, bound to ``subjects``."""
    rbac = client.RbacAuthorizationV1Api(api)
    role: Any = {"metadata": {"name": name}, "rules": rules}
    _create_or_replace(
        lambda: rbac.create_cluster_role(role), lambda: rbac.replace_cluster_role(name, role)
    )
    binding: Any = {
        "metadata": {"name": name},
        "subjects": subjects,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
    }
    _create_or_replace(
        lambda: rbac.create_cluster_role_binding(binding),
        lambda: rbac.replace_cluster_role_binding(name, binding),
    )


def _create_or_replace(create: Any, replace: Any) -> None:
    try:
        create()
    except client.ApiException as error:
        if error.status != 409:
            raise
        if replace is not None:
            replace()
