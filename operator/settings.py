"""Settings of one operator process, from the command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from kubernetes import client

from kuorum import names


@dataclass(frozen=True)
class OperatorSettings:
    """What the handlers need to know about this process."""

    api: client.ApiClient = field(repr=False)
    namespace: str
    """Namespace of the operator's own ServiceAccount (and of its Lease)."""
    service_account: str
    """The operator's ServiceAccount: tokens for the nodes are minted for it."""
    interval: float
    """Most seconds between two passes over one DecentralizedSecret (and before a failed
    one is tried again)."""
    resync: float
    """Seconds a target Secret's holder is trusted as last read or written."""
    heartbeat_grace: timedelta
    """A ShareNode whose last heartbeat is older than this counts as down."""
    trusted_sealers: frozenset[bytes] | None = None
    """The only Ed25519 keys (raw) sealed sources may be sealed with; None: any."""
    admitted_nodes: frozenset[str] | None = None
    """The only ShareNode names dealt to or collected from (the chart's StatefulSet pods);
    None admits every ShareNode (local development)."""
    served: frozenset[str] | None = None
    """The only namespaces served and written to (``--watch-namespace``); None: all."""

    @property
    def identity(self) -> str:
        """Who the share nodes see calling (the TokenReview username)."""
        return names.service_account_user(self.namespace, self.service_account)
