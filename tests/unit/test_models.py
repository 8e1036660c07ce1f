"""kuorum.models: specs parse with defaults, errors name the field path and the fix, and the
checked-in CRDs are exactly what the models generate."""

from __future__ import annotations

import base64
import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from modelkit import commitments, specs

from kuorum import models
from kuorum.models import (
    Charset,
    Condition,
    ConditionStatus,
    ConditionType,
    DecentralizedSecret,
    DecentralizedSecretSpec,
    InvalidSpec,
    Kem,
    LabelSelector,
    NodeState,
    NodeStatus,
    Reason,
    SecretStatus,
    ShareNode,
    ShareNodeSpec,
    crdgen,
    format_duration,
    parse_duration,
    set_condition,
)
from kuorum.models._openapi import Schema


def b64(size: int, fill: int = 7) -> str:
    return base64.b64encode(bytes([fill]) * size).decode()


def generated_spec(**extra: Any) -> dict[str, Any]:
    return {
        "threshold": 2,
        "shares": 3,
        "source": {"generate": {"keys": [{"name": "password"}]}},
        **extra,
    }


def sealed_spec(shares: int = 3) -> dict[str, Any]:
    return {
        "threshold": 2,
        "shares": shares,
        "source": {
            "sealed": {
                "version": 1,
                "commitments": base64.b64encode(commitments(2, shares)).decode(),
                "payload": b64(40),
                "sealer": b64(32),
                "shares": [
                    {
                        "node": f"node-{i}",
                        "index": i,
                        "sealedShare": b64(200, i),
                        "nodeKeyFingerprint": "ab" * 16,
                    }
                    for i in range(1, shares + 1)
                ],
            }
        },
    }


def node_spec(kem: str = "X25519", key_size: int = 32) -> dict[str, Any]:
    return {
        "endpoint": "https://node-1.kuorum-system.svc:8443",
        "zone": "zone-a",
        "signingKey": b64(32),
        "encryptionKey": {"kem": kem, "publicKey": b64(key_size)},
        "tlsCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    }


# --- parsing valid specs ---------------------------------------------------------------


def test_defaults_are_applied_in_python_not_in_the_schema() -> None:
    spec = DecentralizedSecretSpec.from_dict(generated_spec())
    key = spec.source.generate.keys[0] if spec.source.generate else None
    assert key == models.GeneratedKey("password", 32, Charset.ALPHANUMERIC)
    assert spec.target == models.Target(None, "Opaque")
    assert spec.access is None and spec.rotation is None and spec.node_selector is None
    assert spec.source.kind == "generate"
    for crd in models.crds():
        root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert [p for p, s in _properties(root, "") if "default" in s] == []


def test_target_name_defaults_to_the_resource_name() -> None:
    obj = {
        "metadata": {"namespace": "team-a", "name": "db-creds", "generation": 3},
        "spec": generated_spec(),
    }
    secret = DecentralizedSecret.from_object(obj)
    assert (secret.target_name, secret.ref, secret.generation) == ("db-creds", "team-a/db-creds", 3)
    obj["spec"]["target"] = {"name": "db", "type": "kubernetes.io/basic-auth"}
    assert DecentralizedSecret.from_object(obj).target_name == "db"


@pytest.mark.parametrize(
    "kind", ["kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token", "x/y"]
)
def test_a_target_type_outside_the_allowed_ones_is_refused_with_the_fix(kind: str) -> None:
    """A token Secret grants an identity: a tenant must not make the operator write one."""
    obj = {"metadata": {"namespace": "team-a", "name": "db"}, "spec": generated_spec()}
    obj["spec"]["target"] = {"type": kind}
    with pytest.raises(InvalidSpec) as refused:
        DecentralizedSecret.from_object(obj)
    assert "spec.target.type" in str(refused.value)
    assert "kubernetes.io/tls" in str(refused.value)  # the fix lists what is allowed


def test_threshold_one_needs_allow_single_custodian() -> None:
    """One custodian is no split at all: a spec must say it means that."""
    spec = {**generated_spec(), "threshold": 1}
    with pytest.raises(InvalidSpec) as refused:
        DecentralizedSecretSpec.from_dict(spec)
    assert "spec.threshold" in str(refused.value)
    assert "allowSingleCustodian: true" in str(refused.value)
    allowed = DecentralizedSecretSpec.from_dict({**spec, "allowSingleCustodian": True})
    assert allowed.allow_single_custodian and allowed.to_dict()["allowSingleCustodian"] is True
    assert (
        "allowSingleCustodian" not in DecentralizedSecretSpec.from_dict(generated_spec()).to_dict()
    )


def test_a_source_is_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        models.Source()
    only = models.FromSecret("legacy")
    with pytest.raises(ValueError, match="exactly one"):
        models.Source(models.Generate((models.GeneratedKey("a"),)), only)
    assert models.Source(from_secret=only).kind == "fromSecret"


def test_sealed_source_decodes_binary_fields() -> None:
    sealed = DecentralizedSecretSpec.from_dict(sealed_spec()).source.sealed
    assert sealed is not None
    assert sealed.sealer == bytes([7]) * 32
    assert [s.index for s in sealed.shares] == [1, 2, 3]
    assert sealed.shares[1].sealed_share == bytes([2]) * 200
    assert "sealed_share" not in repr(sealed.shares[0])


def test_rotation_interval_is_a_go_duration() -> None:
    spec = DecentralizedSecretSpec.from_dict(generated_spec(rotation={"interval": "1h30m"}))
    assert spec.rotation is not None and spec.rotation.interval == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1m", 60),
        ("90s", 90),
        ("720h", 2_592_000),
        ("1.5h", 5400),
        ("1h0m30s", 3630),
        ("1500ms", 1.5),
    ],
    ids=["minute", "seconds", "month", "fraction", "mixed", "milliseconds"],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "1", "1d", "h", "-1h", "1 h", "1h 30m"])
