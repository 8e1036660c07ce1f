"""The generated CRDs on a real apiserver: valid objects are stored as written, invalid
ones are refused with a message naming the field, status survives pruning, and kubectl
shows the docs and the printer columns. The Python parser must agree on every case."""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from kubernetes import client
from modelkit import commitments, specs

from kuorum import names
from kuorum.devenv.controlplane import ControlPlane
from kuorum.models import DecentralizedSecretSpec, InvalidSpec, ShareNodeSpec, crdgen

pytestmark = pytest.mark.integration


def b64(size: int, fill: int = 7) -> str:
    return base64.b64encode(bytes([fill]) * size).decode()


GENERATED: dict[str, Any] = {
    "threshold": 2,
    "shares": 3,
    "nodeSelector": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
    "source": {"generate": {"keys": [{"name": "password", "length": 24, "charset": "hex"}]}},
    "rotation": {"interval": "720h"},
    "target": {"name": "db", "type": "Opaque"},
    "access": {"namespaces": ["team-b"], "serviceAccounts": ["api", "team-b:worker"]},
}
FROM_SECRET: dict[str, Any] = {
    "threshold": 1,
    "shares": 1,
    "allowSingleCustodian": True,
    "source": {"fromSecret": {"name": "legacy", "deleteAfterImport": True}},
}
SEALED: dict[str, Any] = {
    "threshold": 2,
    "shares": 2,
    "source": {
        "sealed": {
            "version": 1,
            "commitments": base64.b64encode(commitments(2, 2)).decode(),
            "payload": b64(48),
            "sealer": b64(32),
            "shares": [
                {
                    "node": f"node-{i}",
                    "index": i,
                    "sealedShare": b64(120, i),
                    "nodeKeyFingerprint": "0f" * 16,
                }
                for i in (1, 2)
            ],
        }
    },
}
NODE: dict[str, Any] = {
    "endpoint": "https://127.0.0.1:8443",
    "zone": "zone-a",
    "signingKey": b64(32),
    "encryptionKey": {"kem": "MLKEM768_X25519", "publicKey": b64(1216)},
    "tlsCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}


def changed(spec: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A copy of ``spec`` with dotted paths (``source.generate.keys.0.length``) set."""
    out = copy.deepcopy(spec)
    for dotted, value in fields.items():
        *parents, last = dotted.split("__")
        target: Any = out
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value
    return out


# (id, spec, text the apiserver's message must contain)
INVALID_SECRETS = [
    (
        "threshold-above-shares",
        changed(GENERATED, threshold=4),
        "spec.threshold must not exceed spec.shares",
    ),
    ("shares-above-16", changed(GENERATED, shares=17), "spec.shares"),
    ("threshold-zero", changed(GENERATED, threshold=0), "spec.threshold"),
    (
        "threshold-one-unasked",
        changed(GENERATED, threshold=1),
        "spec.allowSingleCustodian: true",
    ),
    ("no-source", changed(GENERATED, source={}), "spec.source must set exactly one"),
    (
        "two-sources",
        changed(GENERATED, source__fromSecret={"name": "x"}),
        "spec.source must set exactly one",
    ),
    (
        "key-length-zero",
        changed(GENERATED, source__generate__keys__0__length=0),
        "spec.source.generate.keys[0].length",
    ),
    (
        "key-length-above-4096",
        changed(GENERATED, source__generate__keys__0__length=4097),
        "spec.source.generate.keys[0].length",
    ),
    (
        "key-name-slash",
        changed(GENERATED, source__generate__keys__0__name="a/b"),
        "spec.source.generate.keys[0].name",
    ),
    (
        "key-name-repeated",
        changed(GENERATED, source__generate__keys=[{"name": "a"}, {"name": "a"}]),
        "spec.source.generate.keys[1]",
    ),
    (
        "target-type-service-account-token",
        changed(GENERATED, target__type="kubernetes.io/service-account-token"),
        "spec.target.type",
    ),
    (
        "target-type-bootstrap-token",
        changed(GENERATED, target__type="bootstrap.kubernetes.io/token"),
        "spec.target.type",
    ),
    (
        "charset-unknown",
        changed(GENERATED, source__generate__keys__0__charset="emoji"),
        "spec.source.generate.keys[0].charset",
    ),
    (
        "rotation-on-sealed",
        changed(SEALED, rotation={"interval": "24h"}),
        "spec.rotation is only allowed with spec.source.generate",
    ),
    ("rotation-below-1m", changed(GENERATED, rotation__interval="30s"), "spec.rotation.interval"),
    ("rotation-in-days", changed(GENERATED, rotation__interval="7d"), "spec.rotation.interval"),
    (
        "sealed-count-differs",
        changed(SEALED, shares=3, threshold=2),
        "spec.source.sealed.shares must have exactly spec.shares entries",
    ),
    (
        "sealed-version-zero",
        changed(SEALED, source__sealed__version=0),
        "spec.source.sealed.version",
    ),
    (
        "sealed-node-repeated",
        changed(SEALED, source__sealed__shares__1__node="node-1"),
        "spec.source.sealed.shares",
    ),
    (
        "namespace-uppercase",
        changed(GENERATED, access__namespaces=["Team-B"]),
        "spec.access.namespaces[0]",
    ),
    (
        "service-account-malformed",
        changed(GENERATED, access__serviceAccounts=["a:b:c"]),
        "spec.access.serviceAccounts[0]",
    ),
    (
        "selector-in-without-values",
        changed(GENERATED, nodeSelector={"matchExpressions": [{"key": "zone", "operator": "In"}]}),
        "spec.nodeSelector.matchExpressions[0].values",
    ),
    ("target-name-invalid", changed(GENERATED, target__name="Db_Creds"), "spec.target.name"),
]

INVALID_NODES = [
    ("endpoint-not-https", changed(NODE, endpoint="http://127.0.0.1:8443"), "spec.endpoint"),
    ("kem-unknown", changed(NODE, encryptionKey__kem="RSA"), "spec.encryptionKey.kem"),
    (
        "public-key-size",
        changed(NODE, encryptionKey__publicKey=b64(32)),
        "spec.encryptionKey.publicKey must hold",
    ),
    ("signing-key-size", changed(NODE, signingKey=b64(31)), "spec.signingKey"),
    ("certificate-not-pem", changed(NODE, tlsCertificate="hello"), "spec.tlsCertificate"),
]


TEST_LABELS = {"kuorum.io/test": "crds"}
"""On every ShareNode made here, so teardown removes them and no other test dials them."""


@pytest.fixture(scope="module")
def api(control_plane: ControlPlane) -> Iterator[client.CustomObjectsApi]:
    objects = client.CustomObjectsApi(control_plane.api_client())
    yield objects
    objects.delete_collection_cluster_custom_object(
        names.GROUP, names.VERSION, names.NODE_PLURAL, label_selector="kuorum.io/test=crds"
    )


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A namespace of this module's own, deleted (with its secrets) afterwards."""
    name = f"crds-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(name)
    yield name
    client.CoreV1Api(control_plane.api_client()).delete_namespace(name)


def _name() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


def create_secret(
    api: client.CustomObjectsApi, namespace: str, spec: dict[str, Any]
) -> dict[str, Any]:
    body = {
        "apiVersion": names.API_VERSION,
        "kind": names.SECRET_KIND,
        "metadata": {"name": _name()},
        "spec": spec,
    }
    created: dict[str, Any] = api.create_namespaced_custom_object(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, body
    )
    return created


def create_node(api: client.CustomObjectsApi, spec: dict[str, Any]) -> dict[str, Any]:
    body = {
        "apiVersion": names.API_VERSION,
        "kind": names.NODE_KIND,
        "metadata": {"name": _name(), "labels": TEST_LABELS},
        "spec": spec,
    }
    created: dict[str, Any] = api.create_cluster_custom_object(
        names.GROUP, names.VERSION, names.NODE_PLURAL, body
    )
    return created


def refusal(call: Any) -> str:
    """The apiserver's message for a refused request (422 Invalid)."""
    with pytest.raises(client.ApiException) as caught:
        call()
    assert caught.value.status == 422, caught.value.body
    return str(json.loads(caught.value.body)["message"])


@pytest.mark.parametrize(
    "spec", [GENERATED, FROM_SECRET, SEALED], ids=["generate", "fromSecret", "sealed"]
)
def test_valid_secrets_are_stored_as_written(
    api: client.CustomObjectsApi, namespace: str, spec: dict[str, Any]
) -> None:
    created = create_secret(api, namespace, spec)
    assert created["spec"] == spec  # nothing pruned, no server-side defaults (no drift)
    DecentralizedSecretSpec.from_dict(created["spec"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=specs())
def test_apiserver_accepts_every_spec_python_accepts(
    api: client.CustomObjectsApi, namespace: str, spec: DecentralizedSecretSpec
) -> None:
    """The CEL rules and the Python parser agree on valid specs, and nothing is defaulted."""
    body = {
        "apiVersion": names.API_VERSION,
        "kind": names.SECRET_KIND,
        "metadata": {"name": _name()},
        "spec": spec.to_dict(),
    }
    stored = api.create_namespaced_custom_object(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, body, dry_run="All"
    )
    assert stored["spec"] == body["spec"]


@pytest.mark.parametrize("kem, size", [("MLKEM768_X25519", 1216), ("X25519", 32)])
def test_valid_share_nodes_are_stored_as_written(
    api: client.CustomObjectsApi, kem: str, size: int
) -> None:
    spec = changed(NODE, encryptionKey={"kem": kem, "publicKey": b64(size)})
    created = create_node(api, spec)
    assert created["spec"] == spec
    ShareNodeSpec.from_dict(created["spec"])


@pytest.mark.parametrize(
    ("spec", "field"), [c[1:] for c in INVALID_SECRETS], ids=[c[0] for c in INVALID_SECRETS]
)
def test_invalid_secrets_are_refused_naming_the_field(
    api: client.CustomObjectsApi, namespace: str, spec: dict[str, Any], field: str
) -> None:
    message = refusal(lambda: create_secret(api, namespace, spec))
    assert field in message
    with pytest.raises(InvalidSpec):  # the Python models agree with the apiserver
        DecentralizedSecretSpec.from_dict(spec)


@pytest.mark.parametrize(
    ("spec", "field"), [c[1:] for c in INVALID_NODES], ids=[c[0] for c in INVALID_NODES]
)
def test_invalid_share_nodes_are_refused_naming_the_field(
    api: client.CustomObjectsApi, spec: dict[str, Any], field: str
) -> None:
    message = refusal(lambda: create_node(api, spec))
    assert field in message
    with pytest.raises(InvalidSpec):
        ShareNodeSpec.from_dict(spec)


@pytest.mark.parametrize("field", ["threshold", "shares"])
def test_threshold_and_shares_are_immutable(
    api: client.CustomObjectsApi, namespace: str, field: str
) -> None:
    created = create_secret(api, namespace, GENERATED)
    name = created["metadata"]["name"]
    message = refusal(
        lambda: api.patch_namespaced_custom_object(
            names.GROUP,
            names.VERSION,
            namespace,
            names.SECRET_PLURAL,
            name,
            {"spec": {field: 1, "threshold": 1}},
        )
    )
    assert f"spec.{field} is immutable: create a new DecentralizedSecret" in message
    api.patch_namespaced_custom_object(  # other fields stay editable
        names.GROUP,
        names.VERSION,
        namespace,
        names.SECRET_PLURAL,
        name,
        {"spec": {"rotation": {"interval": "24h"}}},
    )


FULL_STATUS: dict[str, Any] = {
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Committed",
            "message": "ok",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
            "observedGeneration": 1,
        },
        {
            "type": "Degraded",
            "status": "True",
            "reason": "NodesUnreachable",
            "message": "node-3 did not answer",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        },
    ],
    "observedGeneration": 1,
    "version": 4,
    "pendingVersion": 5,
    "nextRotationTime": "2026-02-01T00:00:00Z",
    "lastCollectionTime": "2026-01-01T00:00:00Z",
    "sharesReachable": 2,
    "commitmentsDigest": "ab" * 32,
    "nodes": [
        {
            "name": "node-1",
            "index": 1,
            "state": "Stored",
            "message": "",
            "signingKeyFingerprint": "aa",
            "encryptionKeyFingerprint": "bb",
        },
        {"name": "node-3", "index": 3, "state": "Unreachable", "message": "timeout"},
    ],
    "badShares": [{"node": "node-2", "version": 4, "time": "2026-01-01T00:00:00Z"}],
    "ledger": {"entries": 12, "lastCheckpoint": "2026-01-01T00:00:00Z"},
}


def test_full_status_survives_pruning(api: client.CustomObjectsApi, namespace: str) -> None:
    name = create_secret(api, namespace, GENERATED)["metadata"]["name"]
    patched = api.patch_namespaced_custom_object_status(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, name, {"status": FULL_STATUS}
    )
    assert patched["status"] == FULL_STATUS


NODE_STATUS: dict[str, Any] = {
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Serving",
            "message": "accepting requests",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ],
    "sharesHeld": 3,
    "ledgerSize": 9,
    "lastHeartbeatTime": "2026-01-01T00:00:00Z",
    "checkpoint": {"size": 9, "rootHash": b64(32), "note": "kuorum/node-1\n9\nabc=\n"},
}


