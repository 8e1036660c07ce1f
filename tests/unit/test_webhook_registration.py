"""The configuration keeps the webhook out of everyone else's way."""

from __future__ import annotations

import base64

import pytest

from kuorum import names
from kuorum.webhook.registration import CONFIGURATION_NAME, configuration


def test_url_configuration_selects_only_labelled_pods_and_fails_closed() -> None:
    document = configuration(url="https://127.0.0.1:9443/mutate", ca_bundle=b"PEM")
    assert document["metadata"]["name"] == CONFIGURATION_NAME
    (webhook,) = document["webhooks"]
    assert webhook["clientConfig"] == {
        "url": "https://127.0.0.1:9443/mutate",
        "caBundle": base64.b64encode(b"PEM").decode(),
    }
    assert webhook["objectSelector"] == {"matchLabels": {names.INJECT_LABEL: "true"}}
    excluded = webhook["namespaceSelector"]["matchExpressions"][0]
    assert excluded["operator"] == "NotIn"
    assert set(excluded["values"]) == {"kube-system", names.SYSTEM_NAMESPACE}
    assert webhook["failurePolicy"] == "Fail"
    assert webhook["reinvocationPolicy"] == "IfNeeded"
    assert webhook["rules"][0]["operations"] == ["CREATE"]
    assert webhook["rules"][0]["resources"] == ["pods"]


def test_service_configuration_points_at_mutate() -> None:
    (webhook,) = configuration(service=("ns", "svc", 443), ca_bundle=b"x")["webhooks"]
    assert webhook["clientConfig"]["service"] == {
        "namespace": "ns",
        "name": "svc",
        "port": 443,
        "path": "/mutate",
    }


def test_exactly_one_destination_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        configuration(ca_bundle=b"x")
    with pytest.raises(ValueError, match="exactly one"):
        configuration(url="https://x", service=("a", "b", 1), ca_bundle=b"x")
