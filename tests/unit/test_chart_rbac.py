"""The RBAC each component gets, stated as a table: anything broader (or missing) fails.

The rule files in ``charts/kuorum/files/rbac/`` are the one source the Helm chart and
``kuorum dev up`` both grant. This table is the review copy: widening a rule means
changing it here too, in the same commit, where a reviewer sees it.
"""

from __future__ import annotations

from typing import Any

import pytest

from kuorum.devenv import install

CLUSTER, NAMESPACE = "cluster", "namespace"

# (scope, apiGroup, resource, verbs, resourceNames) — one row per resource.
EXPECTED: dict[str, list[tuple[str, str, str, str, str]]] = {
    "node": [
        (CLUSTER, "authentication.k8s.io", "tokenreviews", "create", ""),
        (CLUSTER, "kuorum.io", "sharenodes", "get list watch create update patch", ""),
        (CLUSTER, "kuorum.io", "sharenodes/status", "get update patch", ""),
    ],
    "operator": [
        (CLUSTER, "kuorum.io", "decentralizedsecrets", "get list watch patch update", ""),
        (CLUSTER, "kuorum.io", "decentralizedsecrets/status", "patch update", ""),
        (CLUSTER, "kuorum.io", "decentralizedsecrets/finalizers", "patch update", ""),
        (CLUSTER, "kuorum.io", "sharenodes", "get list watch", ""),
        (CLUSTER, "", "secrets", "get create update patch delete", ""),
        (CLUSTER, "", "namespaces", "get", ""),
        (CLUSTER, "kuorum.io", "deliverygrants", "get list watch", ""),
        (CLUSTER, "", "events", "create patch", ""),
        (CLUSTER, "events.k8s.io", "events", "create patch", ""),
        (NAMESPACE, "coordination.k8s.io", "leases", "get create update", ""),
        (NAMESPACE, "", "serviceaccounts/token", "create", "kuorum-operator"),
        (NAMESPACE, "", "configmaps", "get patch", "kuorum-node-pins"),
        (NAMESPACE, "", "configmaps", "create", ""),
    ],
    "webhook": [
        (CLUSTER, "kuorum.io", "decentralizedsecrets", "get list watch", ""),
        (CLUSTER, "kuorum.io", "sharenodes", "get list watch", ""),
        (CLUSTER, "", "pods", "get list watch", ""),
        (CLUSTER, "", "events", "create patch", ""),
        (CLUSTER, "events.k8s.io", "events", "create patch", ""),
        (CLUSTER, "apps", "deployments", "get list patch", ""),
        (CLUSTER, "apps", "statefulsets", "get list patch", ""),
        (CLUSTER, "apps", "daemonsets", "get list patch", ""),
        (
            CLUSTER,
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            "get update patch",
            "kuorum-webhook",
        ),
        (NAMESPACE, "", "secrets", "get create update", ""),
    ],
}

ALLOWED_KEYS = {"apiGroups", "resources", "verbs", "resourceNames"}


def grants(rules: list[dict[str, Any]], scope: str) -> set[tuple[str, str, str, str, str]]:
    """Flatten rules into (scope, group, resource, verb, name) atoms."""
    atoms = set()
    for rule in rules:
        assert set(rule) <= ALLOWED_KEYS, f"unexpected rule keys {set(rule) - ALLOWED_KEYS}"
        names = rule.get("resourceNames") or [""]
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in names:
                        atoms.add((scope, group, resource, verb, name))
    return atoms


def expected_atoms(component: str) -> set[tuple[str, str, str, str, str]]:
    return {
        (scope, group, resource, verb, name)
        for scope, group, resource, verbs, name in EXPECTED[component]
        for verb in verbs.split()
    }


@pytest.mark.parametrize("component", sorted(EXPECTED))
def test_rules_match_the_reviewed_table(component: str) -> None:
    rules = install.rbac_rules(component)
    actual = grants(rules["clusterRules"], CLUSTER) | grants(rules["namespaceRules"], NAMESPACE)
    expected = expected_atoms(component)
    assert not actual - expected, f"{component} is granted more than reviewed: {actual - expected}"
    assert not expected - actual, f"{component} lost grants it needs: {expected - actual}"


@pytest.mark.parametrize("component", sorted(EXPECTED))
def test_no_wildcards_or_escalation_verbs(component: str) -> None:
    rules = install.rbac_rules(component)
    for rule in rules["clusterRules"] + rules["namespaceRules"]:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"{component}: wildcard in {field}: {rule}"
        assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"])
        assert "nonResourceURLs" not in rule


def test_flattening_sees_a_broader_rule() -> None:
    """The comparison itself must notice a widened rule (guards the guard)."""
    wider = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
    assert ("cluster", "", "secrets", "list", "") in grants(wider, CLUSTER)
