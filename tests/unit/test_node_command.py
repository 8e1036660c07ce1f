"""``kuorum node`` flags: defaults that work on loopback, errors that name the flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuorum.cli import build_parser
from kuorum.errors import UserError
from kuorum.node.command import settings_from
from kuorum.node.settings import NodeSettings


def settings(*flags: str) -> NodeSettings:
    args = build_parser().parse_args(["node", "--name", "node-a", "--data-dir", "/d", *flags])
    return settings_from(args)


def test_loopback_defaults() -> None:
    result = settings("--listen", "127.0.0.1:9443")
    assert result.endpoint == "https://127.0.0.1:9443"
    assert result.tls_sans == ("127.0.0.1",)
    assert result.origin == "kuorum.io/node/node-a"
    assert result.data_dir == Path("/d")
    assert result.operator_identity == "system:serviceaccount:kuorum-system:kuorum-operator"
    assert result.kem == "MLKEM768_X25519"


def test_cluster_style_flags() -> None:
    result = settings(
        "--listen",
        "0.0.0.0:8443",
        "--endpoint",
        "https://node-a.kuorum.kuorum-system.svc:8443/",
        "--tls-san",
        "node-a.kuorum.kuorum-system.svc",
        "--zone",
        "eu-1a",
        "--kem",
        "X25519",
        "--witness-interval",
        "10",
    )
    assert result.endpoint == "https://node-a.kuorum.kuorum-system.svc:8443"
    assert (result.host, result.port, result.zone, result.kem) == (
        "0.0.0.0",  # noqa: S104
        8443,
        "eu-1a",
        "X25519",
    )
    assert result.witness_interval == 10


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--listen", "8443"], "--listen"),
        (["--listen", "0.0.0.0:8443"], "--endpoint"),
        (["--endpoint", "http://node-a:8443"], "https://"),
        (["--endpoint", "https://node-a:8443", "--tls-san", "other"], "--tls-san"),
        (["--witness-interval", "0"], "--witness-interval"),
        (["--token-cache-seconds", "-1"], "--token-cache-seconds"),
        (["--name", "Node_A"], "--name"),
    ],
    ids=[
        "no-port",
        "wildcard-without-endpoint",
        "http",
        "san-mismatch",
        "interval",
        "cache",
        "name",
    ],
)
def test_bad_flags_name_the_flag(flags: list[str], words: str) -> None:
    with pytest.raises(UserError, match=words):
        settings(*flags)