def test_parse_duration_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**7))
def test_format_duration_round_trips(seconds: int) -> None:
    text = format_duration(timedelta(seconds=seconds))
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_parse_duration_refuses_what_go_cannot_hold() -> None:
    with pytest.raises(ValueError, match="290 years"):
        parse_duration("2562048h")
    assert parse_duration("2562047h") == timedelta(hours=2562047)


@pytest.mark.parametrize(
    ("charset", "size"),
    [
        ("alphanumeric", 62),
        ("alpha", 52),
        ("numeric", 10),
        ("hex", 16),
        ("base64url", 64),
        ("ascii-printable", 94),
    ],
)
def test_charset_alphabets(charset: str, size: int) -> None:
    alphabet = Charset(charset).alphabet
    assert len(alphabet) == len(set(alphabet)) == size
    assert " " not in alphabet and all(c.isprintable() and c.isascii() for c in alphabet)


def test_to_object_round_trips_the_whole_manifest() -> None:
    obj = {"metadata": {"namespace": "team-a", "name": "db"}, "spec": sealed_spec()}
    secret = DecentralizedSecret.from_object(obj)
    manifest = secret.to_object()
    assert manifest["apiVersion"] == "kuorum.io/v1alpha1"
    assert manifest["kind"] == "DecentralizedSecret"
    assert DecentralizedSecret.from_object(manifest) == secret


def test_label_selector_matches_like_kubernetes() -> None:
    selector = LabelSelector.from_dict(
        {
            "matchLabels": {"tier": "gold"},
            "matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a", "b"]},
                {"key": "drain", "operator": "DoesNotExist"},
            ],
        },
        where="spec.nodeSelector",
    )
    assert selector.matches({"tier": "gold", "zone": "a"})
    assert not selector.matches({"tier": "gold", "zone": "c"})
    assert not selector.matches({"tier": "gold", "zone": "a", "drain": "yes"})
    assert not selector.matches({"zone": "a"})
    assert LabelSelector().matches({})


def test_share_node_spec() -> None:
    spec = ShareNodeSpec.from_dict(node_spec("MLKEM768_X25519", 1216))
    assert spec.encryption_key.kem is Kem.MLKEM768_X25519
    assert len(spec.encryption_key.public_key) == 1216
    assert ShareNodeSpec.from_dict(spec.to_dict()) == spec


def test_share_node_errors_name_the_node() -> None:
    bad = node_spec(key_size=31)
    with pytest.raises(InvalidSpec) as caught:
        ShareNode.from_object({"metadata": {"name": "node-1"}, "spec": bad})
    assert str(caught.value).startswith(
        "ShareNode node-1: spec.encryptionKey.publicKey: decodes to 31 bytes, expected 32"
    )


