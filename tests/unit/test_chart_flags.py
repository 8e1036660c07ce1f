"""The chart starts each component with flags its own `kuorum` command accepts.

Each container's args are expanded the way the kubelet expands ``$(VAR)`` (from the
container's env, downward-API fields filled with example values) and parsed by the real
CLI parser, then by the component's own settings check where it has one. A renamed or
removed flag fails here, not in a CrashLoopBackOff.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from chartkit import FULL_VALUES, find, render

from kuorum import cli

FIELDS = {
    "metadata.name": {"operator": "kuorum-operator-7d9f-abcde", "webhook": "kuorum-webhook-5c-x"},
    "metadata.namespace": "kuorum-system",
    "metadata.labels['topology.kubernetes.io/zone']": "zone-a",
}
WORKLOADS = {
    "node": ("StatefulSet", "kuorum-node"),
    "operator": ("Deployment", "kuorum-operator"),
    "webhook": ("Deployment", "kuorum-webhook"),
}


def environment(container: dict[str, Any], component: str) -> dict[str, str]:
    env = {}
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
            continue
        field = FIELDS[variable["valueFrom"]["fieldRef"]["fieldPath"]]
        if isinstance(field, dict):
            field = field.get(component, "kuorum-node-0")
        env[variable["name"]] = field
    return env


def expand(argument: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion (an unknown variable stays as written)."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), argument)


def registered(component: str) -> bool:
    for name in cli.COMMAND_MODULES:
        module = importlib.import_module(name)
        if module.__name__ == f"kuorum.{component}.command":
            return True
    return False


@pytest.mark.parametrize("values", ["default", "full"])
@pytest.mark.parametrize("component", sorted(WORKLOADS))
def test_chart_flags_parse_with_the_real_command(component: str, values: str) -> None:
    assert registered(component), f"`kuorum {component}` is missing from the CLI"
    objects = render([FULL_VALUES] if values == "full" else [])
    kind, name = WORKLOADS[component]
    (container,) = find(objects, kind, name)["spec"]["template"]["spec"]["containers"]
    env = environment(container, component)
    argv = [expand(argument, env) for argument in container["args"]]
    assert not [a for a in argv if "$(" in a], f"unexpanded variables in {argv}"
    args = cli.build_parser().parse_args(argv)
    assert args.command == component
    module = importlib.import_module(f"kuorum.{component}.command")
    settings_from = getattr(module, "settings_from", None)
    if settings_from is not None:
        settings_from(args)  # raises UserError on a flag combination the component refuses


def test_node_publishes_its_stable_dns_name() -> None:
    assert registered("node"), "`kuorum node` is missing from the CLI"
    from kuorum.node.command import settings_from

    (container,) = find(render(), "StatefulSet", "kuorum-node")["spec"]["template"]["spec"][
        "containers"
    ]
    env = environment(container, "node")
    args = cli.build_parser().parse_args([expand(a, env) for a in container["args"]])
    settings = settings_from(args)
    assert settings.endpoint == "https://kuorum-node-0.kuorum-node.kuorum-system.svc:8443"
    assert settings.name == "kuorum-node-0"
    assert settings.zone == "zone-a"
    assert settings.operator_identity == "system:serviceaccount:kuorum-system:kuorum-operator"
    assert (settings.host, settings.port) == ("0.0.0.0", 8443)  # noqa: S104
    assert str(settings.data_dir) == "/var/lib/kuorum/data"


def test_helm_test_runs_a_real_command() -> None:
    pod = find(render(), "Pod", "kuorum-ledger-auditor")
    args = cli.build_parser().parse_args(pod["spec"]["containers"][0]["args"])
    assert (args.command, args.func.__module__) == ("ledger", "kuorum.cli.ledger")


def test_operator_admits_exactly_the_statefulsets_pods() -> None:
    objects = render()
    (container,) = find(objects, "Deployment", "kuorum-operator")["spec"]["template"]["spec"][
        "containers"
    ]
    args = cli.build_parser().parse_args(
        [expand(a, environment(container, "operator")) for a in container["args"]]
    )
    replicas = find(objects, "StatefulSet", "kuorum-node")["spec"]["replicas"]
    assert args.admit_nodes.split(",") == [f"kuorum-node-{i}" for i in range(replicas)]


def test_node_pods_get_a_token_per_peer_audience_where_the_flag_says() -> None:
    objects = render()
    spec = find(objects, "StatefulSet", "kuorum-node")["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    args = cli.build_parser().parse_args(
        [expand(a, environment(container, "node")) for a in container["args"]]
    )
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "peer-tokens"]
    assert str(args.peer_tokens) == mount["mountPath"] and mount["readOnly"] is True
    assert args.node_identity == "system:serviceaccount:kuorum-system:kuorum-node"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "peer-tokens"]
    tokens = [s["serviceAccountToken"] for s in volume["projected"]["sources"]]
    peers = [f"kuorum-node-{i}" for i in range(spec["replicas"])]
    assert [(t["audience"], t["path"]) for t in tokens] == [
        (f"kuorum.io/node/{p}", p) for p in peers
    ]


def test_webhook_answers_only_the_apiserver_when_its_client_ca_is_given() -> None:
    (container,) = find(render([FULL_VALUES]), "Deployment", "kuorum-webhook")["spec"]["template"][
        "spec"
    ]["containers"]
    args = cli.build_parser().parse_args(
        [expand(a, environment(container, "webhook")) for a in container["args"]]
    )
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "apiserver-client"]
    assert str(args.client_ca) == f"{mount['mountPath']}/ca.crt"
    assert args.client_name == ["kube-apiserver-webhook-client"]


def test_operator_trusts_exactly_the_configured_sealers() -> None:
    from kuorum.operator.command import trusted_sealers

    (container,) = find(render([FULL_VALUES]), "Deployment", "kuorum-operator")["spec"]["template"][
        "spec"
    ]["containers"]
    args = cli.build_parser().parse_args(
        [expand(a, environment(container, "operator")) for a in container["args"]]
    )
    assert args.trusted_sealer == ["11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]
    keys = trusted_sealers(args.trusted_sealer)
    assert keys is not None and len(next(iter(keys))) == 32
