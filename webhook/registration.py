"""The MutatingWebhookConfiguration that routes labelled pods to the webhook.

One builder for every installer (``kuorum dev up`` by URL, tests, self-managed TLS
keeping the caBundle current), so the selectors that keep the webhook out of everyone
else's way are written once:

- ``objectSelector``: only pods labelled ``kuorum.io/inject=true`` are sent, so every
  other pod is admitted even while the webhook is down;
- ``namespaceSelector``: never kube-system nor Kuorum's own namespace (its own pods);
- ``failurePolicy: Fail``: a labelled pod is refused, never started without its secret;
- ``reinvocationPolicy: IfNeeded``: our patch is idempotent, so a second call is safe.
"""

from __future__ import annotations

import base64
from typing import Any

from kuorum import names

MUTATE_PATH = "/mutate"
"""Where the server answers AdmissionReviews."""
CONFIGURATION_NAME = "kuorum-webhook"
"""Name of the MutatingWebhookConfiguration (the RBAC rules name it too)."""
WEBHOOK_NAME = "inject.kuorum.io"
TIMEOUT_SECONDS = 5


def excluded_namespaces(own: str = names.SYSTEM_NAMESPACE) -> tuple[str, ...]:
    """Namespaces never mutated: kube-system and Kuorum's own (where its pods run)."""
    return (*names.NEVER_INJECTED, own)


def configuration(
    *,
    ca_bundle: bytes,
    url: str | None = None,
    service: tuple[str, str, int] | None = None,
    excluded_namespaces: tuple[str, ...] = excluded_namespaces(),
) -> dict[str, Any]:
    """Build the configuration for a webhook reached by ``url`` or by ``service``.

    ``ca_bundle`` is the PEM of the CA(s) that sign the serving certificate; ``service``
    is ``(namespace, name, port)`` of an in-cluster Service. Give exactly one of the two.
    """
    if (url is None) == (service is None):
        raise ValueError("give exactly one of url= and service=")
    client_config: dict[str, Any] = {"caBundle": base64.b64encode(ca_bundle).decode()}
    if url is not None:
        client_config["url"] = url
    else:
        assert service is not None
        namespace, name, port = service
        client_config["service"] = {
            "namespace": namespace,
            "name": name,
            "port": port,
            "path": MUTATE_PATH,
        }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": CONFIGURATION_NAME},
        "webhooks": [
            {
                "name": WEBHOOK_NAME,
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "reinvocationPolicy": "IfNeeded",
                "matchPolicy": "Equivalent",
                "timeoutSeconds": TIMEOUT_SECONDS,
                "clientConfig": client_config,
                "rules": [
                    {
                        "operations": ["CREATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                        "scope": "Namespaced",
                    }
                ],
                "objectSelector": {"matchLabels": {names.INJECT_LABEL: "true"}},
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "NotIn",
                            "values": list(excluded_namespaces),
                        }
                    ]
                },
            }
        ],
    }
