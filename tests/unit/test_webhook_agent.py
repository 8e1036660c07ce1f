"""Delivery Pod at admission: the agent sidecar, memory volumes and per-node tokens."""

from __future__ import annotations

from typing import Any

import pytest
from test_webhook_patch import apply, pod
from webhook_objects import dsec

from kuorum import names
from kuorum.agentconfig import ENV_VAR, TOKENS_DIR, AgentConfig, AgentNode
from kuorum.webhook.admission import Admission, Result
from kuorum.webhook.agent import CONTAINER, TOKENS_VOLUME
from kuorum.webhook.cache import SecretCache
from kuorum.webhook.review import AdmissionRequest

NODES = {n: AgentNode(n, f"https://{n}:8443", "PEM", bytes(32)) for n in ("a", "b", "c")}
IMAGE = "kuorum:test"


def admission(*objects: dict[str, Any], image: str = IMAGE) -> Admission:
    cache = SecretCache()
    cache.replace_all(list(objects))
    return Admission(cache.lookup, nodes=NODES.get, agent_image=image)


def request(annotations: dict[str, str], **spec: Any) -> AdmissionRequest:
    body = pod(annotations, **spec)
    body["metadata"]["labels"] = {names.INJECT_LABEL: "true"}
    return AdmissionRequest("uid-1", "CREATE", "Pod", "ns", body)


POD_SECRET = dsec("db", 1, delivery="Pod", nodes=("a", "b", "c", "gone"))


def admitted(decision: Any, original: AdmissionRequest) -> dict[str, Any]:
    assert decision.result == Result.INJECTED, decision.review
    import base64
    import json

    ops = json.loads(base64.b64decode(decision.review["response"]["patch"]))
    return apply(dict(original.pod), ops)


def test_a_pod_mode_volume_is_memory_filled_by_the_agent_with_one_token_per_node() -> None:
    wanted = request({names.VOLUME_ANNOTATION: "db=/etc/db"}, securityContext={"fsGroup": 2000})
    webhook = admission(POD_SECRET)
    patched = admitted(webhook.decide(wanted), wanted)
    spec = patched["spec"]
    agent = spec["initContainers"][0]
    assert agent["name"] == CONTAINER and agent["restartPolicy"] == "Always"
    assert agent["image"] == IMAGE and agent["args"] == ["agent"]
    context = agent["securityContext"]  # Pod Security "restricted", container by container
    assert context["runAsNonRoot"] and not context["allowPrivilegeEscalation"]
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    (volume,) = [v for v in spec["volumes"] if "emptyDir" in v]
    assert volume["emptyDir"]["medium"] == "Memory"
    assert not [v for v in spec["volumes"] if "secret" in v], "no Secret exists to mount"
    for container in spec["containers"]:
        (mount,) = container["volumeMounts"]
        assert mount == {"name": volume["name"], "mountPath": "/etc/db", "readOnly": True}
    (tokens,) = [v for v in spec["volumes"] if v["name"] == TOKENS_VOLUME]
    audiences = {
        s["serviceAccountToken"]["path"]: s["serviceAccountToken"]["audience"]
        for s in tokens["projected"]["sources"]
    }
    assert audiences == {n: names.node_audience(n) for n in ("a", "b", "c")}
    config = AgentConfig.from_json(agent["env"][0]["value"])
    assert agent["env"][0]["name"] == ENV_VAR
    (secret,) = config.secrets
    assert (secret.namespace, secret.name) == ("ns", "db")
    assert [n.name for n in secret.nodes] == ["a", "b", "c"], "an unknown ShareNode is left out"
    assert config.tokens == TOKENS_DIR and config.group == 2000
    mounts = {m["name"]: m["mountPath"] for m in agent["volumeMounts"]}
    assert mounts[volume["name"]] == secret.directory
    assert secret.directory in agent["startupProbe"]["exec"]["command"][-1]

    patched["spec"]["initContainers"][0]["volumeMounts"].append(
        {"name": "kube-api-access-x", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    )  # what the apiserver's ServiceAccount admission adds before calling us again
    again = AdmissionRequest("uid-2", "CREATE", "Pod", "ns", patched)
    assert webhook.decide(again).result == Result.UNCHANGED, "reinvocation adds nothing"
    patched["metadata"]["annotations"][names.INIT_CONTAINERS_ANNOTATION] = "*"
    every = AdmissionRequest("uid-3", "CREATE", "Pod", "ns", patched)
    assert webhook.decide(every).result == Result.UNCHANGED, "the agent gets no app mounts"


@pytest.mark.parametrize(
    ("annotations", "said"),
    [
        ({names.ENV_ANNOTATION: "db"}, "never as environment variables"),
        ({names.VOLUME_ANNOTATION: "db(password)=/etc/db"}, "drop the (key, ...) list"),
    ],
)
def test_what_a_pod_mode_secret_cannot_do_is_refused_with_the_fix(
    annotations: dict[str, str], said: str
) -> None:
    decision = admission(POD_SECRET).decide(request(annotations))
    assert decision.result == Result.DENIED
    assert said in decision.review["response"]["status"]["message"]


def test_without_an_agent_image_or_known_nodes_a_pod_mode_pod_is_refused() -> None:
    wanted = request({names.VOLUME_ANNOTATION: "db"})
    no_image = admission(POD_SECRET, image="").decide(wanted)
    assert "--agent-image" in no_image.review["response"]["status"]["message"]
    unknown = admission(dsec("db", 1, delivery="Pod", nodes=("x",))).decide(wanted)
    assert "none of its share nodes (x)" in unknown.review["response"]["status"]["message"]


def test_a_secret_mode_pod_gets_no_agent() -> None:
    wanted = request({names.VOLUME_ANNOTATION: "db"})
    patched = admitted(admission(dsec("db", 1)).decide(wanted), wanted)
    assert "initContainers" not in patched["spec"]
    assert [v["secret"]["secretName"] for v in patched["spec"]["volumes"]] == ["db"]
