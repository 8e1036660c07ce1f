"""The watched cache: lookups, deletions, and version changes announced once."""

from __future__ import annotations

import pytest
from webhook_objects import dsec

from kuorum.models import Access
from kuorum.webhook.admission import Admission
from kuorum.webhook.cache import SecretCache
from kuorum.webhook.denials import SecretNotReady
from kuorum.webhook.patch import SecretRef
from kuorum.webhook.secretview import SecretView


def test_lookup_reads_target_access_readiness_and_version() -> None:
    cache = SecretCache()
    assert not cache.synced
    cache.replace_all(
        [
            dsec("db", 3, target="db-creds", access={"namespaces": ["a"]}),
            dsec("x", ready=False),
        ]
    )
    assert cache.synced and len(cache) == 2
    assert cache.lookup("ns", "db") == SecretView(
        namespace="ns",
        name="db",
        target="db-creds",
        access=Access(namespaces=("a",)),
        ready=True,
        version=3,
    )
    view = cache.lookup("ns", "x")
    assert view is not None and view.target == "x" and not view.ready and view.version is None
    assert cache.lookup("other", "db") is None


def test_an_unreadable_spec_is_kept_as_invalid_not_ready() -> None:
    broken = dsec("db", 1)
    broken["spec"]["threshold"] = 9
    cache = SecretCache()
    cache.replace_all([broken])
    view = cache.lookup("ns", "db")
    assert view is not None and not view.ready
    assert view.invalid is not None and "spec.threshold" in view.invalid


def test_events_add_change_and_delete() -> None:
    cache = SecretCache()
    cache.replace_all([])
    cache.apply("ADDED", dsec("db", 1))
    assert cache.lookup("ns", "db") is not None
    cache.apply("DELETED", dsec("db", 1))
    assert cache.lookup("ns", "db") is None


def test_only_real_rotations_are_announced() -> None:
    seen: list[tuple[str, int | None, int | None]] = []
    cache = SecretCache()
    cache.on_version_change(lambda view, before: seen.append((view.name, before, view.version)))
    cache.replace_all([dsec("db", 1), dsec("new")])
    cache.apply("MODIFIED", dsec("db", 1))  # same version: status noise, no rotation
    cache.apply("MODIFIED", dsec("new", 1))  # first version: nothing consumed an older one
    cache.apply("ADDED", dsec("late", 4))  # appeared later: not a rotation either
    cache.apply("MODIFIED", dsec("db", 2))
    cache.replace_all([dsec("db", 3), dsec("new", 1), dsec("late", 4)])  # relist after a gap
    assert seen == [("db", 1, 2), ("db", 2, 3)]


def test_the_first_list_offers_every_versioned_secret_once_for_catching_up() -> None:
    offered: list[str] = []
    cache = SecretCache()
    cache.on_first_list(lambda view: offered.append(view.name))
    cache.replace_all([dsec("db", 2), dsec("unversioned")])
    cache.replace_all([dsec("db", 2), dsec("later", 1)])  # a relist is no first list
    assert offered == ["db"]


def test_a_pod_of_a_secret_not_ready_is_told_the_reason_code_not_the_message() -> None:
    blocked = dsec("db", 1, ready=False)
    blocked["status"]["conditions"][0] |= {"reason": "NotGranted", "message": "namespaces x"}
    cache = SecretCache()
    cache.replace_all([blocked])
    view = cache.lookup("ns", "db")
    assert view is not None and view.reason == "NotGranted"
    with pytest.raises(SecretNotReady) as denied:
        Admission(cache.lookup)._target(SecretRef("db"), "ns", "default")
    assert "reason NotGranted" in denied.value.message
    assert "namespaces x" not in denied.value.message
