"""Build Kubernetes API clients the same way in every component.

In a pod the service-account credentials are used; elsewhere (``kuorum dev up``, tests,
the CLI) an explicit kubeconfig path wins over ``$KUBECONFIG`` and ``~/.kube/config``.
"""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes import client, config

from kuorum.errors import UserError

IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def api_client(
    kubeconfig: str | os.PathLike[str] | None = None, *, connections: int | None = None
) -> client.ApiClient:
    """Return an API client from ``kubeconfig``, ``$KUBECONFIG``, in-cluster, or ~/.kube,
    keeping up to ``connections`` connections open (default: the client's, 5 per core)."""
    configuration = client.Configuration()
    if connections is not None:
        configuration.connection_pool_maxsize = connections
    path = kubeconfig or os.environ.get("KUBECONFIG")
    try:
        if path:
            config.load_kube_config(config_file=str(path), client_configuration=configuration)
        elif IN_CLUSTER_TOKEN.exists():
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(client_configuration=configuration)
    except (config.ConfigException, FileNotFoundError) as error:
        raise UserError(
            f"cannot load Kubernetes credentials from {path or '~/.kube/config'}: {error}; "
            "pass --kubeconfig or set KUBECONFIG"
        ) from error
    return client.ApiClient(configuration)
