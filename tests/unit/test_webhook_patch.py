"""The JSON patch: references only, exactly as annotated, idempotent, conflicts refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kuorum import names
from kuorum.webhook.annotations import SecretRef, parse
from kuorum.webhook.denials import AnnotationError, ConflictError
from kuorum.webhook.patch import build, volume_name

NAMESPACE = "apps"


def apply(document: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply RFC 6902 ``add`` ops (the only op the webhook emits)."""
    result = copy.deepcopy(document)
    for op in patch:
        assert op["op"] == "add"
        *parents, last = [
            part.replace("~1", "/").replace("~0", "~") for part in op["path"].split("/")[1:]
        ]
        target: Any = result
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list) and last == "-":
            target.append(op["value"])
        elif isinstance(target, list):
            target.insert(int(last), op["value"])
        else:
            target[last] = op["value"]
    return result


def pod(annotations: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "annotations": annotations},
        "spec": {
            "containers": [{"name": "app", "image": "x"}, {"name": "side", "image": "y"}],
            **spec,
        },
    }


TARGETS = {SecretRef("db"): "db-secret", SecretRef("api", "shared"): "api-secret"}


def test_env_and_volume_injection_into_every_container() -> None:
    annotations = {
        names.ENV_ANNOTATION: "db, shared/api(token=TOKEN)",
        names.ENV_PREFIX_ANNOTATION: "APP_",
        names.VOLUME_ANNOTATION: "db(password=pw)=/etc/db",
    }
    original = pod(annotations)
    patched = apply(original, build(original, parse(annotations), TARGETS, namespace=NAMESPACE))
    volume = volume_name(SecretRef("db"), NAMESPACE)
    for container in patched["spec"]["containers"]:
        assert container["envFrom"] == [{"secretRef": {"name": "db-secret"}, "prefix": "APP_"}]
        assert container["env"] == [
            {
                "name": "APP_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "api-secret", "key": "token"}},
            }
        ]
        assert container["volumeMounts"] == [
            {"name": volume, "mountPath": "/etc/db", "readOnly": True}
        ]
    assert patched["spec"]["volumes"] == [
        {
            "name": volume,
            "secret": {"secretName": "db-secret", "items": [{"key": "password", "path": "pw"}]},
        }
    ]
    assert patched["metadata"]["annotations"][names.INJECTED_ANNOTATION] == "apps/db,shared/api"


def test_only_named_containers_and_init_containers_on_request() -> None:
    annotations = {
        names.ENV_ANNOTATION: "db",
        names.CONTAINERS_ANNOTATION: "side",
        names.INIT_CONTAINERS_ANNOTATION: "migrate",
    }
    original = pod(annotations, initContainers=[{"name": "migrate"}, {"name": "other"}])
    patched = apply(original, build(original, parse(annotations), TARGETS, namespace=NAMESPACE))
    app, side = patched["spec"]["containers"]
    migrate, other = patched["spec"]["initContainers"]
    assert "envFrom" not in app and "envFrom" not in other
    assert side["envFrom"] == migrate["envFrom"] == [{"secretRef": {"name": "db-secret"}}]


def test_init_containers_are_left_alone_by_default() -> None:
    annotations = {names.ENV_ANNOTATION: "db"}
    original = pod(annotations, initContainers=[{"name": "migrate"}])
    patched = apply(original, build(original, parse(annotations), TARGETS, namespace=NAMESPACE))
    assert patched["spec"]["initContainers"] == [{"name": "migrate"}]


def test_reinvocation_on_the_patched_pod_yields_an_empty_patch() -> None:
    annotations = {
        names.ENV_ANNOTATION: "db(a=A), shared/api",
        names.VOLUME_ANNOTATION: "db",
    }
    request = parse(annotations)
    original = pod(annotations, volumes=[{"name": "own", "emptyDir": {}}])
    patched = apply(original, build(original, request, TARGETS, namespace=NAMESPACE))
    # the apiserver defaults fields between invocations; that is not a difference
    patched["spec"]["volumes"][-1]["secret"]["defaultMode"] = 420
    assert build(patched, request, TARGETS, namespace=NAMESPACE) == []


def test_pod_without_annotations_map_gets_one() -> None:
    request = parse({names.ENV_ANNOTATION: "db"})
    original = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app"}]}}
    patched = apply(original, build(original, request, TARGETS, namespace=NAMESPACE))
    assert patched["metadata"]["annotations"] == {names.INJECTED_ANNOTATION: "apps/db"}


def test_the_patch_holds_only_references() -> None:
    request = parse({names.ENV_ANNOTATION: "db(k=K)", names.VOLUME_ANNOTATION: "db"})
    text = json.dumps(build(pod({}), request, TARGETS, namespace=NAMESPACE))
    assert '"value": "' not in text.replace(f'"value": "{NAMESPACE}/db"', "")
    assert "stringData" not in text and '"data"' not in text


@pytest.mark.parametrize(
    ("containers", "fragment"),
    [
        ([{"name": "app", "env": [{"name": "K", "value": "mine"}]}], "already has variable 'K'"),
        (
            [{"name": "app", "volumeMounts": [{"name": "own", "mountPath": "/etc/db"}]}],
            "already mounts volume 'own' at '/etc/db'",
        ),
    ],
    ids=["variable", "mount-path"],
)
def test_conflicts_with_the_pods_own_settings_are_refused(
    containers: list[dict[str, Any]], fragment: str
) -> None:
    request = parse({names.ENV_ANNOTATION: "db(k=K)", names.VOLUME_ANNOTATION: "db=/etc/db"})
    original = {"metadata": {}, "spec": {"containers": containers}}
    with pytest.raises(ConflictError) as caught:
        build(original, request, TARGETS, namespace=NAMESPACE)
    assert fragment in caught.value.message


def test_a_foreign_volume_with_our_name_is_a_conflict() -> None:
    request = parse({names.VOLUME_ANNOTATION: "db"})
    name = volume_name(SecretRef("db"), NAMESPACE)
    original = pod({}, volumes=[{"name": name, "emptyDir": {}}])
    with pytest.raises(ConflictError, match="rename the pod's volume"):
        build(original, request, TARGETS, namespace=NAMESPACE)


def test_a_named_container_that_does_not_exist_is_refused() -> None:
    request = parse({names.ENV_ANNOTATION: "db", names.CONTAINERS_ANNOTATION: "nope"})
    with pytest.raises(AnnotationError, match=r"container 'nope'.*app, side"):
        build(pod({}), request, TARGETS, namespace=NAMESPACE)


def test_two_keys_mapped_to_one_variable_across_secrets_are_refused() -> None:
    request = parse({names.ENV_ANNOTATION: "db(a=X), shared/api(b=X)"})
    with pytest.raises(AnnotationError, match="variable 'X'"):
        build(pod({}), request, TARGETS, namespace=NAMESPACE)


def test_volume_names_are_dns_labels_and_distinct_per_namespace() -> None:
    long = SecretRef("a." + "b" * 200)
    name = volume_name(long, NAMESPACE)
    assert len(name) <= 63 and name.startswith("kuorum-a-b")
    assert volume_name(SecretRef("db"), "one") != volume_name(SecretRef("db"), "two")
