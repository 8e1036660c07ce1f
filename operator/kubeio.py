"""The operator's few Kubernetes calls: status patches and the Secrets it owns.

Blocking client calls run in a thread so kopf's event loop keeps serving other
objects. The operator writes only ``status`` of a DecentralizedSecret (never ``spec``:
no GitOps drift) and only Secrets it owns: every Secret it creates names its source
DecentralizedSecret by uid (label ``kuorum.io/source-uid``), it creates a target only
where none exists, and it updates or deletes one only when that label is there, with the
read uid and resourceVersion as preconditions. A foreign Secret of the same name is never
touched (:class:`TargetConflict`). The apiserver enforces the same from its side
(``charts/kuorum/files/policies/operator.yaml``).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from kuorum import names
from kuorum.errors import KuorumError

MERGE_PATCH = "application/merge-patch+json"
SOURCE_LABEL = "kuorum.io/source"
"""On copies in other namespaces: ``NAMESPACE.NAME`` of the DecentralizedSecret."""
SOURCE_UID_LABEL = "kuorum.io/source-uid"
"""On every Secret the operator writes: the uid of its DecentralizedSecret (ownership)."""


class TargetConflict(KuorumError):
    """A Secret of the target's name exists and was not made for this DecentralizedSecret."""

    def __init__(self, namespace: str, name: str) -> None:
        super().__init__(f"{namespace}/{name}")
        self.namespace = namespace
        self.name = name


@dataclass(frozen=True)
class Target:
    """What holds a target's name in one namespace: nothing, our copy, or someone else's."""

    exists: bool
    owned: bool
    version: int | None


def _owned(secret: Any, uid: str) -> bool:
    metadata = secret.metadata
    labels = (metadata and metadata.labels) or {}
    return labels.get(names.MANAGED_BY_LABEL) == names.MANAGED_BY and (
        labels.get(SOURCE_UID_LABEL) == uid
        or any(ref.uid == uid for ref in (metadata.owner_references or ()))
    )


def _preconditions(secret: Any) -> client.V1DeleteOptions:
    return client.V1DeleteOptions(
        preconditions=client.V1Preconditions(
            uid=secret.metadata.uid, resource_version=secret.metadata.resource_version
        )
    )


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

    async def namespace_uid(self, namespace: str) -> str | None:
        """The uid of a namespace, or None when it does not exist."""
        try:
            found = await asyncio.to_thread(self._core.read_namespace, namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        uid = found.metadata.uid if found.metadata else None
        return str(uid) if uid else None

    async def read_secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """The decoded data of a Secret, or None when it does not exist."""
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        return {key: base64.b64decode(value) for key, value in (secret.data or {}).items()}

    async def _read(self, namespace: str, name: str) -> Any:
        try:
            return await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise

    async def target(self, namespace: str, name: str, uid: str) -> Target:
        """Who holds the target name ``namespace/name``, and the version our copy carries."""
        secret = await self._read(namespace, name)
        if secret is None:
            return Target(exists=False, owned=False, version=None)
        if not _owned(secret, uid):
            return Target(exists=True, owned=False, version=None)
        value = (secret.metadata.annotations or {}).get(names.VERSION_ANNOTATION, "")
        return Target(exists=True, owned=True, version=int(value) if value.isdigit() else None)

    async def write_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, bytes],
        *,
        secret_type: str,
        version: int,
        uid: str,
        labels: Mapping[str, str],
        owner: Mapping[str, Any] | None,
    ) -> None:
        """Create the Secret carrying ``version``, or replace our own copy (never another's:
        :class:`TargetConflict`); a copy changed since it was read fails, for the next tick."""
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "labels": {
                names.MANAGED_BY_LABEL: names.MANAGED_BY,
                SOURCE_UID_LABEL: uid,
                **labels,
            },
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
            return
        except client.ApiException as error:
            if error.status != 409:
                raise
        existing = await self._read(namespace, name)
        if existing is None or not _owned(existing, uid):
            raise TargetConflict(namespace, name)
        metadata.update(
            uid=existing.metadata.uid, resourceVersion=existing.metadata.resource_version
        )
        await asyncio.to_thread(self._core.replace_namespaced_secret, name, namespace, body)

    async def delete_copy(self, namespace: str, name: str, uid: str) -> bool:
        """Delete our copy ``namespace/name`` (exactly the one read); False when none is ours."""
        secret = await self._read(namespace, name)
        if secret is None or not _owned(secret, uid):
            return False
        return await self._delete(secret)

    async def delete_imported(self, namespace: str, name: str) -> bool:
        """Delete a ``fromSecret`` source its owner handed over (labelled
        ``app.kubernetes.io/managed-by=kuorum``); False when it is not handed over."""
        secret = await self._read(namespace, name)
        labels = (secret and secret.metadata.labels) or {}
        if secret is None or labels.get(names.MANAGED_BY_LABEL) != names.MANAGED_BY:
            return False
        return await self._delete(secret)

    async def _delete(self, secret: Any) -> bool:
        try:
            await asyncio.to_thread(
                self._core.delete_namespaced_secret,
                secret.metadata.name,
                secret.metadata.namespace,
                body=_preconditions(secret),
            )
        except client.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True
