"""Decide one pod admission: skip, inject (a patch), or deny with a code and a reason.

Pure apart from the cache read: the server calls it for each request, the fuzz and
unit tests call it directly. Fail closed: a secret that is missing, not Ready or not
allowed for this pod refuses the pod rather than starting it without its secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kuorum import policy
from kuorum.webhook import patch
from kuorum.webhook.annotations import SecretRef, parse, requests_injection
from kuorum.webhook.denials import AccessDenied, Denial, SecretMissing, SecretNotReady
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
            targets = {
                ref: self._target(ref, request.namespace, account) for ref in wanted.secrets()
            }
            ops = patch.build(pod, wanted, targets, namespace=request.namespace)
        except Denial as denial:
            return Decision(
                denied(request.uid, denial.code, denial.message), Result.DENIED, denial.code
            )
        return Decision(allowed(request.uid, ops), Result.INJECTED if ops else Result.UNCHANGED)

    def _target(self, ref: SecretRef, pod_namespace: str, account: str) -> str:
        """Check the pod may use ``ref``; return the target Secret's name."""
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
        return secret.target
