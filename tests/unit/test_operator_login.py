"""kopf gets the operator's bare token, however the client configuration spells it.

Found by installing the chart on a real node: the in-cluster loader stores
``"bearer <token>"`` in lower case, and kopf, handed that with its scheme, sent
``Bearer bearer <token>`` and every in-cluster operator died of a 401 at start.
"""

from __future__ import annotations

import pytest

from kuorum.operator.command import bearer_token


@pytest.mark.parametrize(
    "api_key",
    [
        {"BearerToken": "bearer tok.en"},  # kubernetes.config.load_incluster_config
        {"BearerToken": "Bearer tok.en"},  # kubernetes.config.load_kube_config
        {"authorization": "tok.en"},
    ],
)
def test_the_token_comes_without_its_scheme(api_key: dict[str, str]) -> None:
    assert bearer_token(api_key) == "tok.en"


def test_no_token_is_none() -> None:
    assert bearer_token({}) is None
    assert bearer_token({"authorization": "bearer "}) is None
