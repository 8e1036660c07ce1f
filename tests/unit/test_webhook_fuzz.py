"""Fuzz the admission handler: over 10,000 random and mutated bodies, always a sane answer.

The handler is driven directly (``server.answer``, what the aiohttp route calls) to keep
the run fast; then the very same objects serve a real request through the aiohttp app,
proving it still answers correctly afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhook_objects import dsec

from kuorum import names
from kuorum.webhook.admission import Admission
from kuorum.webhook.cache import SecretCache
from kuorum.webhook.metrics import Metrics
from kuorum.webhook.server import REFUSED, answer, create_app
from kuorum.webhook.tls import ClientCertificates

RANDOM_BYTES = 2_500
RANDOM_JSON = 2_500
MUTATED = 4_000
GRAMMAR = 1_500
assert RANDOM_BYTES + RANDOM_JSON + MUTATED + GRAMMAR >= 10_000


def fuzz(examples: int) -> settings:
    """Exactly ``examples`` runs, no deadline (the machine is shared), no example database."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


DENIAL_CODES = {400, 403, 404, 503}

cache = SecretCache()
cache.replace_all(
    [
        dsec("db", 1, namespace="apps", target="db-secret"),
        dsec(
            "api",
            1,
            namespace="apps",
            target="api-secret",
            access={"namespaces": ["apps"], "serviceAccounts": ["web"]},
        ),
        dsec("late", namespace="apps", ready=False),
    ]
)
ADMISSION = Admission(cache.lookup)
METRICS = Metrics()

VALID: dict[str, Any] = {
    "apiVersion": "admission.k8s.io/v1",
    "kind": "AdmissionReview",
    "request": {
        "uid": "fuzz-uid",
        "operation": "CREATE",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "apps",
        "object": {
            "metadata": {
                "name": "p",
                "labels": {names.INJECT_LABEL: "true"},
                "annotations": {
                    names.ENV_ANNOTATION: "db, api(token=TOKEN)",
                    names.VOLUME_ANNOTATION: "db(password)=/etc/db",
                    names.ENV_PREFIX_ANNOTATION: "APP_",
                },
            },
            "spec": {
                "serviceAccountName": "web",
                "containers": [
                    {"name": "app", "env": [{"name": "X", "value": "1"}], "volumeMounts": []},
                    {"name": "side"},
                ],
                "initContainers": [{"name": "init"}],
                "volumes": [{"name": "own", "emptyDir": {}}],
            },
        },
    },
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``document`` (keys and indexes), the root excluded."""
    found: list[tuple[Any, ...]] = []
    children = (
        document.items()
        if isinstance(document, dict)
        else enumerate(document)
        if isinstance(document, list)
        else []
    )
    for key, child in children:
        found.append((*prefix, key))
        found += paths(child, (*prefix, key))
    return found


VALID_PATHS = paths(VALID)


def check(body: bytes) -> None:
    """The handler answers 400 with a reason, or a well-formed AdmissionReview."""
    status, document = answer(ADMISSION, METRICS, body)
    if status == 400:
        assert isinstance(document["error"], str) and document["error"]
        return
    assert status == 200
    response = document["response"]
    assert isinstance(response["uid"], str) and response["uid"]
    if response["allowed"] is False:
        assert response["status"]["code"] in DENIAL_CODES
        assert response["status"]["message"]
        return
    assert response["allowed"] is True
    if "patch" in response:
        ops = json.loads(base64.b64decode(response["patch"]))
        assert ops and all(op["op"] == "add" for op in ops)
        assert all(op["path"].startswith(("/spec/", "/metadata/annotations")) for op in ops)


@fuzz(RANDOM_BYTES)
@given(st.binary(max_size=300))
def test_random_bytes(body: bytes) -> None:
    check(body)


@fuzz(RANDOM_JSON)
@given(json_values)
def test_random_json(value: Any) -> None:
    check(json.dumps(value).encode())


@fuzz(MUTATED)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(VALID_PATHS), st.sampled_from(["replace", "delete"]), json_values
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_reviews(mutations: list[tuple[tuple[Any, ...], str, Any]]) -> None:
    document = copy.deepcopy(VALID)
    for path, action, value in mutations:
        parent: Any = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            if action == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or retyped this path
    check(json.dumps(document).encode())


@fuzz(GRAMMAR)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                names.ENV_ANNOTATION,
                names.VOLUME_ANNOTATION,
                names.ENV_PREFIX_ANNOTATION,
                names.CONTAINERS_ANNOTATION,
                names.INIT_CONTAINERS_ANNOTATION,
            ]
        ),
        st.text(alphabet="abdp/()=,. *_-AT0\t", max_size=40),
        max_size=5,
    )
)
def test_random_annotation_text(annotations: dict[str, str]) -> None:
    document = copy.deepcopy(VALID)
    document["request"]["object"]["metadata"]["annotations"] = annotations
    check(json.dumps(document).encode())


def test_the_server_still_answers_a_real_request_after_fuzzing() -> None:
    for body in (b"\x00garbage", json.dumps(VALID).encode()):
        check(body)
    asyncio.run(real_request())


async def real_request() -> None:
    app = create_app(ADMISSION, METRICS, ready=lambda: True)
    async with TestClient(TestServer(app)) as session:
        malformed = await session.post("/mutate", data=b"{not json")
        assert malformed.status == 400
        assert "not JSON" in (await malformed.json())["error"]
        response = await session.post("/mutate", json=VALID)
        assert response.status == 200
        review = (await response.json())["response"]
        assert review["uid"] == "fuzz-uid" and review["allowed"] is True
        ops = json.loads(base64.b64decode(review["patch"]))
        assert {
            "op": "add",
            "path": "/spec/containers/1/envFrom",
            "value": [{"secretRef": {"name": "db-secret"}, "prefix": "APP_"}],
        } in ops
        metrics = await (await session.get("/metrics")).text()
        assert 'kuorum_webhook_admissions_total{code="400",result="malformed"}' in metrics
    guarded = create_app(
        ADMISSION, METRICS, ready=lambda: True, callers=ClientCertificates(["kube-apiserver"])
    )
    async with TestClient(TestServer(guarded)) as session:  # plain HTTP: no certificate
        refused = await session.post("/mutate", json=VALID)
        assert refused.status == 403
        assert await refused.json() == REFUSED, "nothing about the secret or its rules"
