"""Serving certificates: issued for the right names, renewed in time, reloaded live."""

from __future__ import annotations

import datetime
import os
import ssl
from pathlib import Path

from cryptography import x509

from kuorum.webhook.tls import (
    ClientCertificates,
    ServingContext,
    covers,
    due,
    issue_ca,
    issue_serving,
    not_after,
)

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def test_serving_certificate_chains_to_the_ca_and_names_its_sans() -> None:
    ca = issue_ca(now=NOW)
    serving = issue_serving(ca, ["127.0.0.1", "kuorum-webhook.kuorum-system.svc"], now=NOW)
    certificate = x509.load_pem_x509_certificate(serving.certificate)
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.certificate))
    assert covers(serving.certificate, ["127.0.0.1", "kuorum-webhook.kuorum-system.svc"])
    assert not covers(serving.certificate, ["::1"])
    assert "key=<hidden>" in repr(serving) and "PRIVATE" not in repr(serving)


def test_renewal_is_due_in_the_last_third_of_the_lifetime() -> None:
    serving = issue_serving(issue_ca(now=NOW), ["127.0.0.1"], now=NOW)
    lifetime = not_after(serving.certificate) - NOW
    assert not due(serving.certificate, now=NOW + lifetime / 2)
    assert due(serving.certificate, now=NOW + lifetime * 0.7)


def test_files_are_reloaded_only_when_they_change(tmp_path: Path) -> None:
    ca = issue_ca(now=NOW)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    first = issue_serving(ca, ["127.0.0.1"], now=NOW)
    cert.write_bytes(first.certificate)
    key.write_bytes(first.key)
    serving = ServingContext()
    assert serving.load_files(cert, key) is True
    assert serving.load_files(cert, key) is False
    second = issue_serving(ca, ["127.0.0.1"], now=NOW + datetime.timedelta(days=1))
    cert.write_bytes(second.certificate)
    key.write_bytes(second.key)
    os.utime(cert, (1, 1))  # a rewrite within the same mtime tick must still count
    assert serving.load_files(cert, key) is True
    assert serving.expires == not_after(second.certificate)
    assert isinstance(serving.context, ssl.SSLContext)


def test_a_pair_in_memory_loads_into_the_context() -> None:
    pair = issue_serving(issue_ca(now=NOW), ["127.0.0.1"], now=NOW)
    serving = ServingContext()
    serving.load_pair(pair)
    assert serving.expires == not_after(pair.certificate)


# -- who may call /mutate


APISERVER = ((("organizationName", "x"),), (("commonName", "kube-apiserver-webhook-client"),))


def test_client_certificates_allow_only_the_named_verified_callers() -> None:
    named = ClientCertificates(["kube-apiserver-webhook-client"])
    assert named.allows({"subject": APISERVER})
    assert not named.allows({"subject": ((("commonName", "kuorum-admin"),),)})
    assert not named.allows(None) and not named.allows({})
    assert ClientCertificates([]).allows({"subject": ((("commonName", "anyone"),),)})
