"""Token checks of the share node: cache bounds, 401 vs 403, no TokenReview when warm."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from kuorum.kube.tokenreview import Review
from kuorum.names import NODE_TOKEN_AUDIENCE
from kuorum.node.auth import Refused, TokenAuthenticator, token_claims

OPERATOR = "system:serviceaccount:kuorum-system:kuorum-operator"


def make_token(**claims: object) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"


class Reviewer:
    """Answers like the apiserver would for a fixed table of tokens, and counts calls."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.calls = 0

    def __call__(self, token: str) -> Review:
        self.calls += 1
        user = self.table.get(token)
        if user is None:
            return Review(authenticated=False, username=None, audiences=())
        return Review(authenticated=True, username=user, audiences=(NODE_TOKEN_AUDIENCE,))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_operator_token_is_cached_until_the_cache_bound() -> None:
    clock = Clock()
    token = make_token(aud=[NODE_TOKEN_AUDIENCE], exp=clock.now + 3600)
    reviewer = Reviewer({token: OPERATOR})
    auth = TokenAuthenticator(reviewer, operator_identity=OPERATOR, clock=clock)
    for _ in range(3):
        caller = asyncio.run(auth.authorize_operator(f"Bearer {token}"))
        assert caller.username == OPERATOR
    assert reviewer.calls == 1
    clock.now += 61
    asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    assert reviewer.calls == 2


def test_cache_never_outlives_the_token_expiry() -> None:
    """The apiserver stops accepting the token at ``exp``: so must the cache."""
    clock = Clock()
    token = make_token(aud=[NODE_TOKEN_AUDIENCE], exp=clock.now + 10)
    reviewer = Reviewer({token: OPERATOR})
    auth = TokenAuthenticator(reviewer, operator_identity=OPERATOR, clock=clock)
    asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    clock.now += 11
    reviewer.table.clear()  # the apiserver now refuses the expired token
    with pytest.raises(Refused) as refused:
        asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    assert refused.value.status == 401
    assert "expired" in refused.value.reason
    assert reviewer.calls == 2


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, "no bearer token"),
        ("Basic abc", "no bearer token"),
        ("Bearer ", "no bearer token"),
        (f"Bearer {make_token(aud=['https://kubernetes.default.svc'])}", "audience"),
        ("Bearer not-a-jwt", "not accepted"),
    ],
    ids=["missing", "wrong-scheme", "empty", "wrong-audience", "garbage"],
)
def test_unauthenticated_requests_get_401_with_a_reason(header: str | None, words: str) -> None:
    auth = TokenAuthenticator(Reviewer({}), operator_identity=OPERATOR)
    with pytest.raises(Refused) as refused:
        asyncio.run(auth.authorize_operator(header))
    assert refused.value.status == 401
    assert words in refused.value.reason
    assert refused.value.actor is None


def test_another_identity_gets_403_naming_both_identities_but_not_the_token() -> None:
    token = make_token(aud=[NODE_TOKEN_AUDIENCE])
    other = "system:serviceaccount:default:intruder"
    auth = TokenAuthenticator(Reviewer({token: other}), operator_identity=OPERATOR)
    with pytest.raises(Refused) as refused:
        asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    assert refused.value.status == 403
    assert refused.value.actor == other
    assert other in refused.value.reason and OPERATOR in refused.value.reason
    assert token not in refused.value.reason


def test_failed_reviews_are_not_cached() -> None:
    token = make_token(aud=[NODE_TOKEN_AUDIENCE])
    reviewer = Reviewer({})
    auth = TokenAuthenticator(reviewer, operator_identity=OPERATOR)
    for _ in range(2):
        with pytest.raises(Refused):
            asyncio.run(auth.authenticate(f"Bearer {token}"))
    assert reviewer.calls == 2


def test_token_claims_tolerates_garbage() -> None:
    assert token_claims("a.%%%.c") == {}
    assert token_claims("a.b") == {}
    assert token_claims(make_token(exp=5)) == {"exp": 5}
