"""Settings of one share node, from the ``kuorum node`` command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kuorum import names

DEFAULT_OPERATOR_IDENTITY = names.OPERATOR_USER
"""The operator identity a node accepts unless told otherwise (the chart's defaults)."""

DEFAULT_NODE_IDENTITY = names.service_account_user(names.SYSTEM_NAMESPACE, names.NODE_ACCOUNT)
"""The identity of share nodes (their pods' tokens), as the chart's defaults name it."""

DEFAULT_TOKEN_CACHE_SECONDS = 5.0
"""Longest a positive TokenReview is trusted without asking again: how long a token of a
deleted ServiceAccount (or pod) may still be served."""


@dataclass(frozen=True)
class NodeSettings:
    """Everything a node needs to start; times are in seconds."""

    name: str
    """ShareNode name; also the ledger origin suffix ``kuorum.io/node/<name>``."""
    data_dir: Path
    """Keys, TLS certificate and the SQLite database (mode 0700, files 0600)."""
    host: str
    port: int
    endpoint: str
    """The URL peers and the operator dial, published in the ShareNode."""
    zone: str
    kubeconfig: Path | None
    operator_identity: str
    """The only identity allowed to store, release and destroy shares."""
    node_identity: str
    """The identity of share nodes: a pod of it may submit its own log's checkpoints."""
    peer_tokens: Path | None
    """Per peer, a file named like the peer with a token for its audience."""
    kem: str
    """HPKE KEM of the node's encryption key: ``MLKEM768_X25519`` or ``X25519``."""
    tls_sans: tuple[str, ...]
    witness_interval: float
    heartbeat_interval: float
    token_cache_seconds: float
    unsafe_corrupt_releases: bool = False
    """Fault drills only: release shares that fail verification (a lying node)."""

    @property
    def origin(self) -> str:
        """The C2SP origin line of this node's ledger checkpoints."""
        return names.ledger_origin(self.name)
