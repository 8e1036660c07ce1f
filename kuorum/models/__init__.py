"""DecentralizedSecret and ShareNode: parsed specs, status shapes, condition names and
the CRDs, all from one place.

Pure: no Kubernetes I/O. The CRD schemas in ``crds/`` are generated from
:func:`crds` (``make crds``), so the schema the apiserver enforces and the parsing
here share their limits (``_limits``). Errors::

    KuorumError
     └─ UserError
         └─ InvalidSpec   names the object, the field path (spec.source.generate.keys[1].length)
                          and the fix
"""

from kuorum.models._conditions import (
    ConditionStatus,
    ConditionType,
    NodeState,
    Reason,
    is_ready,
    ready_reason,
)
from kuorum.models._crds import crds
from kuorum.models._duration import format_duration, parse_duration
from kuorum.models._errors import InvalidSpec
from kuorum.models._grant import DeliveryGrant, GrantFrom
from kuorum.models._limits import (
    DEFAULT_CHARSET,
    DEFAULT_KEY_LENGTH,
    DEFAULT_SECRET_TYPE,
    DNS_SUBDOMAIN_MAX,
    DNS_SUBDOMAIN_PATTERN,
    KEY_NAME_PATTERN,
    MAX_SHARES,
    UID_PATTERN,
    Charset,
    Delivery,
    Kem,
    SecretType,
    SelectorOperator,
    is_dns_label,
    is_dns_subdomain,
)
from kuorum.models._node import EncryptionKey, ShareNode, ShareNodeSpec
from kuorum.models._secret import (
    Access,
    DecentralizedSecret,
    DecentralizedSecretSpec,
    FromSecret,
    Generate,
    GeneratedKey,
    Rotation,
    Sealed,
    SealedEntry,
    Source,
    Target,
)
from kuorum.models._selector import LabelSelector, Requirement
from kuorum.models._status import (
    BadShare,
    CheckpointSummary,
    Condition,
    Copy,
    LedgerSummary,
    NodeStatus,
    SecretStatus,
    ShareNodeStatus,
    format_time,
    parse_time,
    set_condition,
)

__all__ = [
    "DEFAULT_CHARSET",
    "DEFAULT_KEY_LENGTH",
    "DEFAULT_SECRET_TYPE",
    "DNS_SUBDOMAIN_MAX",
    "DNS_SUBDOMAIN_PATTERN",
    "KEY_NAME_PATTERN",
    "MAX_SHARES",
    "UID_PATTERN",
    "Access",
    "BadShare",
    "Charset",
    "CheckpointSummary",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "Copy",
    "DecentralizedSecret",
    "DecentralizedSecretSpec",
    "Delivery",
    "DeliveryGrant",
    "EncryptionKey",
    "FromSecret",
    "Generate",
    "GeneratedKey",
    "GrantFrom",
    "InvalidSpec",
    "Kem",
    "LabelSelector",
    "LedgerSummary",
    "NodeState",
    "NodeStatus",
    "Reason",
    "Requirement",
    "Rotation",
    "Sealed",
    "SealedEntry",
    "SecretStatus",
    "SecretType",
    "SelectorOperator",
    "ShareNode",
    "ShareNodeSpec",
    "ShareNodeStatus",
    "Source",
    "Target",
    "crds",
    "format_duration",
    "format_time",
    "is_dns_label",
    "is_dns_subdomain",
    "is_ready",
    "parse_duration",
    "parse_time",
    "ready_reason",
    "set_condition",
]
