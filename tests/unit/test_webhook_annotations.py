"""The annotation grammar: what parses, what it means, and errors that point at the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kuorum import names
from kuorum.webhook.annotations import (
    DEFAULT_MOUNT_ROOT,
    EnvSource,
    KeyItem,
    SecretRef,
    VolumeSource,
    parse,
    requests_injection,
)
from kuorum.webhook.denials import AnnotationError
from kuorum.webhook.patch import build

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pod.yaml"


def test_env_entries_with_namespace_mapping_and_all_keys() -> None:
    request = parse({names.ENV_ANNOTATION: "db, shared/api( token = API_TOKEN , region )"})
    assert request.env == (
        EnvSource(SecretRef("db")),
        EnvSource(
            SecretRef("api", "shared"),
            (KeyItem("token", "API_TOKEN"), KeyItem("region", "region")),
        ),
    )
    assert request.volumes == ()
    assert request.containers == ("*",)
    assert request.init_containers == ()


def test_volume_entries_with_path_items_and_default_path() -> None:
    request = parse({names.VOLUME_ANNOTATION: "tls(tls.crt, tls.key=key.pem)=/etc/tls, db"})
    assert request.volumes == (
        VolumeSource(
            SecretRef("tls"),
            "/etc/tls",
            (KeyItem("tls.crt", "tls.crt"), KeyItem("tls.key", "key.pem")),
        ),
        VolumeSource(SecretRef("db"), f"{DEFAULT_MOUNT_ROOT}/db"),
    )


def test_secrets_lists_each_reference_once_in_order() -> None:
    request = parse({names.ENV_ANNOTATION: "b, a", names.VOLUME_ANNOTATION: "b, x/a"})
    assert request.secrets() == (SecretRef("b"), SecretRef("a"), SecretRef("a", "x"))


def test_containers_prefix_and_init_containers() -> None:
    request = parse(
        {
            names.ENV_ANNOTATION: "db",
            names.ENV_PREFIX_ANNOTATION: "APP_",
            names.CONTAINERS_ANNOTATION: "app, worker",
            names.INIT_CONTAINERS_ANNOTATION: "*",
        }
    )
    assert request.env_prefix == "APP_"
    assert request.containers == ("app", "worker")
    assert request.init_containers == ("*",)


@pytest.mark.parametrize(
    ("annotations", "fragment"),
    [
        ({}, names.ENV_ANNOTATION),
        ({names.ENV_ANNOTATION: " "}, "is empty"),
        ({names.ENV_ANNOTATION: "db,,x"}, "two commas"),
        ({names.ENV_ANNOTATION: "Db"}, "not a DecentralizedSecret reference"),
        ({names.ENV_ANNOTATION: "db=/etc"}, "only for volumes"),
        ({names.ENV_ANNOTATION: "db()"}, "empty parentheses"),
        ({names.ENV_ANNOTATION: "db(a b)"}, "not a secret key"),
        ({names.ENV_ANNOTATION: "db(a=1X)"}, "not a valid variable name"),
        ({names.ENV_ANNOTATION: "db(a=X, b=X)"}, "appears twice"),
        ({names.VOLUME_ANNOTATION: "db=etc"}, "must be absolute"),
        ({names.VOLUME_ANNOTATION: "db=/etc/../root"}, "must be absolute"),
        ({names.VOLUME_ANNOTATION: "db(a=../x)"}, "relative file path"),
        ({names.VOLUME_ANNOTATION: "a=/m, b=/m"}, "mount path '/m' appears twice"),
        ({names.ENV_ANNOTATION: "db", names.CONTAINERS_ANNOTATION: "App"}, "container name"),
        ({names.ENV_ANNOTATION: "db", names.ENV_PREFIX_ANNOTATION: "1X"}, "variable"),
    ],
    ids=[
        "nothing-named",
        "empty",
        "empty-entry",
        "uppercase-name",
        "path-on-env",
        "empty-parens",
        "bad-key",
        "bad-variable",
        "duplicate-variable",
        "relative-mount",
        "dotdot-mount",
        "dotdot-item",
        "duplicate-mount",
        "bad-container",
        "bad-prefix",
    ],
)
def test_malformed_annotations_are_refused_with_the_annotation_named(
    annotations: dict[str, str], fragment: str
) -> None:
    with pytest.raises(AnnotationError) as caught:
        parse(annotations)
    assert fragment in caught.value.message
    assert "kuorum.io/" in caught.value.message
    assert caught.value.code == 400


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({names.INJECT_LABEL: "true"}, True),
        ({names.INJECT_LABEL: "false"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_only_the_true_label_requests_injection(
    labels: dict[str, str] | None, expected: bool
) -> None:
    assert requests_injection(labels) is expected


def test_the_example_manifests_parse_and_inject_only_the_named_containers() -> None:
    account, pod, deployment = yaml.safe_load_all(EXAMPLE.read_text())
    assert (account["kind"], account["metadata"]["name"]) == ("ServiceAccount", "orders")
    assert pod["spec"]["serviceAccountName"] == "orders"
    request = parse(pod["metadata"]["annotations"])
    assert request.secrets() == (SecretRef("db"), SecretRef("payments", "finance"))
    targets = {ref: ref.name for ref in request.secrets()}
    patch = build(pod, request, targets, namespace=pod["metadata"]["namespace"])
    containers = {
        tuple(op["path"].split("/")[2:4])
        for op in patch
        if op["path"].startswith(("/spec/containers/", "/spec/initContainers/"))
    }
    assert containers == {("containers", "0"), ("initContainers", "0")}  # not the shipper
    template = deployment["spec"]["template"]["metadata"]
    assert requests_injection(template["labels"])
    assert parse(template["annotations"]).secrets() == (SecretRef("db"),)
    assert deployment["metadata"]["annotations"][names.RESTART_ON_ROTATION_ANNOTATION] == "true"
