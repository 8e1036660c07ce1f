"""Token checks of the share node: its own audience only, cheap refusals before any
TokenReview, cache bounds, bounded concurrency, 401 vs 403."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from tokenkit import make_token

from kuorum.jwt import token_claims
from kuorum.kube.tokenreview import Review
from kuorum.names import node_audience
from kuorum.node.auth import (
    REFUSED_SECONDS,
    REVIEWS_AT_ONCE,
    Refused,
    TokenAuthenticator,
)

OPERATOR = "system:serviceaccount:kuorum-system:kuorum-operator"
NODE_IDENTITY = "system:serviceaccount:kuorum-system:kuorum-node"
AUDIENCE = node_audience("node-a")
NOW = 1_000_000.0


class Reviewer:
    """Answers like the apiserver would for a fixed table of tokens, and counts calls."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.calls = 0
        self.audiences: list[str] = []

    def __call__(self, token: str, audience: str) -> Review:
        self.calls += 1
        self.audiences.append(audience)
        user = self.table.get(token)
        if user is None:
            return Review(authenticated=False, username=None, audiences=())
        return Review(authenticated=True, username=user, audiences=(audience,))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def authenticator(reviewer: Reviewer, clock: Clock | None = None) -> TokenAuthenticator:
    return TokenAuthenticator(
        reviewer,
        audience=AUDIENCE,
        operator_identity=OPERATOR,
        node_identity=NODE_IDENTITY,
        cache_seconds=5,
        clock=clock or Clock(),
    )


def operator_token(**claims: object) -> str:
    return make_token(**{"aud": [AUDIENCE], "exp": NOW + 3600, **claims})


def test_operator_token_is_cached_until_the_cache_bound() -> None:
    clock = Clock()
    token = operator_token()
    reviewer = Reviewer({token: OPERATOR})
    auth = authenticator(reviewer, clock)
    for _ in range(3):
        caller = asyncio.run(auth.authorize_operator(f"Bearer {token}"))
        assert caller.username == OPERATOR
    assert (reviewer.calls, reviewer.audiences) == (1, [AUDIENCE])
    clock.now += 6
    asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    assert reviewer.calls == 2


def test_a_deleted_account_stops_working_within_the_cache_bound() -> None:
    clock = Clock()
    token = operator_token()
    reviewer = Reviewer({token: OPERATOR})
    auth = authenticator(reviewer, clock)
    asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    reviewer.table.clear()  # the ServiceAccount is deleted: the apiserver refuses the token
    clock.now += 5
    with pytest.raises(Refused) as refused:
        asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    assert (refused.value.status, reviewer.calls) == (401, 2)
    assert "not accepted by TokenReview" in refused.value.reason


def test_cache_never_outlives_the_token_expiry() -> None:
    """The apiserver stops accepting the token at ``exp``: so must the cache."""
    clock = Clock()
    token = operator_token(exp=NOW + 2)
    reviewer = Reviewer({token: OPERATOR})
    auth = authenticator(reviewer, clock)
    asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    clock.now += 3
    with pytest.raises(Refused) as refused:
        asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    assert refused.value.status == 401
    assert "expired" in refused.value.reason
    assert reviewer.calls == 1, "an expired token is refused without asking the apiserver"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, "no bearer token"),
        ("Basic abc", "no bearer token"),
        ("Bearer ", "no bearer token"),
        ("Bearer not-a-jwt", "not a service-account token"),
        (f"Bearer {operator_token(aud=['https://kubernetes.default.svc'])}", AUDIENCE),
        (f"Bearer {operator_token(aud=[node_audience('node-b')])}", AUDIENCE),
        (f"Bearer {operator_token(aud=['kuorum.io/node'])}", AUDIENCE),
        (f"Bearer {operator_token(exp=NOW - 1)}", "expired"),
        (f"Bearer {make_token(aud=[AUDIENCE])}", "no expiry"),
    ],
    ids=[
        "missing",
        "wrong-scheme",
        "empty",
        "garbage",
        "apiserver-audience",
        "another-node",
        "shared-audience",
        "expired",
        "no-expiry",
    ],
)
def test_hopeless_tokens_are_refused_without_a_tokenreview(header: str | None, words: str) -> None:
    reviewer = Reviewer({})
    auth = authenticator(reviewer)
    with pytest.raises(Refused) as refused:
        asyncio.run(auth.authorize_operator(header))
    assert refused.value.status == 401
    assert words in refused.value.reason
    assert refused.value.actor is None
    assert reviewer.calls == 0


def test_another_identity_gets_403_naming_both_identities_but_not_the_token() -> None:
    token = operator_token()
    other = "system:serviceaccount:default:intruder"
    auth = authenticator(Reviewer({token: other}))
    with pytest.raises(Refused) as refused:
        asyncio.run(auth.authorize_operator(f"Bearer {token}"))
    assert refused.value.status == 403
    assert refused.value.actor == other
    assert other in refused.value.reason and OPERATOR in refused.value.reason
    assert token not in refused.value.reason


def test_refused_tokens_are_refused_again_without_asking_for_a_while() -> None:
    clock = Clock()
    token = operator_token()
    reviewer = Reviewer({})
    auth = authenticator(reviewer, clock)
    for _ in range(3):
        with pytest.raises(Refused):
            asyncio.run(auth.authenticate(f"Bearer {token}"))
    assert reviewer.calls == 1
    clock.now += REFUSED_SECONDS
    reviewer.table[token] = OPERATOR
    assert asyncio.run(auth.authenticate(f"Bearer {token}")).username == OPERATOR


def test_tokenreviews_in_flight_are_bounded() -> None:
    """A burst of distinct plausible tokens queues: the apiserver sees a few at once."""
    lock = threading.Lock()
    active, peak = 0, 0

    def slow_reviewer(token: str, audience: str) -> Review:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        return Review(authenticated=False, username=None, audiences=())

    auth = TokenAuthenticator(
        slow_reviewer,
        audience=AUDIENCE,
        operator_identity=OPERATOR,
        node_identity=NODE_IDENTITY,
        cache_seconds=5,
        clock=Clock(),
    )

    async def burst() -> None:
        tokens = [operator_token(jti=str(i)) for i in range(REVIEWS_AT_ONCE * 4)]
        results = await asyncio.gather(
            *(auth.authenticate(f"Bearer {t}") for t in tokens), return_exceptions=True
        )
        assert all(isinstance(r, Refused) for r in results)

    asyncio.run(burst())
    assert 1 <= peak <= REVIEWS_AT_ONCE


def test_token_claims_tolerates_garbage() -> None:
    assert token_claims("a.%%%.c") is None
    assert token_claims("a.b") is None
    assert token_claims(make_token(exp=5)) == {"exp": 5}
