"""Turn an InjectionRequest into a JSON patch (RFC 6902) for one pod.

The patch only adds references: ``env[].valueFrom.secretKeyRef``, ``envFrom[].secretRef``
and ``secret`` volumes naming the materialized target Secret. It never carries a secret
value, so neither the stored pod nor the audit log can leak one.

It is idempotent: the apiserver may call the webhook again on the already patched pod
(``reinvocationPolicy: IfNeeded``); every element already present is skipped, so the
second answer is an empty patch. An element present with other content is a conflict
and denies the pod instead of silently shadowing the user's own setting.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kuorum import names
from kuorum.webhook import agent
from kuorum.webhook.annotations import ALL, InjectionRequest, SecretRef, VolumeSource
from kuorum.webhook.covers import covers
from kuorum.webhook.denials import AnnotationError, ConflictError

JsonPatch = list[dict[str, Any]]

VOLUME_PREFIX = "kuorum-"
_VOLUME_NAME_ROOM = 63 - len(VOLUME_PREFIX) - 9  # room left for "-<8 hex>"

MISSING_CONTAINER = (
    "pod annotation {annotation} names container {container!r}, which the pod does not "
    "have; its {field} are: {present}. Fix the annotation"
)
CONFLICT = (
    "pod container {container!r} already has {what} {item!r} with other content than "
    "Kuorum injects for annotation {annotation}; rename the container's {what} or change "
    "the annotation"
)
VOLUME_CONFLICT = (
    "pod already has a volume named {item!r} that differs from the one Kuorum injects "
    "for {purpose}; rename the pod's volume"
)


def volume_name(secret: SecretRef, pod_namespace: str) -> str:
    """A stable DNS-label volume name for a secret: readable, and unique by a hash."""
    namespace, name = secret.resolve(pod_namespace)
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
    readable = re.sub(r"[^a-z0-9-]", "-", name)[:_VOLUME_NAME_ROOM].strip("-")
    return f"{VOLUME_PREFIX}{readable}-{digest}"


def build(
    pod: Mapping[str, Any],
    request: InjectionRequest,
    targets: Mapping[SecretRef, str],
    *,
    namespace: str,
    delivered: agent.Delivered | None = None,
    agent_image: str = "",
) -> JsonPatch:
    """Return the ops that add what ``request`` asks for; ``[]`` when all is present.

    ``targets`` maps each named secret to the name of its target Secret in ``namespace``
    (the pod's namespace); secrets in ``delivered`` (delivery Pod) have no Secret: their
    volume is filled by the agent, which is added with ``agent_image``.
    """
    delivered = delivered or {}
    spec = pod.get("spec") or {}
    patch: JsonPatch = []
    env, env_from = _env_entries(request, targets)
    mounts = [_mount(source, namespace) for source in request.volumes]
    for field, wanted in (
        ("containers", request.containers),
        ("initContainers", request.init_containers),
    ):
        containers: Sequence[Mapping[str, Any]] = spec.get(field) or []
        for index in _selected(containers, wanted, field):
            container = containers[index]
            if container.get("name") == agent.CONTAINER:  # it mounts what it fills itself
                continue
            path = f"/spec/{field}/{index}"
            label = str(container.get("name"))
            patch += _add_named(
                container, path, "env", env, label, "variable", names.ENV_ANNOTATION
            )
            patch += _add_unique(container, path, "envFrom", env_from)
            _refuse_taken_paths(container, mounts, label)
            patch += _add_named(
                container,
                path,
                "volumeMounts",
                mounts,
                label,
                "volume mount",
                names.VOLUME_ANNOTATION,
            )
    volumes = [_volume(source, targets, namespace, delivered) for source in request.volumes]
    purposes = [f"DecentralizedSecret {s.secret.resolve(namespace)}" for s in request.volumes]
    named = [(s, volume["name"]) for s, volume in zip(request.volumes, volumes, strict=True)]
    sidecar = agent.sidecar(pod, named, delivered, namespace=namespace, image=agent_image)
    if sidecar is not None:
        volumes.append(sidecar.tokens)
        purposes.append("the kuorum agent's tokens")
    patch += _add_volumes(spec, volumes, purposes)
    patch += _mark(pod, request, namespace)
    if sidecar is not None:
        patch += agent.add_container(spec, sidecar.container)
    return patch


def _env_entries(
    request: InjectionRequest, targets: Mapping[SecretRef, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    env: list[dict[str, Any]] = []
    env_from: list[dict[str, Any]] = []
    for source in request.env:
        secret_name = targets[source.secret]
        if not source.items:
            entry: dict[str, Any] = {"secretRef": {"name": secret_name}}
            if request.env_prefix:
                entry["prefix"] = request.env_prefix
            env_from.append(entry)
        env += [
            {
                "name": f"{request.env_prefix}{item.target}",
                "valueFrom": {"secretKeyRef": {"name": secret_name, "key": item.key}},
            }
            for item in source.items
        ]
    _refuse_duplicate_variables(env)
    return env, env_from


def _refuse_duplicate_variables(env: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for entry in env:
        if entry["name"] in seen:
            raise AnnotationError(
                f"pod annotation {names.ENV_ANNOTATION} maps two keys to variable "
                f"{entry['name']!r}; give each key its own variable name"
            )
        seen.add(entry["name"])


def _mount(source: VolumeSource, namespace: str) -> dict[str, Any]:
    return {
        "name": volume_name(source.secret, namespace),
        "mountPath": source.mount_path,
        "readOnly": True,
    }


def _volume(
    source: VolumeSource,
    targets: Mapping[SecretRef, str],
    namespace: str,
    delivered: agent.Delivered,
) -> dict[str, Any]:
    if source.secret in delivered:
        return agent.memory_volume(volume_name(source.secret, namespace))
    secret: dict[str, Any] = {"secretName": targets[source.secret]}
    if source.items:
        secret["items"] = [{"key": item.key, "path": item.target} for item in source.items]
    return {"name": volume_name(source.secret, namespace), "secret": secret}


def _selected(
    containers: Sequence[Mapping[str, Any]], wanted: tuple[str, ...], field: str
) -> list[int]:
    present = [str(container.get("name")) for container in containers]
    if wanted == (ALL,):
        return list(range(len(containers)))
    annotation = (
        names.CONTAINERS_ANNOTATION if field == "containers" else names.INIT_CONTAINERS_ANNOTATION
    )
    for name in wanted:
        if name not in present:
            raise AnnotationError(
                MISSING_CONTAINER.format(
                    annotation=annotation,
                    container=name,
                    field=field,
                    present=", ".join(present) or "none",
                )
            )
    return [present.index(name) for name in wanted]


def _add_named(
    container: Mapping[str, Any],
    path: str,
    field: str,
    wanted: list[dict[str, Any]],
    label: str,
    what: str,
    source: str,
) -> JsonPatch:
    """Add entries identified by ``name``; the same content again is skipped."""
    existing = {entry.get("name"): entry for entry in container.get(field) or []}
    missing = []
    for entry in wanted:
        current = existing.get(entry["name"])
        if current is None:
            missing.append(entry)
        elif not covers(current, entry):
            raise ConflictError(
                CONFLICT.format(container=label, what=what, item=entry["name"], annotation=source)
            )
    return _append(container, path, field, missing)


def _add_unique(
    container: Mapping[str, Any], path: str, field: str, wanted: list[dict[str, Any]]
) -> JsonPatch:
    """Add entries that have no name (envFrom) unless an equal one is present."""
    existing = container.get(field) or []
    missing = [entry for entry in wanted if not any(covers(e, entry) for e in existing)]
    return _append(container, path, field, missing)


def _refuse_taken_paths(
    container: Mapping[str, Any], mounts: list[dict[str, Any]], label: str
) -> None:
    for current in container.get("volumeMounts") or []:
        for mount in mounts:
            if (
                current.get("mountPath") == mount["mountPath"]
                and current.get("name") != mount["name"]
            ):
                raise ConflictError(
                    f"pod container {label!r} already mounts volume {current.get('name')!r} at "
                    f"{mount['mountPath']!r}, where annotation {names.VOLUME_ANNOTATION} puts a "
                    "secret; choose another path with '=/path' in the annotation"
                )


def _add_volumes(
    spec: Mapping[str, Any], volumes: list[dict[str, Any]], purposes: list[str]
) -> JsonPatch:
    existing = {volume.get("name"): volume for volume in spec.get("volumes") or []}
    missing = []
    for volume, purpose in zip(volumes, purposes, strict=True):
        current = existing.get(volume["name"])
        if current is None:
            missing.append(volume)
        elif not covers(current, volume):
            raise ConflictError(VOLUME_CONFLICT.format(item=volume["name"], purpose=purpose))
    return _append(spec, "/spec", "volumes", missing)


def _mark(pod: Mapping[str, Any], request: InjectionRequest, namespace: str) -> JsonPatch:
    """Record which secrets were injected, so repair can tell injected pods apart."""
    value = ",".join("/".join(ref.resolve(namespace)) for ref in request.secrets())
    annotations = (pod.get("metadata") or {}).get("annotations")
    if annotations is None:
        return [
            {
                "op": "add",
                "path": "/metadata/annotations",
                "value": {names.INJECTED_ANNOTATION: value},
            }
        ]
    if annotations.get(names.INJECTED_ANNOTATION) == value:
        return []
    key = names.INJECTED_ANNOTATION.replace("~", "~0").replace("/", "~1")
    return [{"op": "add", "path": f"/metadata/annotations/{key}", "value": value}]


def _append(
    parent: Mapping[str, Any], path: str, field: str, entries: list[dict[str, Any]]
) -> JsonPatch:
    if not entries:
        return []
    if parent.get(field) is None:
        return [{"op": "add", "path": f"{path}/{field}", "value": entries}]
    return [{"op": "add", "path": f"{path}/{field}/-", "value": entry} for entry in entries]
