"""Pod delivery: add ``kuorum agent`` as a native sidecar, with its memory volumes and tokens.

For a DecentralizedSecret with ``spec.delivery: Pod`` no Secret exists to reference.
The pod's volume for it becomes a memory-backed ``emptyDir`` that the agent fills and the
app containers mount read-only; the agent runs as an init container with
``restartPolicy: Always`` (a native sidecar), so app containers start only after its
startup probe saw every secret's files. Its tokens are projected service-account tokens
of the pod's own ServiceAccount, bound to the pod, one per node with that node's audience
and a short life: a node can neither replay one to a peer nor use it after the pod is gone.
The config it gets holds names, paths and public node registrations only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kuorum import names
from kuorum.agentconfig import ENV_VAR, TOKENS_DIR, AgentConfig, AgentNode, AgentSecret, nodes_of
from kuorum.webhook.annotations import SecretRef, VolumeSource
from kuorum.webhook.covers import covers
from kuorum.webhook.denials import ConflictError

CONTAINER = "kuorum-agent"
TOKENS_VOLUME = "kuorum-agent-tokens"
DELIVERY_ROOT = "/var/run/kuorum/secrets"
"""Where the agent container mounts each secret's memory volume (``<root>/<volume>``)."""
TOKEN_SECONDS = 600
"""Life of each projected token (the minimum the apiserver allows); the kubelet renews it."""

RESTRICTED: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The agent's own securityContext: the Pod Security Standard "restricted" holds for it
whatever the pod sets, so a namespace that enforces it still admits the pod (the image
runs as UID 65532)."""

Delivered = Mapping[SecretRef, Sequence[AgentNode]]
"""The delivery-Pod secrets a pod asked for, with the nodes their shares are on."""


def memory_volume(name: str) -> dict[str, Any]:
    """The pod volume of a delivery-Pod secret: memory only, never on the node's disk."""
    return {"name": name, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}


@dataclass(frozen=True)
class Sidecar:
    """The agent container and the volume of its tokens, to add to one pod."""

    container: dict[str, Any]
    tokens: dict[str, Any]


def sidecar(
    pod: Mapping[str, Any],
    volumes: Sequence[tuple[VolumeSource, str]],
    delivered: Delivered,
    *,
    namespace: str,
    image: str,
) -> Sidecar | None:
    """The agent for the pod's delivery-Pod volumes (named), or None when it has none."""
    spec = pod.get("spec") or {}
    filled = [(source, volume) for source, volume in volumes if source.secret in delivered]
    if not filled:
        return None
    secrets = [
        AgentSecret(
            *source.secret.resolve(namespace),
            directory=f"{DELIVERY_ROOT}/{volume}",
            nodes=tuple(delivered[source.secret]),
        )
        for source, volume in filled
    ]
    group = (spec.get("securityContext") or {}).get("fsGroup")
    config = AgentConfig(tuple(secrets), TOKENS_DIR, group if isinstance(group, int) else None)
    container = _container(config, [volume for _, volume in filled], image)
    return Sidecar(container, _tokens(nodes_of(secrets)))


def _container(config: AgentConfig, volumes: Sequence[str], image: str) -> dict[str, Any]:
    probe = " && ".join(f"test -e {secret.directory}/..data" for secret in config.secrets)
    return {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "args": ["agent"],
        "env": [{"name": ENV_VAR, "value": config.to_json()}],
        "volumeMounts": [
            *({"name": v, "mountPath": f"{DELIVERY_ROOT}/{v}"} for v in volumes),
            {"name": TOKENS_VOLUME, "mountPath": TOKENS_DIR, "readOnly": True},
        ],
        "startupProbe": {
            "exec": {"command": ["sh", "-c", probe]},
            "periodSeconds": 1,
            "failureThreshold": 300,
        },
        "resources": {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": RESTRICTED,
    }


def _is_ours(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether ``current`` is the agent we add: the apiserver appends mounts of its own
    (the ServiceAccount's API token) when it calls us again, so mounts count as a set."""
    mounts = current.get("volumeMounts") or []
    rest = {key: value for key, value in wanted.items() if key != "volumeMounts"}
    return covers(current, rest) and all(
        any(covers(mount, w) for mount in mounts) for w in wanted["volumeMounts"]
    )


def _tokens(nodes: Sequence[str]) -> dict[str, Any]:
    sources = [
        {
            "serviceAccountToken": {
                "audience": names.node_audience(node),
                "expirationSeconds": TOKEN_SECONDS,
                "path": node,
            }
        }
        for node in nodes
    ]
    return {"name": TOKENS_VOLUME, "projected": {"sources": sources}}


def add_container(spec: Mapping[str, Any], container: dict[str, Any]) -> list[dict[str, Any]]:
    """The ops that put the agent first among the init containers (so it starts before
    the others, which may read its files); the same again is skipped, another container
    of its name is a conflict."""
    present = spec.get("initContainers")
    current = next((c for c in present or () if c.get("name") == CONTAINER), None)
    if current is not None:
        if _is_ours(current, container):
            return []
        raise ConflictError(
            f"pod already has an init container named {CONTAINER!r} that differs from the "
            "kuorum agent Kuorum injects for delivery Pod; rename it"
        )
    if present is None:
        return [{"op": "add", "path": "/spec/initContainers", "value": [container]}]
    return [{"op": "add", "path": "/spec/initContainers/0", "value": container}]
