"""The operator's few Kubernetes calls: status patches and the Secrets it owns.

Blocking client calls run on the operator's own pool of :data:`THREADS` threads (the
client's connection pool is as large), so kopf's event loop keeps serving other objects
and a thousand reconciliations are not queued behind asyncio's few default threads.
Responses are read as JSON, not as the client's models: what the operator needs of a
Secret is a few fields, and building models costs more than the round trip.

What holds each target name is remembered for ``resync`` seconds after it was read or
written (:meth:`KubeIO.target`): a pass of an unchanged secret makes no API call. The
cost is that a target Secret deleted or changed by someone else is noticed only then.

The operator writes only ``status`` of a DecentralizedSecret (never ``spec``:
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
import functools
import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
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
THREADS = 32
"""Concurrent API calls of the operator: its threads and its client's connections."""


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


Secret = Mapping[str, Any]
"""A Secret as the apiserver returns it (JSON)."""


def _labels(secret: Secret) -> Mapping[str, str]:
    return secret["metadata"].get("labels") or {}


def _owned(secret: Secret, uid: str) -> bool:
    labels, references = _labels(secret), secret["metadata"].get("ownerReferences") or ()
    return labels.get(names.MANAGED_BY_LABEL) == names.MANAGED_BY and (
        labels.get(SOURCE_UID_LABEL) == uid or any(ref.get("uid") == uid for ref in references)
    )


def _preconditions(secret: Secret) -> dict[str, Any]:
    metadata = secret["metadata"]
    return {
        "preconditions": {"uid": metadata["uid"], "resourceVersion": metadata["resourceVersion"]}
    }


class KubeIO:
    """Status and Secret calls of the operator, on one API client."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        resync: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._core = client.CoreV1Api(api)
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="kube")
        self._resync = resync
        self._clock = clock
        self._targets: dict[tuple[str, str], tuple[float, str, Target]] = {}
        """(namespace, name) -> (when to read again, uid asked for, what holds it)."""
        self._sweep_at = 0.0
        self._written: dict[tuple[str, str], list[str]] = {}

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a client method on the pool; its body as JSON (None when it has none)."""
        call = functools.partial(method, *args, _preload_content=False, **kwargs)
        response = await asyncio.get_running_loop().run_in_executor(self._pool, call)
        return json.loads(response.data) if response.data else None

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Merge ``status`` into the object's status (None values delete fields)."""
        body: Any = {"status": dict(status)}
        found = await self._call(
            self._custom.patch_namespaced_custom_object_status,
            names.GROUP,
            names.VERSION,
            namespace,
            names.SECRET_PLURAL,
            name,
            body,
            _content_type=MERGE_PATCH,
        )
        versions = self._written.setdefault((namespace, name), [])
        versions.append(str(found["metadata"]["resourceVersion"]))

    def written(self, namespace: str, name: str) -> list[str]:
        """The resourceVersions the object's status patches returned since last asked,
        oldest first: what tells the operator's own writes from later changes."""
        return self._written.pop((namespace, name), [])

    async def decentralized_secret(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The DecentralizedSecret as the apiserver has it now, or None when it is gone."""
        found: Mapping[str, Any] | None = await self._get(
            self._custom.get_namespaced_custom_object,
            names.GROUP,
            names.VERSION,
            namespace,
            names.SECRET_PLURAL,
            name,
        )
        return found

    async def namespace_uid(self, namespace: str) -> str | None:
        """The uid of a namespace, or None when it does not exist."""
        found = await self._get(self._core.read_namespace, namespace)
        uid = found and found["metadata"].get("uid")
        return str(uid) if uid else None

    async def read_secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """The decoded data of a Secret, or None when it does not exist."""
        secret = await self._read(namespace, name)
        if secret is None:
            return None
        return {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}

    async def _get(self, method: Callable[..., Any], *args: Any) -> Any:
        """An object as JSON, or None when it does not exist."""
        try:
            return await self._call(method, *args)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise

    async def _read(self, namespace: str, name: str) -> Secret | None:
        found: Secret | None = await self._get(self._core.read_namespaced_secret, name, namespace)
        return found

    async def target(self, namespace: str, name: str, uid: str) -> Target:
        """Who holds the target name ``namespace/name``, and the version our copy carries:
        as last read or written, if that was less than ``resync`` seconds ago."""
        key = (namespace, name)
        cached = self._targets.get(key)
        if cached is not None and cached[1] == uid and self._clock() < cached[0]:
            return cached[2]
        secret = await self._read(namespace, name)
        if secret is None:
            found = Target(exists=False, owned=False, version=None)
        elif not _owned(secret, uid):
            found = Target(exists=True, owned=False, version=None)
        else:
            value = (secret["metadata"].get("annotations") or {}).get(names.VERSION_ANNOTATION, "")
            found = Target(exists=True, owned=True, version=int(value) if value.isdigit() else None)
        self._remember(key, uid, found)
        return found

    def _remember(self, key: tuple[str, str], uid: str, target: Target | None) -> None:
        """Remember (or, with None, forget) what holds ``key``; now and then drop what has
        expired, so names of deleted secrets do not pile up."""
        now = self._clock()
        if now >= self._sweep_at:
            self._targets = {k: v for k, v in self._targets.items() if v[0] > now}
            self._sweep_at = now + self._resync
        if target is None:
            self._targets.pop(key, None)
        else:
            self._targets[key] = (now + self._resync, uid, target)

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
        :class:`TargetConflict`); a copy changed since it was read fails, for the next pass."""
        key = (namespace, name)
        self._remember(key, uid, None)  # whatever happens below, read it again next time
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
            await self._call(self._core.create_namespaced_secret, namespace, body)
        except client.ApiException as error:
            if error.status != 409:
                raise
            existing = await self._read(namespace, name)
            if existing is None or not _owned(existing, uid):
                raise TargetConflict(namespace, name) from None
            metadata.update(
                uid=existing["metadata"]["uid"],
                resourceVersion=existing["metadata"]["resourceVersion"],
            )
            await self._call(self._core.replace_namespaced_secret, name, namespace, body)
        self._remember(key, uid, Target(exists=True, owned=True, version=version))

    async def delete_copy(self, namespace: str, name: str, uid: str) -> bool:
        """Delete our copy ``namespace/name`` (exactly the one read); False when none is ours."""
        self._remember((namespace, name), uid, None)
        secret = await self._read(namespace, name)
        if secret is None or not _owned(secret, uid):
            return False
        return await self._delete(secret)

    async def delete_imported(self, namespace: str, name: str) -> bool:
        """Delete a ``fromSecret`` source its owner handed over (labelled
        ``app.kubernetes.io/managed-by=kuorum``); False when it is not handed over."""
        secret = await self._read(namespace, name)
        if secret is None or _labels(secret).get(names.MANAGED_BY_LABEL) != names.MANAGED_BY:
            return False
        return await self._delete(secret)

    async def _delete(self, secret: Secret) -> bool:
        metadata = secret["metadata"]
        try:
            await self._call(
                self._core.delete_namespaced_secret,
                metadata["name"],
                metadata["namespace"],
                body=_preconditions(secret),
            )
        except client.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True