# --- invalid specs: field path and fix --------------------------------------------------


def _with(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    *parents, last = re.findall(r"[^.\[\]]+", path)
    target: Any = out
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return out


_DELETE = object()
_TWO_KEYS = generated_spec(source={"generate": {"keys": [{"name": "a"}, {"name": "b"}]}})

INVALID = [
    ("threshold-above-shares", generated_spec(threshold=4), "spec.threshold", "between 1 and 3"),
    ("shares-too-many", generated_spec(shares=17), "spec.shares", "between 1 and 16"),
    ("threshold-zero", generated_spec(threshold=0), "spec.threshold", "between 1 and 16"),
    ("threshold-string", generated_spec(threshold="2"), "spec.threshold", "without quotes"),
    ("missing-shares", _with(generated_spec(), "shares", _DELETE), "spec.shares", "set"),
    ("unknown-field", generated_spec(treshold=2), "spec.treshold", "did you mean threshold"),
    ("no-source", generated_spec(source={}), "spec.source", "exactly one"),
    (
        "two-sources",
        generated_spec(source={"generate": {"keys": [{"name": "a"}]}, "fromSecret": {"name": "x"}}),
        "spec.source",
        "exactly one",
    ),
    (
        "key-length-zero",
        _with(_TWO_KEYS, "source.generate.keys.1.length", 0),
        "spec.source.generate.keys[1].length",
        "between 1 and 4096",
    ),
    (
        "key-length-huge",
        _with(_TWO_KEYS, "source.generate.keys.0.length", 4097),
        "spec.source.generate.keys[0].length",
        "between 1 and 4096",
    ),
    (
        "key-name-slash",
        _with(_TWO_KEYS, "source.generate.keys.1.name", "a/b"),
        "spec.source.generate.keys[1].name",
        "Secret key name",
    ),
    (
        "key-name-repeated",
        _with(_TWO_KEYS, "source.generate.keys.1.name", "a"),
        "spec.source.generate.keys[1].name",
        "own value",
    ),
    (
        "no-keys",
        generated_spec(source={"generate": {"keys": []}}),
        "spec.source.generate.keys",
        "at least 1",
    ),
    (
        "charset-unknown",
        _with(_TWO_KEYS, "source.generate.keys.0.charset", "emoji"),
        "spec.source.generate.keys[0].charset",
        "alphanumeric",
    ),
    (
        "rotation-not-generated",
        dict(sealed_spec(), rotation={"interval": "24h"}),
        "spec.rotation",
        "only generated secrets",
    ),
    (
        "rotation-too-short",
        generated_spec(rotation={"interval": "30s"}),
        "spec.rotation.interval",
        "1m or more",
    ),
    (
        "rotation-days",
        generated_spec(rotation={"interval": "7d"}),
        "spec.rotation.interval",
        "720h",
    ),
    ("sealed-count", sealed_spec(2) | {"shares": 3}, "spec.source.sealed.shares", "--shares 3"),
    (
        "sealed-other-threshold",
        _with(
            sealed_spec(),
            "source.sealed.commitments",
            base64.b64encode(commitments(3, 3)).decode(),
        ),
        "spec.source.sealed.commitments",
        "--threshold 2 --shares 3",
    ),
    (
        "sealed-commitments-malformed",
        _with(sealed_spec(), "source.sealed.commitments", b64(96)),
        "spec.source.sealed.commitments",
        "seal again",
    ),
    (
        "sealed-without-version",
        _with(sealed_spec(), "source.sealed.version", _DELETE),
        "spec.source.sealed.version",
        "integer",
    ),
    (
        "sealed-not-base64",
        _with(sealed_spec(), "source.sealed.payload", "not base64!"),
        "spec.source.sealed.payload",
        "kuorum seal",
    ),
    (
        "sealed-repeated-node",
        _with(sealed_spec(), "source.sealed.shares.2.node", "node-1"),
        "spec.source.sealed.shares[2].node",
        "own value",
    ),
    (
        "sealed-sealer-size",
        _with(sealed_spec(), "source.sealed.sealer", b64(31)),
        "spec.source.sealed.sealer",
        "whole key",
    ),
    (
        "namespace-uppercase",
        generated_spec(access={"namespaces": ["Team-B"]}),
        "spec.access.namespaces[0]",
        "DNS-1123",
    ),
    (
        "service-account-two-colons",
        generated_spec(access={"serviceAccounts": ["a:b:c"]}),
        "spec.access.serviceAccounts[0]",
        "namespace:name",
    ),
    (
        "empty-namespaces",
        generated_spec(access={"namespaces": []}),
        "spec.access.namespaces",
        "omit it",
    ),
    (
        "target-name-invalid",
        generated_spec(target={"name": "Db_Creds"}),
        "spec.target.name",
        "Secret name",
    ),
    (
        "selector-in-without-values",
        generated_spec(nodeSelector={"matchExpressions": [{"key": "zone", "operator": "In"}]}),
        "spec.nodeSelector.matchExpressions[0].values",
        "at least one",
    ),
    (
        "selector-bad-operator",
        generated_spec(nodeSelector={"matchExpressions": [{"key": "zone", "operator": "Is"}]}),
        "spec.nodeSelector.matchExpressions[0].operator",
        "NotIn",
    ),
    (
        "selector-labels-not-object",
        generated_spec(nodeSelector={"matchLabels": ["zone"]}),
        "spec.nodeSelector.matchLabels",
        "key: value",
    ),
    (
        "selector-label-value",
        generated_spec(nodeSelector={"matchLabels": {"zone": "a b"}}),
        "spec.nodeSelector.matchLabels.zone",
        "label value",
    ),
]


@pytest.mark.parametrize(
    ("spec", "path", "fix"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_specs_name_the_field_and_the_fix(
    spec: dict[str, Any], path: str, fix: str
) -> None:
    with pytest.raises(InvalidSpec) as caught:
        DecentralizedSecretSpec.from_dict(spec)
    assert caught.value.path == path
    assert fix in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")


INVALID_NODES = [
    ("endpoint-http", {"endpoint": "http://n:1"}, "spec.endpoint", "https:// URL"),
    (
        "kem-unknown",
        {"encryptionKey": {"kem": "RSA", "publicKey": b64(32)}},
        "spec.encryptionKey.kem",
        "MLKEM768_X25519, X25519",
    ),
    (
        "hybrid-key-too-short",
        {"encryptionKey": {"kem": "MLKEM768_X25519", "publicKey": b64(32)}},
        "spec.encryptionKey.publicKey",
        "expected 1216",
    ),
    ("signing-key-missing", {"signingKey": None}, "spec.signingKey", "is required"),
    ("certificate-not-pem", {"tlsCertificate": "hello"}, "spec.tlsCertificate", "PEM"),
    ("zone-with-space", {"zone": "zone a"}, "spec.zone", "zone name"),
]


@pytest.mark.parametrize(
    ("change", "path", "fix"), [c[1:] for c in INVALID_NODES], ids=[c[0] for c in INVALID_NODES]
)
def test_invalid_node_specs_name_the_field_and_the_fix(
    change: dict[str, Any], path: str, fix: str
) -> None:
    spec = {k: v for k, v in (node_spec() | change).items() if v is not None}
    with pytest.raises(InvalidSpec) as caught:
        ShareNodeSpec.from_dict(spec)
    assert caught.value.path == path
    assert fix in str(caught.value)


def test_errors_name_the_object() -> None:
    obj = {"metadata": {"namespace": "team-a", "name": "db"}, "spec": generated_spec(shares=0)}
    with pytest.raises(InvalidSpec, match=r"^DecentralizedSecret team-a/db: spec\.shares: "):
        DecentralizedSecret.from_object(obj)


def test_where_prefixes_every_path() -> None:
    with pytest.raises(InvalidSpec) as caught:
        DecentralizedSecretSpec.from_dict(generated_spec(threshold=9), where="items[0].spec")
    assert caught.value.path == "items[0].spec.threshold"


def test_sealed_values_never_appear_in_errors() -> None:
    spec = _with(sealed_spec(), "source.sealed.shares.0.sealedShare", "c2VjcmV0")
    spec = _with(spec, "source.sealed.shares.0.index", 99)
    with pytest.raises(InvalidSpec) as caught:
        DecentralizedSecretSpec.from_dict(spec)
    assert "c2VjcmV0" not in str(caught.value)


# --- round trips (hypothesis) -----------------------------------------------------------


@given(specs())
def test_to_dict_round_trips(spec: DecentralizedSecretSpec) -> None:
    assert DecentralizedSecretSpec.from_dict(spec.to_dict()) == spec


@given(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=6))
def test_garbage_raises_invalid_spec_only(data: dict[str, Any]) -> None:
    try:
        DecentralizedSecretSpec.from_dict(data)
    except InvalidSpec as error:
        assert error.path.startswith("spec")


# --- status -----------------------------------------------------------------------------


def test_status_to_dict_uses_crd_names_and_leaves_out_unset_fields() -> None:
    now = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    ready = Condition(
        ConditionType.READY, ConditionStatus.TRUE, Reason.COMMITTED, "version 3 on 3 nodes", now, 2
    )
    status = SecretStatus(
        conditions=(ready,),
        version=3,
        shares_reachable=3,
        nodes=(NodeStatus("node-1", 1, NodeState.STORED),),
    )
    assert status.to_dict() == {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Committed",
                "message": "version 3 on 3 nodes",
                "lastTransitionTime": "2026-11-24T18:00:00Z",
                "observedGeneration": 2,
            }
        ],
        "version": 3,
        "sharesReachable": 3,
        "nodes": [{"name": "node-1", "index": 1, "state": "Stored", "message": ""}],
    }
    assert Condition.from_dict(ready.to_dict()) == ready


