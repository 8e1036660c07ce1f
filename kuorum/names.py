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
GRANT_KIND: Final = "DeliveryGrant"
GRANT_PLURAL: Final = "deliverygrants"
GRANT_SHORT: Final = "dgrant"

SYSTEM_NAMESPACES: Final = ("kube-system", "kube-public", "kube-node-lease")
"""Never targets of a DecentralizedSecret (nor is the namespace Kuorum runs in)."""

SYSTEM_NAMESPACE: Final = "kuorum-system"
OPERATOR_ACCOUNT: Final = "kuorum-operator"
NODE_ACCOUNT: Final = "kuorum-node"
WEBHOOK_ACCOUNT: Final = "kuorum-webhook"

NODE_AUDIENCE_PREFIX: Final = f"{GROUP}/node/"
"""Audiences of node credentials: the prefix, then the node's name."""


def node_audience(node: str) -> str:
    """The one audience node ``node`` accepts: a token for one node is useless at another."""
    return f"{NODE_AUDIENCE_PREFIX}{node}"


POD_NAME_EXTRA: Final = "authentication.kubernetes.io/pod-name"
"""The user-info extra the apiserver adds for a token bound to a pod: that pod's name."""
POD_UID_EXTRA: Final = "authentication.kubernetes.io/pod-uid"
"""User-info extra naming the uid of the pod a pod-bound token belongs to."""

SERVICE_ACCOUNT_PREFIX: Final = "system:serviceaccount:"
"""How the apiserver names a ServiceAccount in a TokenReview: prefix, namespace, ':', name."""


def service_account_user(namespace: str, account: str) -> str:
    """The username the apiserver gives the ServiceAccount ``namespace/account``."""
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{account}"


OPERATOR_USER: Final = service_account_user(SYSTEM_NAMESPACE, OPERATOR_ACCOUNT)
"""The operator's identity as the nodes see it, where the chart's defaults are kept."""

NODE_PINS_CONFIGMAP: Final = "kuorum-node-pins"
"""The operator's pins of the nodes' keys, in its namespace (nodes cannot write it)."""

NEVER_INJECTED: Final = ("kube-system",)
"""Namespaces the webhook never mutates, beside the one Kuorum runs in (its own pods)."""


def ledger_origin(node: str) -> str:
    """The C2SP origin line of the node ``node``'s ledger (also its note key name)."""
    return f"{GROUP}/node/{node}"


INJECT_LABEL: Final = "kuorum.io/inject"
"""Pod label that routes a pod through the webhook (objectSelector); value "true"."""

FINALIZER: Final = "kuorum.io/shares"
VERSION_ANNOTATION: Final = "kuorum.io/version"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "kuorum"

# Pod annotations read by the admission webhook (grammar in docs/webhook.md).
ENV_ANNOTATION: Final = "kuorum.io/env"
"""DecentralizedSecrets injected as environment variables: ``db, other/api(token=API_TOKEN)``."""
ENV_PREFIX_ANNOTATION: Final = "kuorum.io/env-prefix"
"""Prefix put before every variable the webhook injects (``envFrom.prefix`` too)."""
VOLUME_ANNOTATION: Final = "kuorum.io/volume"
"""DecentralizedSecrets mounted read-only: ``tls(tls.crt,tls.key)=/etc/tls, db``."""
CONTAINERS_ANNOTATION: Final = "kuorum.io/containers"
"""Containers to inject into (default: every container)."""
INIT_CONTAINERS_ANNOTATION: Final = "kuorum.io/init-containers"
"""Init containers to inject into too (default: none; ``*`` for all)."""
INJECTED_ANNOTATION: Final = "kuorum.io/injected"
"""Set by the webhook on pods it mutated: the secrets injected, never a value."""
RESTART_ON_ROTATION_ANNOTATION: Final = "kuorum.io/restart-on-rotation"
"""Opt-in on a Deployment/StatefulSet/DaemonSet: ``"true"`` restarts it on a new version."""
SECRET_VERSIONS_ANNOTATION: Final = "kuorum.io/secret-versions"
"""Written into a workload's pod template: the versions its current rollout consumes."""
