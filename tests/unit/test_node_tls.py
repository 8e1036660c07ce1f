"""The node's serving certificate: SANs as given, and a client pinned to it connects."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509

from kuorum.kube.pinned import pinned_context
from kuorum.node.tls import certificate_names, make_certificate

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def test_sans_keep_ips_and_dns_names_apart() -> None:
    pem, _ = make_certificate("node-a", ["127.0.0.1", "localhost", "::1"], now=NOW)
    certificate = x509.load_pem_x509_certificate(pem)
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert certificate_names(pem) == {"127.0.0.1", "localhost", "::1"}


def test_no_san_is_an_error_that_names_the_flag() -> None:
    with pytest.raises(ValueError, match="--tls-san"):
        make_certificate("node-a", [], now=NOW)


def test_pinned_context_trusts_exactly_that_certificate() -> None:
    pem, _ = make_certificate("node-a", ["127.0.0.1"], now=NOW)
    context = pinned_context(pem.decode())
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert len(context.get_ca_certs()) == 1