def test_set_condition_keeps_transition_time_while_status_holds() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    t1 = t0 + timedelta(hours=1)
    old = Condition("Ready", ConditionStatus.FALSE, Reason.DISTRIBUTING, "", t0)
    same = set_condition(
        [old], Condition("Ready", ConditionStatus.FALSE, Reason.WAITING_FOR_NODES, "1 of 3", t1)
    )
    assert same[0].last_transition_time == t0 and same[0].reason == "WaitingForNodes"
    flipped = set_condition(same, Condition("Ready", ConditionStatus.TRUE, "Committed", "", t1))
    assert [c.last_transition_time for c in flipped] == [t1]


_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))
_conditions = st.lists(
    st.builds(
        Condition,
        st.sampled_from(ConditionType).map(str),
        st.sampled_from(ConditionStatus),
        st.sampled_from(Reason).map(str),
        st.text(max_size=20),
        _times,
        st.none() | st.integers(0, 99),
    ),
    max_size=3,
).map(tuple)
_ints = st.none() | st.integers(0, 10**6)
_fingerprints = st.none() | st.from_regex(r"\A[0-9a-f]{8}\Z")


@given(
    st.builds(
        SecretStatus,
        st.none() | _conditions,
        _ints,
        _ints,
        _ints,
        st.none() | _times,
        st.none() | _times,
        _ints,
        st.none() | st.text(max_size=8),
        st.none()
        | st.lists(
            st.builds(
                NodeStatus,
                st.text(min_size=1, max_size=8),
                st.integers(1, 16),
                st.sampled_from(NodeState),
                st.text(max_size=8),
                _fingerprints,
                _fingerprints,
            ),
            max_size=3,
        ).map(tuple),
        st.none()
        | st.lists(st.builds(models.BadShare, st.text(max_size=8), st.integers(0, 99), _times)).map(
            tuple
        ),
        st.none() | st.builds(models.LedgerSummary, st.integers(0, 99), st.none() | _times),
    )
)
def test_secret_status_round_trips(status: SecretStatus) -> None:
    assert SecretStatus.from_dict(status.to_dict()) == status


