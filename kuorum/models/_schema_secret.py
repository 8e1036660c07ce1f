"""OpenAPI v3 schema of DecentralizedSecret: field docs and the rules the apiserver enforces."""

from __future__ import annotations

from kuorum import names
from kuorum.models._conditions import ConditionType, NodeState
from kuorum.models._limits import (
    CHARSET_HELP,
    DEFAULT_CHARSET,
    DEFAULT_KEY_LENGTH,
    DEFAULT_SECRET_TYPE,
    DNS_LABEL_MAX,
    DNS_LABEL_PATTERN,
    DNS_SUBDOMAIN_MAX,
    DNS_SUBDOMAIN_PATTERN,
    DURATION_MAX,
    DURATION_PATTERN,
    ED25519_PUBLIC_BASE64,
    FINGERPRINT_MAX,
    FINGERPRINT_PATTERN,
    KEY_LENGTH_MAX,
    KEY_LENGTH_MIN,
    KEY_NAME_MAX,
    KEY_NAME_PATTERN,
    MAX_ACCESS_ENTRIES,
    MAX_COMMITMENTS_BASE64,
    MAX_KEYS,
    MAX_PAYLOAD_BASE64,
    MAX_SEALED_SHARE_BASE64,
    MAX_SHARES,
    MAX_VERSION,
    MIN_ROTATION_INTERVAL_GO,
    SERVICE_ACCOUNT_ENTRY_MAX,
    SERVICE_ACCOUNT_ENTRY_PATTERN,
    UID_MAX,
    UID_PATTERN,
    Charset,
    Delivery,
    SecretType,
)
from kuorum.models._openapi import (
    Schema,
    array,
    boolean,
    cel_regex,
    integer,
    obj,
    resource,
    rule,
    string,
    timestamp,
)
from kuorum.models._schema_common import conditions, label_selector

_IMMUTABLE = "{field} is immutable: create a new DecentralizedSecret to change it"


def _base64(description: str, max_length: int) -> Schema:
    return string(description, pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=max_length)


def _generate() -> Schema:
    key = obj(
        "One key of the target Secret, filled with random characters.",
        {
            "name": string(
                "Key name in the target Secret (e.g. password).",
                pattern=KEY_NAME_PATTERN,
                max_length=KEY_NAME_MAX,
            ),
            "length": integer(
                f"Number of characters; default {DEFAULT_KEY_LENGTH}.",
                minimum=KEY_LENGTH_MIN,
                maximum=KEY_LENGTH_MAX,
            ),
            "charset": string(
                f"Characters to draw from: {CHARSET_HELP}; default {DEFAULT_CHARSET}.",
                enum=Charset,
            ),
        },
        required=("name",),
    )
    return obj(
        "Kuorum generates the values: they exist whole only in the target Secret.",
        {
            "keys": array(
                "Keys to generate; names are unique.",
                key,
                max_items=MAX_KEYS,
                min_items=1,
                list_type="map",
                map_keys=("name",),
            )
        },
        required=("keys",),
    )


def _from_secret() -> Schema:
    return obj(
        "Import the values of an existing Secret in this namespace.",
        {
            "name": string(
                "Name of the Secret to import.",
                pattern=DNS_SUBDOMAIN_PATTERN,
                max_length=DNS_SUBDOMAIN_MAX,
            ),
            "deleteAfterImport": boolean(
                "Delete the imported Secret once the first version "
                "is committed on every node; default false."
            ),
        },
        required=("name",),
    )


def _sealed() -> Schema:
    share = obj(
        "One share, sealed by `kuorum seal` to one node's encryption key.",
        {
            "node": string(
                "Name of the ShareNode that can open this share.",
                pattern=DNS_SUBDOMAIN_PATTERN,
                max_length=DNS_SUBDOMAIN_MAX,
            ),
            "index": integer(
                "Share index (x coordinate), 1 to spec.shares.", minimum=1, maximum=MAX_SHARES
            ),
            "sealedShare": _base64(
                "The share, HPKE-sealed to the node and signed by the sealer (base64).",
                MAX_SEALED_SHARE_BASE64,
            ),
            "nodeKeyFingerprint": string(
                "Fingerprint of the node keys sealed to (hex); a "
                "node with other keys cannot open the share.",
                pattern=FINGERPRINT_PATTERN,
                max_length=FINGERPRINT_MAX,
            ),
        },
        required=("node", "index", "sealedShare", "nodeKeyFingerprint"),
    )
    return obj(
        "Output of `kuorum seal`: safe to commit to Git; no single party, the operator "
        "included, can open it.",
        {
            "version": integer(
                "The version every share and the payload are bound to (`kuorum seal "
                "--version`); new values need a higher version.",
                minimum=1,
                maximum=MAX_VERSION,
            ),
            "commitments": _base64(
                "Pedersen commitments every share is verified against (base64).",
                MAX_COMMITMENTS_BASE64,
            ),
            "payload": _base64(
                "The values, encrypted under the data key (AES-256-GCM, base64).",
                MAX_PAYLOAD_BASE64,
            ),
            "sealer": string(
                "Ed25519 public key of the sealing run that signed the shares (base64).",
                pattern=r"^[A-Za-z0-9+/]{43}=$",
                max_length=ED25519_PUBLIC_BASE64,
            ),
            "namespaceUID": string(
                "metadata.uid of the namespace sealed for (`kuorum seal` reads it, or "
                "--namespace-uid offline). Part of the sealed access rule: a namespace "
                "deleted and re-created does not receive the secret. Absent: not bound to "
                "a uid.",
                pattern=UID_PATTERN,
                max_length=UID_MAX,
            ),
            "shares": array(
                "One sealed share per node; exactly spec.shares entries, indexes unique.",
                share,
                max_items=MAX_SHARES,
                min_items=1,
                list_type="map",
                map_keys=("index",),
                rules=[
                    rule(
                        "self.all(a, self.exists_one(b, b.node == a.node))",
                        "each node may hold only one share",
                    )
                ],
            ),
        },
        required=("version", "commitments", "payload", "sealer", "shares"),
    )


