"""kuorum.policy: who may consume a secret, with a reason that names the rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kuorum.models import Access
from kuorum.policy import Decision, evaluate, service_account_of

SECRET = {"secret_namespace": "team-a", "secret_name": "db-creds"}


def decide(access: Access | None, namespace: str, account: str) -> Decision:
    return evaluate(access, namespace=namespace, service_account=account, **SECRET)


def test_default_allows_any_account_of_the_own_namespace() -> None:
    decision = decide(None, "team-a", "anything")
    assert decision.allowed
    assert "team-a is the secret's own namespace of team-a/db-creds" in decision.reason


def test_default_denies_other_namespaces_naming_the_rule() -> None:
    decision = decide(None, "team-b", "api")
    assert not decision.allowed
    assert decision.reason == (
        "namespace team-b may not consume team-a/db-creds: spec.access.namespaces is not "
        "set, so only pods of namespace team-a may"
    )


def test_listed_namespace_is_allowed_and_others_denied() -> None:
    access = Access(namespaces=("team-b",))
    assert decide(access, "team-b", "api").allowed
    assert decide(access, "team-a", "api").allowed  # the own namespace stays allowed
    denied = decide(access, "team-c", "api")
    assert not denied.allowed
    assert denied.reason == "namespace team-c is not in spec.access.namespaces of team-a/db-creds"


@pytest.mark.parametrize(
    ("namespace", "account", "allowed"),
    [
        ("team-a", "api", True),  # bare name: the secret's own namespace
        ("team-b", "api", False),  # bare name does not reach other namespaces
        ("team-b", "worker", True),  # namespace:name
        ("team-a", "worker", False),
        ("team-a", "batch", True),  # team-a:batch written out in full
        ("team-c", "worker", False),  # namespace not allowed at all
    ],
    ids=[
        "bare-own",
        "bare-other",
        "qualified",
        "qualified-wrong-ns",
        "own-qualified",
        "namespace-denied-first",
    ],
)
def test_service_accounts(namespace: str, account: str, allowed: bool) -> None:
    access = Access(
        namespaces=("team-b",), service_accounts=("api", "team-b:worker", "team-a:batch")
    )
    decision = decide(access, namespace, account)
    assert decision.allowed is allowed
    if not allowed and namespace != "team-c":
        assert decision.reason == (
            f"service account {namespace}:{account} is not in "
            "spec.access.serviceAccounts of team-a/db-creds"
        )


def test_reason_without_secret_name_names_the_namespace() -> None:
    decision = evaluate(None, secret_namespace="team-a", namespace="x", service_account="y")
    assert "may not consume namespace team-a" in decision.reason


def test_decision_is_falsy_when_denied() -> None:
    """``if evaluate(...)`` must not pass a denial."""
    assert not decide(None, "team-b", "api")
    assert decide(None, "team-a", "api")


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("system:serviceaccount:team-a:api", ("team-a", "api")),
        ("system:serviceaccount:team-a", None),
        ("system:serviceaccount::api", None),
        ("system:serviceaccount:a:b:c", None),
        ("alice", None),
        ("system:node:worker-1", None),
    ],
)
def test_service_account_of(username: str, expected: tuple[str, str] | None) -> None:
    assert service_account_of(username) == expected


# --- properties -------------------------------------------------------------------------

_ns = st.sampled_from(["team-a", "team-b", "team-c", "kube-system", "x"])
_sa = st.sampled_from(["default", "api", "worker"])
_entries = st.tuples(st.none() | _ns, _sa).map(lambda p: ":".join(x for x in p if x))
_access = st.none() | st.builds(
    Access,
    st.none() | st.lists(_ns, min_size=1, max_size=3, unique=True).map(tuple),
    st.none() | st.lists(_entries, min_size=1, max_size=4, unique=True).map(tuple),
)


@given(_access, _ns, _sa)
def test_allowed_only_from_the_own_or_a_listed_namespace(
    access: Access | None, namespace: str, account: str
) -> None:
    decision = decide(access, namespace, account)
    listed = access.namespaces if access and access.namespaces else ()
    if decision.allowed:
        assert namespace == "team-a" or namespace in listed
    assert namespace in decision.reason and decision.reason


@given(_access, _ns, _sa, _sa)
def test_without_service_accounts_the_account_does_not_matter(
    access: Access | None, namespace: str, one: str, other: str
) -> None:
    if access is not None and access.service_accounts is not None:
        access = Access(access.namespaces, None)
    assert decide(access, namespace, one).allowed == decide(access, namespace, other).allowed


@given(_access, _ns, _ns, _sa)
def test_listing_more_namespaces_never_denies_what_was_allowed(
    access: Access | None, extra: str, namespace: str, account: str
) -> None:
    access = access or Access()
    wider = Access(
        tuple(dict.fromkeys((*(access.namespaces or ()), extra))), access.service_accounts
    )
    if decide(access, namespace, account).allowed:
        assert decide(wider, namespace, account).allowed
