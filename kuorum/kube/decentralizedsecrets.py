"""Read DecentralizedSecret objects (namespaced ``kuorum.io`` custom resources) from the CLI.

The operator watches them through kopf; the commands that look one up once
(``kuorum status``, ``kuorum seal``) read it here. Blocking calls.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kuorum import names


def get_decentralized_secret(
    api: client.ApiClient, namespace: str, name: str
) -> dict[str, Any] | None:
    """The DecentralizedSecret ``namespace/name``, or None when it does not exist."""
    try:
        found: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(  # type: ignore[assignment]
            names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, name
        )
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return found