@given(
    st.builds(
        models.ShareNodeStatus,
        st.none() | _conditions,
        _ints,
        _ints,
        st.none()
        | st.builds(
            models.CheckpointSummary,
            st.integers(0, 99),
            st.text(max_size=8),
            st.none() | st.text(max_size=30),
        ),
        st.none() | _times,
    )
)
def test_share_node_status_round_trips(status: models.ShareNodeStatus) -> None:
    assert models.ShareNodeStatus.from_dict(status.to_dict()) == status


@pytest.mark.parametrize(
    "text",
    ["2026-01-01T01:00:00Z", "2026-01-01T01:00:00.000Z", "2026-01-01T02:00:00+01:00"],
    ids=["zulu", "fraction", "offset"],
)
def test_parse_time_reads_rfc3339(text: str) -> None:
    assert models.parse_time(text) == datetime(2026, 1, 1, 1, tzinfo=UTC)


def test_times_must_carry_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        models.parse_time("2026-01-01T01:00:00")
    with pytest.raises(ValueError, match="timezone"):
        models.format_time(datetime(2026, 1, 1))


def _status_paths(schema: Schema, prefix: str) -> set[str]:
    props = schema.get("properties") or (schema.get("items") or {}).get("properties") or {}
    out = set()
    for name, child in props.items():
        out.add(f"{prefix}.{name}")
        out |= _status_paths(child, f"{prefix}.{name}")
    return out