def _spec() -> Schema:
    counted = (
        "(has(self.generate) ? 1 : 0) + (has(self.fromSecret) ? 1 : 0) + "
        "(has(self.sealed) ? 1 : 0) == 1"
    )
    return obj(
        "What to share and with whom: t-of-n sharing of values from one source.",
        {
            "threshold": integer(
                "t: shares needed to recover a version; 2 to spec.shares (1 only with "
                "spec.allowSingleCustodian). Immutable.",
                minimum=1,
                maximum=MAX_SHARES,
                rules=[rule("self == oldSelf", _IMMUTABLE.format(field="spec.threshold"))],
            ),
            "allowSingleCustodian": boolean(
                "Allow threshold 1, where any one share node alone holds the whole key "
                "(no split at all). Off by default; say so only where one custodian is "
                "what you want."
            ),
            "shares": integer(
                f"n: nodes that each hold one share; up to {MAX_SHARES}. Immutable.",
                minimum=1,
                maximum=MAX_SHARES,
                rules=[rule("self == oldSelf", _IMMUTABLE.format(field="spec.shares"))],
            ),
            "nodeSelector": label_selector(
                "Which ShareNodes may hold shares (by label); default every ShareNode."
            ),
            "source": obj(
                "Where the values come from; set exactly one of generate, fromSecret, sealed.",
                {"generate": _generate(), "fromSecret": _from_secret(), "sealed": _sealed()},
                rules=[
                    rule(
                        counted, "spec.source must set exactly one of generate, fromSecret, sealed"
                    )
                ],
            ),
            "rotation": obj(
                "Rotate generated values on a schedule (only with source.generate).",
                {
                    "interval": string(
                        f"Time between versions, a duration like 24h or 720h; at least "
                        f"{MIN_ROTATION_INTERVAL_GO}.",
                        max_length=DURATION_MAX,
                        rules=[
                            rule(
                                f"self.matches({cel_regex(DURATION_PATTERN)}) && "
                                f"duration(self) >= duration('{MIN_ROTATION_INTERVAL_GO}')",
                                "spec.rotation.interval must be a duration like 24h or 720h, "
                                f"at least {MIN_ROTATION_INTERVAL_GO}",
                            )
                        ],
                    )
                },
                required=("interval",),
            ),
            "target": obj(
                "The Secret the operator materializes.",
                {
                    "name": string(
                        f"Name of the target Secret; default the {names.SECRET_KIND}'s own name.",
                        pattern=DNS_SUBDOMAIN_PATTERN,
                        max_length=DNS_SUBDOMAIN_MAX,
                    ),
                    "type": string(
                        f"Secret type; default {DEFAULT_SECRET_TYPE}. Types that grant an "
                        "identity (service-account or bootstrap tokens) are refused.",
                        enum=SecretType,
                    ),
                },
            ),
            "delivery": string(
                "How values reach pods. Secret (default): the operator writes the target "
                "Secret. Pod: no Secret is written; the webhook adds the kuorum agent to "
                "each consuming pod, every share node checks that pod against spec.access "
                "itself, and the values exist only in the pod's memory volume.",
                enum=Delivery,
            ),
            "access": obj(
                "Who may consume the secret; enforced by the webhook when it admits a pod, "
                "and with delivery Pod by every share node too. "
                "Absent: pods of this namespace, any service account.",
                {
                    "namespaces": array(
                        "Namespaces (besides this one) whose pods may consume; the target Secret "
                        "is copied into each.",
                        string(
                            "A namespace name.", pattern=DNS_LABEL_PATTERN, max_length=DNS_LABEL_MAX
                        ),
                        max_items=MAX_ACCESS_ENTRIES,
                        min_items=1,
                        list_type="set",
                    ),
                    "serviceAccounts": array(
                        "Service accounts that may consume: `name` (in this namespace) or "
                        "`namespace:name`. Absent: any service account of an allowed namespace.",
                        string(
                            "A service account: name or namespace:name.",
                            pattern=SERVICE_ACCOUNT_ENTRY_PATTERN,
                            max_length=SERVICE_ACCOUNT_ENTRY_MAX,
                        ),
                        max_items=MAX_ACCESS_ENTRIES,
                        min_items=1,
                        list_type="set",
                    ),
                },
            ),
        },
        required=("threshold", "shares", "source"),
        rules=[
            rule(
                "self.threshold <= self.shares",
                "spec.threshold must not exceed spec.shares",
                field_path=".threshold",
            ),
            rule(
                "self.threshold > 1 || "
                "(has(self.allowSingleCustodian) && self.allowSingleCustodian)",
                "spec.threshold is 1: any one share node alone would hold the whole key; "
                "set it to 2 or more, or set spec.allowSingleCustodian: true",
                field_path=".threshold",
            ),
            rule(
                "!has(self.rotation) || has(self.source.generate)",
                "spec.rotation is only allowed with spec.source.generate: sealed or "
                "imported values cannot be regenerated",
                field_path=".rotation",
            ),
            rule(
                "!has(self.source.sealed) || size(self.source.sealed.shares) == self.shares",
                "spec.source.sealed.shares must have exactly spec.shares entries: seal "
                "again with as many shares",
                field_path=".source.sealed.shares",
            ),
            rule(
                "!has(self.source.sealed) || "
                "self.source.sealed.shares.all(s, s.index <= self.shares)",
                "spec.source.sealed.shares[].index must be between 1 and spec.shares",
                field_path=".source.sealed.shares",
            ),
        ],
    )


