"""Self-managed TLS: a CA and a serving certificate kept in a Secret, caBundle kept current.

For clusters without cert-manager. Every replica runs the same idempotent ``ensure``:
the first one creates the Secret, the others read it (a lost create or update race is
a 409, answered by reading the winner's pair). Renewal happens in the last third of a
certificate's life, long before expiry. Without downtime because the order is:

1. store the new pair (a renewed CA joins the bundle; the old CA stays until it expires);
2. patch the webhook configuration's caBundle with the whole bundle;
3. only then serve the new certificate.

At every moment the apiserver trusts both what is served and what is about to be.
"""

from __future__ import annotations

import base64
import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from kubernetes import client

from kuorum.kube.raw import raw
from kuorum.webhook import tls

CA_CERT, CA_KEY, TLS_CERT, TLS_KEY = "ca.crt", "ca.key", "tls.crt", "tls.key"
CONFLICT, NOT_FOUND = 409, 404
MISSING_CONFIGURATION = (
    "MutatingWebhookConfiguration {name} does not exist, so its caBundle cannot be set; "
    "install it (Helm chart, or kuorum.webhook.registration.configuration) and the "
    "webhook will patch it at its next check"
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class State:
    """What the Secret holds: the CA bundle, the current CA's key, the serving pair."""

    bundle: bytes
    ca_key: bytes
    serving: tls.Pair

    @property
    def ca(self) -> tls.Pair:
        """The newest CA (first in the bundle) with its key."""
        return tls.Pair(_certificates(self.bundle)[0], self.ca_key)


@dataclass(frozen=True)
class SelfManaged:
    """Where the pair lives and which configuration trusts it."""

    api: client.ApiClient
    namespace: str
    secret_name: str
    configuration_name: str
    sans: tuple[str, ...]

    def ensure(self, *, now: datetime.datetime) -> State:
        """Create or renew the pair as needed, patch the caBundle; return what to serve."""
        for _ in range(5):
            stored, version = self._read()
            wanted = self._renewed(stored, now)
            if wanted is stored or self._write(wanted, version):
                assert wanted is not None
                self._patch_bundle(wanted.bundle)
                return wanted
        raise RuntimeError(f"Secret {self.namespace}/{self.secret_name} keeps changing; retry")

    def _renewed(self, stored: State | None, now: datetime.datetime) -> State:
        if stored is None:
            ca = tls.issue_ca(now=now)
            return State(ca.certificate, ca.key, tls.issue_serving(ca, self.sans, now=now))
        ca, bundle = stored.ca, stored.bundle
        if tls.due(ca.certificate, now=now):
            ca = tls.issue_ca(now=now)
            still_valid = [c for c in _certificates(bundle) if tls.not_after(c) > now]
            bundle = ca.certificate + b"".join(still_valid)
        elif (
            not tls.due(stored.serving.certificate, now=now)
            and tls.covers(stored.serving.certificate, self.sans)
            and _issued_by(stored.serving.certificate, ca.certificate)
        ):
            return stored
        logger.info("issuing a new serving certificate for %s", ", ".join(self.sans))
        return State(bundle, ca.key, tls.issue_serving(ca, self.sans, now=now))

    def _read(self) -> tuple[State | None, str | None]:
        try:
            secret = raw(
                client.CoreV1Api(self.api).read_namespaced_secret,
                self.secret_name,
                self.namespace,
            )
        except client.ApiException as error:
            if error.status == NOT_FOUND:
                return None, None
            raise
        data: Mapping[str, str] = secret.get("data") or {}
        version = str(secret["metadata"]["resourceVersion"])
        if not all(key in data for key in (CA_CERT, CA_KEY, TLS_CERT, TLS_KEY)):
            return None, version
        state = State(
            bundle=base64.b64decode(data[CA_CERT]),
            ca_key=base64.b64decode(data[CA_KEY]),
            serving=tls.Pair(base64.b64decode(data[TLS_CERT]), base64.b64decode(data[TLS_KEY])),
        )
        return state, version

    def _write(self, state: State, version: str | None) -> bool:
        """Store ``state``; False when another replica changed the Secret first."""
        encoded = {
            CA_CERT: state.bundle,
            CA_KEY: state.ca_key,
            TLS_CERT: state.serving.certificate,
            TLS_KEY: state.serving.key,
        }
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=self.secret_name, namespace=self.namespace, resource_version=version
            ),
            type="kubernetes.io/tls",
            data={k: base64.b64encode(v).decode() for k, v in encoded.items()},
        )
        core = client.CoreV1Api(self.api)
        try:
            if version is None:
                core.create_namespaced_secret(self.namespace, body)
            else:
                core.replace_namespaced_secret(self.secret_name, self.namespace, body)
        except client.ApiException as error:
            if error.status == CONFLICT:
                return False
            raise
        return True

    def _patch_bundle(self, bundle: bytes) -> None:
        registration = client.AdmissionregistrationV1Api(self.api)
        try:
            current = raw(registration.read_mutating_webhook_configuration, self.configuration_name)
        except client.ApiException as error:
            if error.status == NOT_FOUND:
                logger.warning(MISSING_CONFIGURATION.format(name=self.configuration_name))
                return
            raise
        encoded = base64.b64encode(bundle).decode()
        webhooks = current.get("webhooks") or []
        if all(w.get("clientConfig", {}).get("caBundle") == encoded for w in webhooks):
            return
        # JSON patch by index, guarded by a test of each name: a concurrent edit of the
        # list makes the patch fail (and the next check retry) instead of hitting another
        # entry.
        patch: list[dict[str, str]] = []
        for index, webhook in enumerate(webhooks):
            patch.append(
                {"op": "test", "path": f"/webhooks/{index}/name", "value": webhook["name"]}
            )
            patch.append(
                {"op": "add", "path": f"/webhooks/{index}/clientConfig/caBundle", "value": encoded}
            )
        registration.patch_mutating_webhook_configuration(self.configuration_name, patch)
        logger.info("patched the caBundle of %s", self.configuration_name)


def _certificates(bundle: bytes) -> list[bytes]:
    """Split a PEM bundle into single PEM certificates, in order."""
    return [
        certificate.public_bytes(serialization.Encoding.PEM)
        for certificate in x509.load_pem_x509_certificates(bundle)
    ]


def _issued_by(certificate: bytes, ca: bytes) -> bool:
    try:
        x509.load_pem_x509_certificate(certificate).verify_directly_issued_by(
            x509.load_pem_x509_certificate(ca)
        )
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
