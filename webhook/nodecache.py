"""The share nodes a Pod-delivery agent is pointed at, from a watch of ShareNodes.

A node registers its endpoint, TLS certificate and signing key in its ShareNode, and
cannot rewrite its keys afterwards (a ValidatingAdmissionPolicy holds them); the webhook
passes exactly those to the agent, which trusts nothing else. A ShareNode that does not
parse is left out: a pod then asks the other nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from kuorum.agentconfig import AgentNode
from kuorum.models import InvalidSpec, ShareNode

log = logging.getLogger("kuorum.webhook.nodes")


class NodeCache:
    """ShareNodes by name, as the agent needs them; fed by an Informer."""

    def __init__(self) -> None:
        self._nodes: dict[str, AgentNode] = {}

    def lookup(self, name: str) -> AgentNode | None:
        return self._nodes.get(name)

    def replace_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        self._nodes = dict(filter(None, map(_read, objects)))

    def apply(self, event_type: str, obj: Mapping[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name"))
        read = _read(obj) if event_type != "DELETED" else None
        if read is None:
            self._nodes.pop(name, None)
        else:
            self._nodes[name] = read[1]


def _read(obj: Mapping[str, Any]) -> tuple[str, AgentNode] | None:
    try:
        node = ShareNode.from_object(obj)
    except InvalidSpec as error:
        log.warning("%s; pods are not pointed at it", error)
        return None
    spec = node.spec
    return node.name, AgentNode(node.name, spec.endpoint, spec.tls_certificate, spec.signing_key)
