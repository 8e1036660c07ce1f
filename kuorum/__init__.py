"""Kuorum: decentralized secrets management for Kubernetes.

The core (sharing, envelope, ledger, models, policy) is pure and has no Kubernetes
I/O; the components (`kuorum.node`, `kuorum.operator`, `kuorum.webhook`) build on it.
"""

__version__ = "0.1.0"
