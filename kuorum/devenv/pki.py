"""Certificates and keys of a local control plane, made with ``cryptography``.

One CA signs the apiserver's serving certificate and the client certificates (the
admin in ``system:masters``, the controller manager); a separate key pair signs
service-account tokens, so TokenRequest and TokenReview work as in a real cluster.
The local node's identities come from the same CA, as kubeadm makes them: the kubelet
as ``system:node:<name>`` in ``system:nodes`` (what Node authorization and
NodeRestriction judge), its serving pair, the scheduler, kube-proxy, CoreDNS, and the
apiserver's own client for the kubelet API (``kubectl logs``/``exec``).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kuorum import certificates
from kuorum.devenv import hostnet
from kuorum.files import write_private

VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class Pki:
    """Paths of every PEM file the control plane uses."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.directory / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.directory / "apiserver.key"

    @property
    def sa_public(self) -> Path:
        return self.directory / "sa.pub"

    @property
    def sa_private(self) -> Path:
        return self.directory / "sa.key"

    def client(self, name: str) -> tuple[Path, Path]:
        """Return (certificate, key) paths of the client called ``name``."""
        return self.directory / f"{name}.crt", self.directory / f"{name}.key"


WEBHOOK_CLIENT = "kube-apiserver-webhook-client"
"""The client certificate the apiserver presents to admission webhooks (and its CN)."""
KUBELET_CLIENT = "kube-apiserver-kubelet-client"
"""The client certificate the apiserver presents to the kubelet (and its CN)."""
KUBELET, KUBELET_SERVING = "kubelet", "kubelet-serving"
SCHEDULER, PROXY, COREDNS = "kube-scheduler", "kube-proxy", "coredns"
COREDNS_USER = "kuorum-dev:coredns"


def create(directory: Path) -> Pki:
    """Create a CA, the apiserver serving pair, client pairs and the SA signing pair."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    pki = Pki(directory)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kuorum-dev-ca")])
    ca_cert = (
        certificates.builder(ca_name, ca_name, ca_key.public_key(), now=now, validity=VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(certificates.key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write_pair(pki.ca_cert, pki.ca_key, ca_cert, ca_key)

    def issue(
        cn: str, *, orgs: tuple[str, ...] = (), server: list[x509.GeneralName] | None = None
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
        subject = x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        purpose = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            certificates.builder(subject, ca_name, key.public_key(), now=now, validity=VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                certificates.key_usage(cert_sign=False, key_encipherment=True), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(server), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    apiserver_names = [
        *map(x509.DNSName, ("localhost", "kubernetes", "kubernetes.default")),
        *map(x509.DNSName, ("kubernetes.default.svc", "kubernetes.default.svc.cluster.local")),
        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "10.0.0.1")),
        x509.IPAddress(ipaddress.ip_address(hostnet.NODE_IP)),
    ]
    node_user = f"system:node:{hostnet.NODE_NAME}"
    kubelet_names = [
        x509.DNSName(hostnet.NODE_NAME),
        x509.IPAddress(ipaddress.ip_address(hostnet.NODE_IP)),
    ]
    _write_pair(pki.serving_cert, pki.serving_key, *issue("kube-apiserver", server=apiserver_names))
    _write_pair(*pki.client("admin"), *issue("kuorum-admin", orgs=("system:masters",)))
    _write_pair(*pki.client("controller-manager"), *issue("system:kube-controller-manager"))
    _write_pair(*pki.client(WEBHOOK_CLIENT), *issue(WEBHOOK_CLIENT))
    _write_pair(*pki.client(KUBELET_CLIENT), *issue(KUBELET_CLIENT))
    _write_pair(*pki.client(KUBELET), *issue(node_user, orgs=("system:nodes",)))
    _write_pair(*pki.client(KUBELET_SERVING), *issue(node_user, server=kubelet_names))
    _write_pair(*pki.client(SCHEDULER), *issue("system:kube-scheduler"))
    _write_pair(*pki.client(PROXY), *issue("system:kube-proxy"))
    _write_pair(*pki.client(COREDNS), *issue(COREDNS_USER))

    sa_key = ec.generate_private_key(ec.SECP256R1())
    write_private(
        pki.sa_private,
        sa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_private(
        pki.sa_public,
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return pki


def _write_pair(
    cert_path: Path, key_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
