"""Decoding AdmissionReviews: malformed bodies are refused with the field named."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from kuorum.webhook.review import MalformedReview, allowed, decode, denied


def body(request: Any) -> bytes:
    return json.dumps(
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    ).encode()


def pod_request(pod: Any) -> dict[str, Any]:
    return {
        "uid": "u-1",
        "operation": "CREATE",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "apps",
        "object": pod,
    }


def test_a_pod_create_decodes() -> None:
    pod = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}
    request = decode(body(pod_request(pod)))
    assert (request.uid, request.operation, request.kind, request.namespace) == (
        "u-1",
        "CREATE",
        "Pod",
        "apps",
    )
    assert request.pod == pod


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{", "not JSON"),
        (b"\xff", "not JSON"),
        (b"[]", "body must be an object"),
        (json.dumps({"apiVersion": "v1", "kind": "AdmissionReview"}).encode(), "apiVersion"),
        (body(None), "request must be an object"),
        (body({"uid": 1}), "request.uid"),
        (body({**pod_request({}), "kind": "Pod"}), "request.kind must be an object"),
        (body(pod_request([])), "request.object must be an object"),
        (body(pod_request({"metadata": {"labels": {"a": 1}}})), "labels['a']"),
        (body(pod_request({"spec": {"containers": {}}})), "spec.containers must be a list"),
        (body(pod_request({"spec": {"containers": [{"name": 3}]}})), "containers[].name"),
        (
            body(pod_request({"spec": {"containers": [{"name": "c", "env": [1]}]}})),
            "containers[0].env[] must be an object",
        ),
        (body(pod_request({"spec": {"volumes": "x"}})), "spec.volumes must be a list"),
        (b"[" * 100000, "not JSON"),
    ],
    ids=[
        "truncated",
        "not-utf8",
        "array",
        "wrong-api-version",
        "no-request",
        "uid-type",
        "kind-type",
        "object-type",
        "label-type",
        "containers-type",
        "container-name",
        "env-entry",
        "volumes-type",
        "deep-nesting",
    ],
)
def test_malformed_bodies_name_the_field(raw: bytes, fragment: str) -> None:
    with pytest.raises(MalformedReview) as caught:
        decode(raw)
    assert fragment in str(caught.value)


def test_other_operations_are_not_checked_as_pods() -> None:
    request = decode(body({**pod_request("anything"), "operation": "DELETE"}))
    assert request.pod == {}


def test_answers_carry_uid_patch_and_status() -> None:
    ops = [{"op": "add", "path": "/x", "value": 1}]
    answer = allowed("u", ops)["response"]
    assert answer["allowed"] is True and answer["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(answer["patch"])) == ops
    assert "patch" not in allowed("u", [])["response"]
    refusal = denied("u", 403, "no")["response"]
    assert refusal == {"uid": "u", "allowed": False, "status": {"code": 403, "message": "no"}}