def test_node_status_survives_pruning(api: client.CustomObjectsApi) -> None:
    name = create_node(api, NODE)["metadata"]["name"]
    patched = api.patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.NODE_PLURAL, name, {"status": NODE_STATUS}
    )
    assert patched["status"] == NODE_STATUS


def test_kubectl_explain_teaches_the_fields(control_plane: ControlPlane) -> None:
    spec = control_plane.kubectl("explain", "dsec.spec").stdout
    for field in ("threshold", "shares", "nodeSelector", "source", "rotation", "target", "access"):
        assert f"  {field}\t" in spec or f"  {field} " in spec, spec
    assert "shares needed to recover a version" in spec
    sealed = control_plane.kubectl("explain", "dsec.spec.source.sealed.shares").stdout
    assert "nodeKeyFingerprint" in sealed
    node = control_plane.kubectl("explain", "snode.spec.encryptionKey.kem").stdout
    assert "MLKEM768_X25519" in node


@pytest.fixture
def shown(api: client.CustomObjectsApi, namespace: str) -> Iterator[str]:
    name = create_secret(api, namespace, GENERATED)["metadata"]["name"]
    api.patch_namespaced_custom_object_status(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, name, {"status": FULL_STATUS}
    )
    yield name


def test_kubectl_get_shows_the_printer_columns(
    control_plane: ControlPlane, api: client.CustomObjectsApi, namespace: str, shown: str
) -> None:
    lines = control_plane.kubectl("get", "dsec", "-A").stdout.splitlines()
    assert lines[0].split() == [
        "NAMESPACE",
        "NAME",
        "THRESHOLD",
        "SHARES",
        "VERSION",
        "READY",
        "REACHABLE",
        "AGE",
    ]
    row = next(line.split() for line in lines if shown in line)
    assert row[:7] == [namespace, shown, "2", "3", "4", "True", "2"]

    node = create_node(api, NODE)["metadata"]["name"]
    api.patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.NODE_PLURAL, node, {"status": NODE_STATUS}
    )
    lines = control_plane.kubectl("get", "snode", node).stdout.splitlines()
    assert lines[0].split() == ["NAME", "ENDPOINT", "ZONE", "READY", "SHARES", "LEDGER", "AGE"]
    assert lines[1].split()[:6] == [node, NODE["endpoint"], "zone-a", "True", "3", "9"]
    kinds = control_plane.kubectl("api-resources", "--categories=kuorum", "-o", "name").stdout
    assert sorted(kinds.split()) == [
        "decentralizedsecrets.kuorum.io",
        "deliverygrants.kuorum.io",
        "sharenodes.kuorum.io",
    ]


def test_examples_and_doc_manifests_are_accepted(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    """examples/*.yaml and the manifests of docs/api.md, applied with kubectl as a user would."""
    repository = crdgen.DEFAULT_DIRECTORY.parent
    for namespace in ("shop", "finance"):
        control_plane.create_namespace(namespace)
    files = [repository / "examples" / n for n in ("generated-secret.yaml", "from-secret.yaml")]
    blocks = re.findall(r"```yaml\n(.*?)```", (repository / "docs" / "api.md").read_text(), re.S)
    for number, block in enumerate(blocks):
        files.append(tmp_path / f"doc-{number}.yaml")
        files[-1].write_text(block)
    assert len(files) == 5
    for path in files:
        result = control_plane.kubectl("apply", "--dry-run=server", "-f", str(path), check=False)
        assert result.returncode == 0, f"{path}: {result.stderr}"
        assert "(server dry run)" in result.stdout
