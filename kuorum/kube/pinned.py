"""TLS client contexts that trust exactly one node's published certificate.

Share nodes serve self-signed certificates and publish them in their ShareNode; every
client (operator, peers, ``kuorum ledger verify``) trusts that one certificate and
nothing else, so a token or a request never reaches an endpoint that cannot prove it.
"""

from __future__ import annotations

import ssl


def pinned_context(certificate_pem: str) -> ssl.SSLContext:
    """Return a client context whose only trust anchor is ``certificate_pem``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=certificate_pem)
    return context
