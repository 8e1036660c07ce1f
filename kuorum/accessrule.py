"""Where a secret's values may go, as a rule every share node can read and check.

A version's shares are bound to the :meth:`AccessRule.digest` of its rule (in each share's
context and the payload's associated data), so changing the rule needs a new version or a
re-seal. The operator sends the rule itself with each share; the node recomputes the
digest and refuses a rule that does not match. With delivery ``Pod`` the node then checks
every pod that asks for its share against that rule with :func:`kuorum.policy.evaluate`,
the rule the webhook applies too, so no single component decides alone.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kuorum.envelope._codec import fields, text
from kuorum.errors import KuorumError
from kuorum.models import Access, DecentralizedSecret, Delivery, InvalidSpec

_LABEL = b"kuorum/rule/v1"
_COUNT = struct.Struct(">I")


class InvalidRule(KuorumError):
    """A rule document that does not parse (names the field)."""


@dataclass(frozen=True)
class AccessRule:
    """A secret's target, access rule, namespace uid and delivery mode."""

    target_name: str
    target_type: str
    access: Access | None
    namespace_uid: str | None
    """Empty when sealed offline without one: then any namespace of that name."""
    delivery: Delivery = Delivery.SECRET

    @classmethod
    def of(cls, secret: DecentralizedSecret, namespace_uid: str | None) -> AccessRule:
        """The rule of ``secret`` as its spec is now."""
        spec = secret.spec
        return cls(secret.target_name, spec.target.type, spec.access, namespace_uid, spec.delivery)

    def digest(self) -> bytes:
        """SHA-256 of the rule. Lists are sorted: the rule is the same whatever order its
        entries are written in.

        ``"kuorum/rule/v1" || field(uid) || field(target name) || field(target type)
        || list(namespaces) || list(service accounts) [|| field("Pod")]``, a list being
        ``0x00`` when absent, else ``0x01 || u32 count || field(entry)*``; the delivery
        mode is appended only when it is Pod, so rules bound before it existed keep
        their digests.
        """
        access = self.access or Access()
        pod = fields(text(self.delivery)) if self.delivery == Delivery.POD else b""
        return hashlib.sha256(
            _LABEL
            + fields(text(self.namespace_uid or ""), text(self.target_name), text(self.target_type))
            + _entries(access.namespaces)
            + _entries(access.service_accounts)
            + pod
        ).digest()

    def to_json(self) -> dict[str, Any]:
        """The wire form a node receives with each share (unset fields left out)."""
        out: dict[str, Any] = {"targetName": self.target_name, "targetType": self.target_type}
        if self.namespace_uid:
            out["namespaceUID"] = self.namespace_uid
        if self.access is not None:
            out["access"] = self.access.to_dict()
        if self.delivery != Delivery.SECRET:
            out["delivery"] = str(self.delivery)
        return out

    @classmethod
    def from_json(cls, body: object) -> AccessRule:
        """Read :meth:`to_json` back; :class:`InvalidRule` names what is wrong."""
        if not isinstance(body, Mapping):
            raise InvalidRule("field 'accessRule' must be a JSON object")
        try:
            access = body.get("access")
            rule = cls(
                _text(body, "targetName"),
                _text(body, "targetType"),
                Access.from_dict(access, where="accessRule.access") if access else None,
                _text(body, "namespaceUID") if "namespaceUID" in body else None,
                Delivery(body.get("delivery", Delivery.SECRET)),
            )
        except (InvalidSpec, ValueError) as error:
            raise InvalidRule(f"field 'accessRule' is malformed: {error}") from None
        return rule


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _entries(items: Sequence[str] | None) -> bytes:
    if items is None:
        return b"\x00"
    ordered = sorted(set(items))
    return b"\x01" + _COUNT.pack(len(ordered)) + fields(*(text(item) for item in ordered))
