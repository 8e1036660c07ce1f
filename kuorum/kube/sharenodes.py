"""Read and write ShareNode objects (cluster-scoped ``kuorum.io`` custom resources).

Share nodes register themselves and report health here; peers, the operator and
``kuorum ledger verify`` discover endpoints, keys and TLS certificates from here.
Blocking calls: run them in a thread from async code.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kuorum import names


def _api(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def list_share_nodes(api: client.ApiClient) -> list[dict[str, Any]]:
    """Every ShareNode in the cluster, sorted by name."""
    result: dict[str, Any] = _api(api).list_cluster_custom_object(  # type: ignore[assignment]
        names.GROUP, names.VERSION, names.NODE_PLURAL
    )
    items: list[dict[str, Any]] = result.get("items", [])
    return sorted(items, key=lambda item: str(item["metadata"]["name"]))


ZONE_LABEL = "topology.kubernetes.io/zone"


def get_share_node(api: client.ApiClient, name: str) -> dict[str, Any] | None:
    """The ShareNode ``name``, or None when it does not exist."""
    try:
        found: dict[str, Any] = _api(api).get_cluster_custom_object(  # type: ignore[assignment]
            names.GROUP, names.VERSION, names.NODE_PLURAL, name
        )
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return found


def register_share_node(api: client.ApiClient, name: str, spec: dict[str, Any]) -> None:
    """Create the ShareNode ``name`` with ``spec``, or merge ``spec`` into the existing one.

    The zone is also set as the well-known ``topology.kubernetes.io/zone`` label, so
    ``spec.nodeSelector`` of a DecentralizedSecret can select ShareNodes by zone.
    """
    labels = {names.MANAGED_BY_LABEL: names.MANAGED_BY}
    if spec.get("zone"):
        labels[ZONE_LABEL] = spec["zone"]
    body = {
        "apiVersion": names.API_VERSION,
        "kind": names.NODE_KIND,
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }
    try:
        _api(api).create_cluster_custom_object(names.GROUP, names.VERSION, names.NODE_PLURAL, body)
    except ApiException as error:
        if error.status != 409:
            raise
        _api(api).patch_cluster_custom_object(
            names.GROUP,
            names.VERSION,
            names.NODE_PLURAL,
            name,
            {"metadata": {"labels": labels}, "spec": spec},
        )


def patch_share_node_status(api: client.ApiClient, name: str, status: dict[str, Any]) -> None:
    """Merge ``status`` into the ShareNode's status subresource."""
    _api(api).patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.NODE_PLURAL, name, {"status": status}
    )
