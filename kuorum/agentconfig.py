"""What the webhook tells ``kuorum agent`` in a pod: which secrets, where, from which nodes.

The webhook writes it as JSON into the agent container's environment
(:data:`ENV_VAR`); the agent reads it back with :meth:`AgentConfig.from_json`. It holds
names, paths, public endpoints, certificates and signing keys only: nothing secret. The
tokens are files of a projected volume, one per node (audience that node), named by node.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kuorum import b64
from kuorum.errors import KuorumError

ENV_VAR = "KUORUM_AGENT_CONFIG"
"""The agent container's environment variable that holds the config."""

TOKENS_DIR = "/var/run/kuorum/tokens"
"""Where the projected per-node tokens are mounted in the agent container (file = node)."""


class InvalidConfig(KuorumError):
    """The agent's config does not parse (names the field)."""


@dataclass(frozen=True)
class AgentNode:
    """A share node as its ShareNode publishes it: where to reach it and what to trust."""

    name: str
    endpoint: str
    certificate: str
    signing_key: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "certificate": self.certificate,
            "signingKey": b64.encode(self.signing_key),
        }

    @classmethod
    def from_json(cls, data: object) -> AgentNode:
        node = _object(data, "nodes[]")
        return cls(
            _text(node, "name"),
            _text(node, "endpoint"),
            _text(node, "certificate"),
            b64.decode(node.get("signingKey"), "field 'signingKey'", InvalidConfig),
        )


@dataclass(frozen=True)
class AgentSecret:
    """One DecentralizedSecret to deliver, the nodes that hold it, and its directory."""

    namespace: str
    name: str
    directory: str
    nodes: tuple[AgentNode, ...]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "directory": self.directory,
            "nodes": [node.to_json() for node in self.nodes],
        }

    @classmethod
    def from_json(cls, data: object) -> AgentSecret:
        secret = _object(data, "secrets[]")
        nodes = secret.get("nodes")
        if not isinstance(nodes, list) or not nodes:
            raise InvalidConfig("field 'nodes' must be a non-empty list")
        return cls(
            _text(secret, "namespace"),
            _text(secret, "name"),
            _text(secret, "directory"),
            tuple(AgentNode.from_json(node) for node in nodes),
        )


@dataclass(frozen=True)
class AgentConfig:
    """Every secret one agent delivers, where its tokens are, and the files' group."""

    secrets: tuple[AgentSecret, ...]
    tokens: str = TOKENS_DIR
    group: int | None = None
    """The pod's ``fsGroup``: files are made readable by it (0440) instead of 0400."""

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "secrets": [secret.to_json() for secret in self.secrets],
            "tokens": self.tokens,
        }
        if self.group is not None:
            body["group"] = self.group
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AgentConfig:
        try:
            data = _object(json.loads(text), "config")
        except ValueError as error:
            raise InvalidConfig(f"the agent config is not JSON: {error}") from None
        secrets = data.get("secrets")
        if not isinstance(secrets, list) or not secrets:
            raise InvalidConfig("field 'secrets' must be a non-empty list")
        group = data.get("group")
        if group is not None and (not isinstance(group, int) or isinstance(group, bool)):
            raise InvalidConfig("field 'group' must be an integer (the pod's fsGroup)")
        return cls(
            tuple(AgentSecret.from_json(secret) for secret in secrets),
            _text(data, "tokens"),
            group,
        )


def _object(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidConfig(f"{what} must be a JSON object")
    return data


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidConfig(f"field {key!r} must be a non-empty string")
    return value


def nodes_of(secrets: Sequence[AgentSecret]) -> list[str]:
    """Every node any of ``secrets`` needs a token for, once each, sorted."""
    return sorted({node.name for secret in secrets for node in secret.nodes})
