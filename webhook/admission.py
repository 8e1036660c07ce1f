"""Decide one pod admission: skip, inject (a patch), or deny with a code and a reason.

Pure apart from the cache read: the server calls it for each request, the fuzz and
unit tests call it directly. Fail closed: a secret that is missing, not Ready or not
allowed for this pod refuses the pod rather than starting it without its secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kuorum import names, policy
from kuorum.agentconfig import AgentNode
from kuorum.models import Delivery
from kuorum.webhook import patch
from kuorum.webhook.annotations import InjectionRequest, SecretRef, parse, requests_injection
from kuorum.webhook.denials import (
    AccessDenied,
    AnnotationError,
    Denial,
    SecretMissing,
    SecretNotReady,
)
from kuorum.webhook.registration import excluded_namespaces
from kuorum.webhook.review import AdmissionRequest, allowed, denied
from kuorum.webhook.secretview import SecretView

MISSING = (
    "DecentralizedSecret {namespace}/{name} (named in the pod's kuorum.io annotations) does "
    "not exist; create it or fix the annotation"
)
NOT_READY = (
    "DecentralizedSecret {namespace}/{name} is not Ready yet (reason {reason}), so its "
    "Secret may not exist; check `kubectl describe dsec -n {namespace} {name}` and create "
    "the pod again"
)
INVALID = "{problem}; the secret cannot be injected until its spec is fixed"
POD_ENV = (
    "DecentralizedSecret {namespace}/{name} has spec.delivery Pod: its values exist only as "
    "files the kuorum agent writes in the pod, never as environment variables; name it in "
    f"{names.VOLUME_ANNOTATION} instead of {names.ENV_ANNOTATION}, and have the container "
    "read the files"
)
POD_ITEMS = (
    "DecentralizedSecret {namespace}/{name} has spec.delivery Pod: the agent writes every "
    f"key; drop the (key, ...) list of its {names.VOLUME_ANNOTATION} entry"
)
NO_NODES = (
    "DecentralizedSecret {namespace}/{name} has spec.delivery Pod but none of its share nodes "
    "({nodes}) is registered as a ShareNode the webhook knows yet; create the pod again"
)
NO_AGENT_IMAGE = (
    "DecentralizedSecret {namespace}/{name} has spec.delivery Pod but this webhook runs "
    "without --agent-image, so it cannot add the kuorum agent; start it with --agent-image "
    "(the Helm chart passes its own image)"
)
FORBIDDEN = (
    "DecentralizedSecret {namespace}/{name} does not allow pods of namespace {pod_namespace} "
    "with service account {account}: {reason}; its owner can allow them in spec.access"
)


class Result:
    """Outcome labels of the admissions metric (a closed set)."""

    INJECTED = "injected"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    DENIED = "denied"
    MALFORMED = "malformed"
    FORBIDDEN = "forbidden"
    """The caller is not the apiserver (no or wrong client certificate)."""


@dataclass(frozen=True)
class Decision:
    """The AdmissionReview to send back, and the metric label it counts under."""

    review: dict[str, Any]
    result: str
    code: int = 200


@dataclass(frozen=True)
class Admission:
    """Admit pods against a lookup of DecentralizedSecrets (the watched cache)."""

    lookup: Callable[[str, str], SecretView | None]
    excluded_namespaces: frozenset[str] = field(default=frozenset(excluded_namespaces()))
    """Never mutated (also excluded by the configuration's namespaceSelector)."""
    nodes: Callable[[str], AgentNode | None] = lambda name: None
    """The registration of a ShareNode by name (the watched cache), for delivery Pod."""
    agent_image: str = ""
    """The image of the ``kuorum agent`` sidecar (delivery Pod); empty: none can be added."""

    def decide(self, request: AdmissionRequest) -> Decision:
        """Answer ``request``; every Denial becomes a refusal with its code."""
        pod = request.pod
        metadata = pod.get("metadata") or {}
        if (
            request.operation != "CREATE"
            or request.kind != "Pod"
            or request.namespace in self.excluded_namespaces
            or not requests_injection(metadata.get("labels"))
        ):
            return Decision(allowed(request.uid), Result.SKIPPED)
        try:
            wanted = parse(metadata.get("annotations"))
            account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
            views = {ref: self._target(ref, request.namespace, account) for ref in wanted.secrets()}
            targets = {ref: view.target for ref, view in views.items()}
            delivered = {
                ref: self._delivered(ref, view, wanted)
                for ref, view in views.items()
                if view.delivery == Delivery.POD
            }
            ops = patch.build(
                pod,
                wanted,
                targets,
                namespace=request.namespace,
                delivered=delivered,
                agent_image=self.agent_image,
            )
        except Denial as denial:
            return Decision(
                denied(request.uid, denial.code, denial.message), Result.DENIED, denial.code
            )
        return Decision(allowed(request.uid, ops), Result.INJECTED if ops else Result.UNCHANGED)

    def _target(self, ref: SecretRef, pod_namespace: str, account: str) -> SecretView:
        """Check the pod may use ``ref``; return what the cache knows of it."""
        namespace, name = ref.resolve(pod_namespace)
        secret = self.lookup(namespace, name)
        if secret is None:
            raise SecretMissing(MISSING.format(namespace=namespace, name=name))
        if secret.invalid is not None:
            raise SecretNotReady(INVALID.format(problem=secret.invalid))
        if not secret.ready:
            raise SecretNotReady(
                NOT_READY.format(namespace=namespace, name=name, reason=secret.reason or "none yet")
            )
        decision = policy.evaluate(
            secret.access,
            secret_namespace=namespace,
            namespace=pod_namespace,
            service_account=account,
            secret_name=name,
        )
        if not decision.allowed:
            raise AccessDenied(
                FORBIDDEN.format(
                    namespace=namespace,
                    name=name,
                    pod_namespace=pod_namespace,
                    account=account,
                    reason=decision.reason,
                )
            )
        return secret

    def _delivered(
        self, ref: SecretRef, secret: SecretView, wanted: InjectionRequest
    ) -> list[AgentNode]:
        """The nodes the agent asks for a delivery-Pod secret; refuse what cannot work."""
        where = {"namespace": secret.namespace, "name": secret.name}
        if any(source.secret == ref for source in wanted.env):
            raise AnnotationError(POD_ENV.format(**where))
        if any(source.secret == ref and source.items for source in wanted.volumes):
            raise AnnotationError(POD_ITEMS.format(**where))
        if not self.agent_image:
            raise SecretNotReady(NO_AGENT_IMAGE.format(**where))
        known = [node for node in map(self.nodes, secret.nodes) if node is not None]
        if not known:
            raise SecretNotReady(NO_NODES.format(nodes=", ".join(secret.nodes) or "none", **where))
        return known
