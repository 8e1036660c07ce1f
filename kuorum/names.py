"""Names users and components type: the API group, kinds, labels and annotations.

Kept in one place so the CRDs, the components, the chart and the docs cannot drift.
"""

from typing import Final

GROUP: Final = "kuorum.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

SECRET_KIND: Final = "DecentralizedSecret"
SECRET_PLURAL: Final = "decentralizedsecrets"
SECRET_SHORT: Final = "dsec"
NODE_KIND: Final = "ShareNode"
NODE_PLURAL: Final = "sharenodes"
NODE_SHORT: Final = "snode"

SYSTEM_NAMESPACE: Final = "kuorum-system"
OPERATOR_ACCOUNT: Final = "kuorum-operator"
NODE_ACCOUNT: Final = "kuorum-node"
WEBHOOK_ACCOUNT: Final = "kuorum-webhook"

NODE_TOKEN_AUDIENCE: Final = "kuorum.io/node"
"""Audience of the service-account tokens the operator presents to share nodes."""

INJECT_LABEL: Final = "kuorum.io/inject"
"""Pod label that routes a pod through the webhook (objectSelector); value "true"."""

FINALIZER: Final = "kuorum.io/shares"
VERSION_ANNOTATION: Final = "kuorum.io/version"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "kuorum"