def _status() -> Schema:
    node = obj(
        "One chosen node as this secret sees it.",
        {
            "name": string("ShareNode name.", max_length=DNS_SUBDOMAIN_MAX),
            "index": integer("Share index held by this node.", minimum=1, maximum=MAX_SHARES),
            "state": string(
                "Stored, Pending, Unreachable, BadShare or KeyChanged.", enum=NodeState
            ),
            "message": string("Details for humans.", max_length=4096),
            "signingKeyFingerprint": string(
                "Fingerprint of the node's Ed25519 signing key pinned when its share was sent.",
                max_length=128,
            ),
            "encryptionKeyFingerprint": string(
                "Fingerprint of the node's encryption key pinned when its share was sent.",
                max_length=128,
            ),
        },
        required=("name", "index", "state"),
    )
    bad = obj(
        "A share that failed verification against the commitments.",
        {
            "node": string("Node that returned it.", max_length=DNS_SUBDOMAIN_MAX),
            "version": integer("Secret version.", minimum=0),
            "time": timestamp("When it was detected."),
        },
        required=("node", "version", "time"),
    )
    return obj(
        "Observed state, written by the operator.",
        {
            "conditions": conditions(", ".join(ConditionType)),
            "observedGeneration": integer("metadata.generation last acted on.", minimum=0),
            "version": integer(
                "Current committed version (stored on every chosen node).", minimum=0
            ),
            "pendingVersion": integer(
                "Version being distributed; becomes current once every node stored it.", minimum=0
            ),
            "nextRotationTime": timestamp("When the next rotation is due."),
            "lastCollectionTime": timestamp(
                "When shares were last collected to materialize the target Secret."
            ),
            "sharesReachable": integer("Chosen nodes that answered at the last check.", minimum=0),
            "commitmentsDigest": string(
                "SHA-256 (hex) of the current version's commitments; "
                "compare with `kuorum ledger verify`.",
                max_length=128,
            ),
            "nodes": array(
                "Chosen nodes and the state of their shares.",
                node,
                max_items=MAX_SHARES,
                list_type="map",
                map_keys=("name",),
            ),
            "badShares": array(
                "Recent shares that failed verification (newest last).",
                bad,
                max_items=64,
                list_type="atomic",
            ),
            "copies": array(
                "Target Secrets the operator wrote (recorded before writing); one no longer "
                "allowed by spec.target, spec.access or a DeliveryGrant is deleted.",
                obj(
                    "One target Secret.",
                    {
                        "namespace": string("Its namespace.", max_length=DNS_LABEL_MAX),
                        "name": string("Its name.", max_length=DNS_SUBDOMAIN_MAX),
                    },
                    required=("namespace", "name"),
                ),
                max_items=MAX_ACCESS_ENTRIES + 1,
                list_type="atomic",
            ),
            "ledger": obj(
                "Ledger entries about this secret across the nodes.",
                {
                    "entries": integer("Number of entries.", minimum=0),
                    "lastCheckpoint": timestamp("Time of the latest checkpoint that covers them."),
                },
            ),
        },
    )


def schema() -> Schema:
    """The whole object schema (``openAPIV3Schema``)."""
    return resource(
        f"{names.SECRET_KIND}: a secret split t-of-n across ShareNodes; the operator "
        "materializes it as a Secret for pods allowed by spec.access.",
        kind=names.SECRET_KIND,
        spec=_spec(),
        status=_status(),
    )
