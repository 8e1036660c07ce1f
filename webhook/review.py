"""Decode an AdmissionReview v1 request and encode its answer.

The body comes from the network, so nothing in it is trusted: every field the webhook
reads is checked for type here, once, and a body that does not fit is a
``MalformedReview`` (HTTP 400 with the reason) instead of a crash deeper down.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kuorum.errors import KuorumError

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"
MAX_REASON = 200


class MalformedReview(KuorumError):
    """The body is not an AdmissionReview v1 this webhook can read; says which field."""


@dataclass(frozen=True)
class AdmissionRequest:
    """The parts of ``request`` the webhook uses, checked for type."""

    uid: str
    operation: str
    kind: str
    namespace: str
    pod: Mapping[str, Any]
    """``request.object``; for a Pod, every field the patch reads has been type-checked."""


def decode(body: bytes) -> AdmissionRequest:
    """Parse and check ``body``; raise MalformedReview with the first problem found."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise MalformedReview(f"body is not JSON: {str(error)[:MAX_REASON]}") from None
    review = _mapping(document, "body")
    if review.get("apiVersion") != API_VERSION or review.get("kind") != KIND:
        raise MalformedReview(f"body must be apiVersion {API_VERSION}, kind {KIND}")
    request = _mapping(review.get("request"), "request")
    uid = _string(request.get("uid"), "request.uid")
    operation = _string(request.get("operation"), "request.operation")
    kind = _string(_mapping(request.get("kind"), "request.kind").get("kind"), "request.kind.kind")
    namespace = request.get("namespace", "")
    _string(namespace, "request.namespace", empty=True)
    pod = request.get("object")
    if operation == "CREATE" and kind == "Pod":
        _check_pod(_mapping(pod, "request.object"))
    return AdmissionRequest(
        uid=uid,
        operation=operation,
        kind=kind,
        namespace=namespace,
        pod=pod if isinstance(pod, Mapping) else {},
    )


def allowed(uid: str, patch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An answer admitting the object, with a JSON patch when there is one."""
    response: dict[str, Any] = {"uid": uid, "allowed": True}
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
    return {"apiVersion": API_VERSION, "kind": KIND, "response": response}


def denied(uid: str, code: int, message: str) -> dict[str, Any]:
    """An answer refusing the object; ``message`` reaches whoever created it."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "response": {
            "uid": uid,
            "allowed": False,
            "status": {"code": code, "message": message},
        },
    }


def _check_pod(pod: Mapping[str, Any]) -> None:
    metadata = _mapping(pod.get("metadata", {}), "object.metadata")
    for field in ("labels", "annotations"):
        values = _mapping(metadata.get(field) or {}, f"object.metadata.{field}")
        for key, value in values.items():
            _string(value, f"object.metadata.{field}[{str(key)[:63]!r}]", empty=True)
    spec = _mapping(pod.get("spec", {}), "object.spec")
    _string(spec.get("serviceAccountName", "default"), "object.spec.serviceAccountName", empty=True)
    _named_list(spec.get("volumes"), "object.spec.volumes")
    for field in ("containers", "initContainers"):
        for index, container in enumerate(_named_list(spec.get(field), f"object.spec.{field}")):
            where = f"object.spec.{field}[{index}]"
            _named_list(container.get("env"), f"{where}.env")
            _named_list(container.get("volumeMounts"), f"{where}.volumeMounts")
            for item in _list(container.get("envFrom"), f"{where}.envFrom"):
                _mapping(item, f"{where}.envFrom[]")


def _named_list(value: Any, where: str) -> list[Mapping[str, Any]]:
    items = [_mapping(item, f"{where}[]") for item in _list(value, where)]
    for item in items:
        _string(item.get("name"), f"{where}[].name")
    return items


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedReview(f"{where} must be a list, found {type(value).__name__}")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedReview(f"{where} must be an object, found {type(value).__name__}")
    return value


def _string(value: Any, where: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty):
        raise MalformedReview(f"{where} must be a {'' if empty else 'non-empty '}string")
    return value