def _dict_paths(data: Any, prefix: str) -> set[str]:
    if isinstance(data, list):
        return set().union(*(_dict_paths(d, prefix) for d in data)) if data else set()
    if not isinstance(data, dict):
        return set()
    out = set()
    for key, value in data.items():
        out.add(f"{prefix}.{key}")
        out |= _dict_paths(value, f"{prefix}.{key}")
    return out


def test_every_status_field_has_a_place_in_the_schema() -> None:
    """The apiserver prunes unknown status fields: a full status must survive it."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cond = Condition("Ready", ConditionStatus.TRUE, "Committed", "ok", now, 1)
    secret = SecretStatus(
        (cond,),
        1,
        2,
        3,
        now,
        now,
        3,
        "ab" * 32,
        (NodeStatus("n", 1, NodeState.KEY_CHANGED, "m", "aa", "bb"),),
        (models.BadShare("n", 2, now),),
        models.LedgerSummary(4, now),
        (models.Copy("web", "db"),),
    ).to_dict()
    node = models.ShareNodeStatus(
        (cond,), 1, 2, models.CheckpointSummary(2, "cm9vdA==", "n"), now
    ).to_dict()
    secret_crd, node_crd, _ = (
        c["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for c in models.crds()
    )
    assert _dict_paths(secret, "status") <= _status_paths(
        secret_crd["properties"]["status"], "status"
    )
    assert _dict_paths(node, "status") <= _status_paths(node_crd["properties"]["status"], "status")


def test_node_heartbeat_status_fits_the_schema() -> None:
    """What node/server.py and node/registration.py write today."""
    written = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Serving",
                "message": "accepting requests",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
        "lastHeartbeatTime": "2026-01-01T00:00:00Z",
        "sharesHeld": 1,
        "ledgerSize": 2,
        "checkpoint": {"size": 2, "rootHash": "cm9vdA=="},
    }
    node_crd = models.crds()[1]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _dict_paths(written, "status") <= _status_paths(
        node_crd["properties"]["status"], "status"
    )


# --- the CRDs ---------------------------------------------------------------------------


def test_checked_in_crds_equal_the_generated_ones() -> None:
    for name, text in crdgen.generated().items():
        path = crdgen.DEFAULT_DIRECTORY / name
        assert path.exists(), f"{path} is missing: run `make crds`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make crds`"
    assert sorted(p.name for p in crdgen.DEFAULT_DIRECTORY.glob("*.yaml")) == sorted(
        crdgen.generated()
    )


def test_crdgen_check_mode(tmp_path: Any) -> None:
    assert crdgen.main(["--check", str(tmp_path)]) == 1
    assert crdgen.main([str(tmp_path)]) == 0
    assert crdgen.main(["--check", str(tmp_path)]) == 0


def _properties(schema: Schema, path: str) -> list[tuple[str, Schema]]:
    out = []
    for name, child in (schema.get("properties") or {}).items():
        out.append((f"{path}.{name}", child))
        out += _properties(child, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out.append((f"{path}[]", schema[key]))
            out += _properties(schema[key], f"{path}[]")
    return out


@pytest.mark.parametrize("crd", models.crds(), ids=lambda c: c["spec"]["names"]["kind"])
def test_every_schema_property_has_a_description(crd: dict[str, Any]) -> None:
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    missing = [p for p, s in _properties(root, "") if not s.get("description")]
    assert missing == [".metadata"]  # the apiserver forbids documenting metadata
    nested = [p for p, _ in _properties(root, "") if p.startswith(".spec.") and p.count(".") > 2]
    assert nested, "the walk reached the nested fields"


def test_crd_names_and_columns() -> None:
    secret, node, grant = models.crds()
    assert secret["metadata"]["name"] == "decentralizedsecrets.kuorum.io"
    assert secret["spec"]["scope"] == "Namespaced"
    assert secret["spec"]["names"]["shortNames"] == ["dsec"]
    assert node["spec"]["scope"] == "Cluster"
    assert node["spec"]["names"]["shortNames"] == ["snode"]
    columns = [c["name"] for c in secret["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns == ["Threshold", "Shares", "Version", "Ready", "Reachable", "Age"]
    columns = [c["name"] for c in node["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns == ["Endpoint", "Zone", "Ready", "Shares", "Ledger", "Age"]
    assert grant["metadata"]["name"] == "deliverygrants.kuorum.io"
    assert grant["spec"]["scope"] == "Namespaced"
    assert grant["spec"]["names"]["shortNames"] == ["dgrant"]


def test_schema_enums_come_from_the_python_enums() -> None:
    text = yaml.safe_dump(models.crds())
    for value in [*Charset, *Kem, *NodeState]:
        assert str(value) in text


def test_kems_match_the_envelope() -> None:
    from kuorum import envelope

    assert tuple(str(k) for k in Kem) == tuple(envelope.KEMS)


def test_facade_exports_everything_public() -> None:
    public = {n for n in dir(models) if not n.startswith("_")}
    assert public - {"crdgen"} == set(models.__all__)


# --- docs and examples ------------------------------------------------------------------

REPOSITORY = crdgen.DEFAULT_DIRECTORY.parent
API_DOC = REPOSITORY / "docs" / "api.md"
EXAMPLES = [REPOSITORY / "examples" / n for n in ("generated-secret.yaml", "from-secret.yaml")]


def documented_manifests() -> list[dict[str, Any]]:
    """The examples and every YAML block of docs/api.md."""
    blocks = re.findall(r"```yaml\n(.*?)```", API_DOC.read_text(), re.S)
    texts = [p.read_text() for p in EXAMPLES] + blocks
    return [d for t in texts for d in yaml.safe_load_all(t) if d]


def test_examples_and_doc_manifests_parse() -> None:
    manifests = documented_manifests()
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == ["DecentralizedSecret"] * 4 + ["DeliveryGrant"] * 2 + ["Namespace", "ShareNode"]
    for manifest in manifests:
        if manifest["kind"] == "ShareNode":
            ShareNode.from_object(manifest)
        elif manifest["kind"] == "DeliveryGrant":
            models.DeliveryGrant.from_object(manifest)
        elif manifest["kind"] == "DecentralizedSecret":
            DecentralizedSecret.from_object(manifest)


def _leaf_paths(schema: Schema, path: str) -> list[str]:
    out = []
    for name, child in (schema.get("properties") or {}).items():
        out.append(f"{path}.{name}")
        if name != "conditions":
            out += _leaf_paths(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        out += _leaf_paths(schema["items"], f"{path}[]")
    return out


@pytest.mark.parametrize("crd", models.crds(), ids=lambda c: c["spec"]["names"]["kind"])
def test_api_doc_names_every_field(crd: dict[str, Any]) -> None:
    doc = API_DOC.read_text()
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    paths = _leaf_paths(root["properties"]["spec"], "spec")
    paths += _leaf_paths(root["properties"]["status"], "status")
    assert [p for p in paths if f"`{p}`" not in doc] == []


def test_api_doc_names_every_reason_and_state() -> None:
    doc = API_DOC.read_text()
    assert [str(v) for v in [*Reason, *NodeState] if f"`{v}`" not in doc] == []


def test_a_delivery_grant_names_who_may_deliver_and_bad_ones_name_the_field() -> None:
    grant = models.DeliveryGrant.from_object(
        {
            "metadata": {"namespace": "shop", "name": "g"},
            "spec": {"from": [{"namespace": "finance", "name": "payments"}, {"namespace": "ops"}]},
        }
    )
    assert grant.allows("finance", "payments") and not grant.allows("finance", "other")
    assert grant.allows("ops", "anything") and not grant.allows("shop", "payments")
    with pytest.raises(InvalidSpec) as caught:
        models.DeliveryGrant.from_object(
            {"metadata": {"namespace": "shop", "name": "g"}, "spec": {"from": [{"ns": "x"}]}}
        )
    text = str(caught.value)
    assert "DeliveryGrant shop/g" in text and "spec.from[0].ns" in text and "namespace" in text
