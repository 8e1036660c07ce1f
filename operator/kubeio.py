"""The operator's few Kubernetes calls: status patches and the Secrets it owns.

Blocking client calls run in a thread so kopf's event loop keeps serving other
objects. The operator writes only ``status`` of a DecentralizedSecret (never ``spec``:
no GitOps drift) and only Secrets it materializes or was told to import.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any

from kubernetes import client

from kuorum import names

MERGE_PATCH = "application/merge-patch+json"
SOURCE_LABEL = "kuorum.io/source"
"""On copies in other namespaces: ``NAMESPACE.NAME`` of the DecentralizedSecret."""


class KubeIO:
    """Status and Secret calls of the operator, on one API client."""

    def __init__(self, api: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._core = client.CoreV1Api(api)

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Merge ``status`` into the object's status (None values delete fields)."""
        body: Any = {"status": dict(status)}
        await asyncio.to_thread(
            self._custom.patch_namespaced_custom_object_status,
            names.GROUP,
            names.VERSION,
            namespace,
            names.SECRET_PLURAL,
            name,
            body,
            _content_type=MERGE_PATCH,
        )

    async def read_secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """The decoded data of a Secret, or None when it does not exist."""
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        return {key: base64.b64decode(value) for key, value in (secret.data or {}).items()}

    async def secret_version(self, namespace: str, name: str) -> int | None:
        """The Kuorum version a materialized Secret carries, or None."""
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        annotations = (secret.metadata and secret.metadata.annotations) or {}
        value = annotations.get(names.VERSION_ANNOTATION, "")
        return int(value) if value.isdigit() else None

    async def write_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, bytes],
        *,
        secret_type: str,
        version: int,
        labels: Mapping[str, str],
        owner: Mapping[str, Any] | None,
    ) -> None:
        """Create or replace a materialized Secret carrying ``version``."""
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "labels": {names.MANAGED_BY_LABEL: names.MANAGED_BY, **labels},
            "annotations": {names.VERSION_ANNOTATION: str(version)},
        }
        if owner is not None:
            metadata["ownerReferences"] = [dict(owner)]
        body: Any = {
            "metadata": metadata,
            "type": secret_type,
            "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
        }
        try:
            await asyncio.to_thread(self._core.create_namespaced_secret, namespace, body)
        except client.ApiException as error:
            if error.status != 409:
                raise
            await asyncio.to_thread(self._core.replace_namespaced_secret, name, namespace, body)

    async def delete_secret(self, namespace: str, name: str) -> None:
        """Delete a Secret; one that is already gone is fine."""
        try:
            await asyncio.to_thread(self._core.delete_namespaced_secret, name, namespace)
        except client.ApiException as error:
            if error.status != 404:
                raise
