"""Rollout restarts: only opted-in consumers, once per version, never in a loop."""

from __future__ import annotations

from typing import Any

import pytest

from kuorum import names
from kuorum.models import Access
from kuorum.webhook.rollout import consumer_namespaces, recorded_versions, restart_patch
from kuorum.webhook.secretview import SecretView


def rotated(
    version: int | None = 2, namespace: str = "apps", access: Access | None = None
) -> SecretView:
    return SecretView(namespace, "db", "db", access, True, version)


def workload(
    *, opted: str | None = "true", template: dict[str, str] | None = None, namespace: str = "apps"
) -> dict[str, Any]:
    annotations = {} if opted is None else {names.RESTART_ON_ROTATION_ANNOTATION: opted}
    return {
        "metadata": {"name": "web", "namespace": namespace, "annotations": annotations},
        "spec": {
            "template": {
                "metadata": {
                    "annotations": template
                    if template is not None
                    else {names.ENV_ANNOTATION: "db, other"}
                }
            }
        },
    }


def versions(patch: dict[str, Any] | None) -> str:
    assert patch is not None
    return str(
        patch["spec"]["template"]["metadata"]["annotations"][names.SECRET_VERSIONS_ANNOTATION]
    )


def test_an_opted_in_consumer_is_restarted_with_the_version_recorded() -> None:
    assert versions(restart_patch(workload(), rotated(2))) == "apps/db=2"


def test_the_same_version_again_does_nothing() -> None:
    once = versions(restart_patch(workload(), rotated(2)))
    again = workload(template={names.ENV_ANNOTATION: "db", names.SECRET_VERSIONS_ANNOTATION: once})
    assert restart_patch(again, rotated(2)) is None
    assert versions(restart_patch(again, rotated(3))) == "apps/db=3"


def test_versions_of_other_secrets_are_kept() -> None:
    template = {
        names.VOLUME_ANNOTATION: "db",
        names.SECRET_VERSIONS_ANNOTATION: "apps/other=7, junk, x=y",
    }
    assert versions(restart_patch(workload(template=template), rotated(4))) == (
        "apps/db=4,apps/other=7"
    )


@pytest.mark.parametrize(
    "candidate",
    [
        workload(opted=None),
        workload(opted="yes"),
        workload(template={names.ENV_ANNOTATION: "other"}),
        workload(template={names.ENV_ANNOTATION: "db("}),
        workload(namespace="elsewhere"),
    ],
    ids=[
        "not-opted-in",
        "opt-in-not-true",
        "does-not-consume",
        "bad-annotation",
        "other-namespace",
    ],
)
def test_workloads_not_due_are_left_alone(candidate: dict[str, Any]) -> None:
    assert restart_patch(candidate, rotated(2)) is None


def test_a_cross_namespace_consumer_is_restarted() -> None:
    consumer = workload(namespace="elsewhere", template={names.ENV_ANNOTATION: "apps/db"})
    assert versions(restart_patch(consumer, rotated(5))) == "apps/db=5"


def test_consumer_namespaces_are_the_own_and_the_allowed_ones() -> None:
    allowed = Access(namespaces=("b", "apps", "c"))
    assert consumer_namespaces(rotated(access=allowed)) == ["apps", "b", "c"]
    assert consumer_namespaces(rotated()) == ["apps"]


def test_recorded_versions_ignore_garbage() -> None:
    assert recorded_versions({names.SECRET_VERSIONS_ANNOTATION: "a/b=1,=2,c/d=x,e/f=3"}) == {
        "a/b": 1,
        "e/f": 3,
    }


def test_catching_up_restarts_only_workloads_that_record_an_older_version() -> None:
    never = workload()
    older = workload(
        template={names.ENV_ANNOTATION: "db", names.SECRET_VERSIONS_ANNOTATION: "apps/db=1"}
    )
    assert restart_patch(never, rotated(2), only_recorded=True) is None
    assert versions(restart_patch(older, rotated(2), only_recorded=True)) == "apps/db=2"
