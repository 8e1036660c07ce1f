"""`kuorum webhook` flags: one TLS mode at a time, certificate names from the Service."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kuorum.errors import UserError
from kuorum.webhook import command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    return parser.parse_args(["webhook", *argv])


def test_files_mode() -> None:
    settings = command.settings_from(
        parse("--listen=127.0.0.1:9443", "--tls-cert-file=c.pem", "--tls-key-file=k.pem")
    )
    assert (settings.host, settings.port) == ("127.0.0.1", 9443)
    assert (settings.tls_cert_file, settings.tls_key_file) == (Path("c.pem"), Path("k.pem"))
    assert settings.tls_secret is None


def test_self_managed_mode_certifies_the_service_names_and_extra_sans() -> None:
    settings = command.settings_from(
        parse("--namespace=ks", "--tls-secret=tls", "--service=hook", "--tls-san=127.0.0.1")
    )
    assert settings.tls_secret == "tls"
    assert settings.tls_sans == (
        "127.0.0.1",
        "hook",
        "hook.ks",
        "hook.ks.svc",
        "hook.ks.svc.cluster.local",
    )


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ((), "either --tls-cert-file"),
        (("--tls-cert-file=c",), "either --tls-cert-file"),
        (("--tls-cert-file=c", "--tls-key-file=k", "--tls-secret=s"), "not both"),
        (("--tls-secret=s",), "--service or --tls-san"),
        (("--listen=8443", "--tls-secret=s", "--tls-san=x"), "HOST:PORT"),
    ],
    ids=["no-tls", "half-files", "both-modes", "no-names", "bad-listen"],
)
def test_refused_combinations_say_what_to_give(argv: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        command.settings_from(parse(*argv))
