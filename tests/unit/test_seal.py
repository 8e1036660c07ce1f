"""``kuorum seal`` and :mod:`kuorum.sealing`: what they print opens only with t node keys.

Nodes here are key pairs of our own, published as ShareNode objects in a file (the
offline mode); the cluster mode is exercised by the operator's integration tests.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import names, nodelock, sharing
from kuorum.accessrule import AccessRule
from kuorum.cli import main
from kuorum.envelope import (
    EnvelopeError,
    NodeKeys,
    SealedShare,
    ShareContext,
    decrypt_payload,
    open_share,
)
from kuorum.errors import UserError
from kuorum.models import Access, DecentralizedSecret
from kuorum.sealing import Recipient, misfits, seal

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
VALUES = {"password": b"correct horse battery staple", "token": b"\x00\xffbinary"}


@pytest.fixture(scope="module")
def node_keys() -> dict[str, NodeKeys]:
    return {f"node-{i}": NodeKeys.generate(kem="X25519") for i in range(6)}


def share_node(name: str, keys: NodeKeys, zone: str, labels: dict[str, str] | None = None) -> Any:
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.NODE_KIND,
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "endpoint": f"https://{name}.kuorum-system.svc:8443",
            "zone": zone,
            "tlsCertificate": PEM,
            **keys.public().to_dict(),
        },
    }


@pytest.fixture
def nodes_file(tmp_path: Path, node_keys: dict[str, NodeKeys]) -> Path:
    """Six ShareNodes in three zones, as ``kubectl get snode -o yaml`` prints them."""
    items = [
        share_node(name, keys, f"zone-{i % 3}", {"tier": "gold" if i < 3 else "silver"})
        for i, (name, keys) in enumerate(node_keys.items())
    ]
    path = tmp_path / "nodes.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    return path


def run_seal(tmp_path: Path, *argv: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "sealed.yaml"
    status = main(["seal", "-o", str(out), *argv])
    text = out.read_text() if out.exists() else ""
    return status, (yaml.safe_load(text) if text else {}), text


def open_sealed(
    secret: DecentralizedSecret,
    node_keys: dict[str, NodeKeys],
    count: int,
    *,
    namespace: str | None = None,
    rule: bytes | None = None,
) -> dict[str, bytes]:
    """What t nodes together can do: open their shares, rebuild the key, read the payload
    (in ``namespace``, under ``rule``: by default the secret's own and its spec's)."""
    sealed = secret.spec.source.sealed
    assert sealed is not None
    name, namespace = secret.name, namespace or secret.namespace
    rule = AccessRule.of(secret, sealed.namespace_uid).digest() if rule is None else rule
    sender = ed25519.Ed25519PublicKey.from_public_bytes(sealed.sealer)
    commitments = sharing.Commitments.from_bytes(sealed.commitments)
    shares = []
    for entry in sealed.shares[:count]:
        context = ShareContext(
            namespace, name, sealed.version, entry.index, entry.node, "store", rule
        )
        share = open_share(
            SealedShare.from_bytes(entry.sealed_share),
            recipient=node_keys[entry.node].encryption,
            context=context,
            sender=sender,
        )
        assert sharing.verify(share, commitments)
        shares.append(share)
    key = sharing.combine(shares, commitments)
    return decrypt_payload(
        sealed.payload, key, namespace=namespace, name=name, version=sealed.version, rule=rule
    )


def test_the_printed_manifest_opens_with_t_node_keys_and_shows_no_value(
    tmp_path: Path, nodes_file: Path, node_keys: dict[str, NodeKeys]
) -> None:
    token = tmp_path / "token"
    token.write_bytes(VALUES["token"])
    status, obj, text = run_seal(
        tmp_path,
        "--name",
        "db",
        "--namespace",
        "shop",
        "--threshold",
        "3",
        "--shares",
        "5",
        "--from-literal",
        "password=correct horse battery staple",
        "--from-file",
        f"token={token}",
        "--nodes",
        str(nodes_file),
        "--access-namespace",
        "web",
    )
    assert status == 0
    assert text.startswith("# Sealed by kuorum seal: shop/db version 1, 3-of-5")
    assert "correct horse" not in text
    assert base64.b64encode(VALUES["password"]).decode() not in text
    secret = DecentralizedSecret.from_object(obj)
    assert (secret.namespace, secret.name) == ("shop", "db")
    assert secret.spec.access is not None and secret.spec.access.namespaces == ("web",)
    sealed = secret.spec.source.sealed
    assert sealed is not None and sealed.version == 1
    zones = {f"node-{i}": f"zone-{i % 3}" for i in range(6)}
    assert len({zones[s.node] for s in sealed.shares}) == 3, "spread across the zones"
    assert open_sealed(secret, node_keys, 3) == VALUES
    with pytest.raises(sharing.NotEnoughShares):
        open_sealed(secret, node_keys, 2)
    with pytest.raises(EnvelopeError):  # bound to its namespace
        open_sealed(secret, node_keys, 3, namespace="other")
    widened = Access(namespaces=("web", "attacker"))
    patched = dataclasses.replace(secret, spec=dataclasses.replace(secret.spec, access=widened))
    with pytest.raises(EnvelopeError):  # and to where it may go: an edited access fails
        open_sealed(patched, node_keys, 3)
    assert sealed.namespace_uid is None and "(any uid)" in text, "offline: no uid unless given"


def test_a_secret_manifest_node_selector_and_version_are_honoured(
    tmp_path: Path, nodes_file: Path, node_keys: dict[str, NodeKeys]
) -> None:
    manifest = tmp_path / "secret.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/basic-auth",
                "metadata": {"name": "legacy"},
                "data": {"password": base64.b64encode(VALUES["password"]).decode()},
                "stringData": {"username": "admin"},
            }
        )
    )
    status, obj, _ = run_seal(
        tmp_path,
        "--name",
        "login",
        "-t",
        "2",
        "--shares",
        "3",
        "--from-secret",
        str(manifest),
        "--nodes",
        str(nodes_file),
        "--node-selector",
        "tier=silver",
        "--version",
        "7",
    )
    assert status == 0
    secret = DecentralizedSecret.from_object(obj)
    sealed = secret.spec.source.sealed
    assert sealed is not None and sealed.version == 7
    assert sorted(s.node for s in sealed.shares) == ["node-3", "node-4", "node-5"]
    assert secret.spec.node_selector is not None
    assert secret.spec.node_selector.match_labels == {"tier": "silver"}
    assert secret.spec.target.type == "kubernetes.io/basic-auth"
    opened = open_sealed(secret, node_keys, 2)
    assert opened == {"password": VALUES["password"], "username": b"admin"}


def test_a_namespace_uid_given_offline_is_bound_and_shown(
    tmp_path: Path, nodes_file: Path, node_keys: dict[str, NodeKeys]
) -> None:
    uid = "0b6c3a59-2f1e-4c8e-9a57-8d1f0e6a4b21"
    argv = ["--name", "db", "-n", "shop", "-t", "2", "--shares", "3", "--from-literal", "k=v"]
    status, obj, text = run_seal(
        tmp_path, *argv, "--nodes", str(nodes_file), "--namespace-uid", uid
    )
    assert status == 0 and f"namespace shop (uid {uid})" in text
    secret = DecentralizedSecret.from_object(obj)
    assert secret.spec.source.sealed is not None
    assert secret.spec.source.sealed.namespace_uid == uid
    assert open_sealed(secret, node_keys, 2) == {"k": b"v"}
    with pytest.raises(EnvelopeError):  # a namespace re-created under the name has another uid
        open_sealed(secret, node_keys, 2, rule=AccessRule.of(secret, None).digest())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shares", "7", "--from-literal", "a=b"], "7 share nodes are needed but only 6"),
        (["--shares", "3", "--threshold", "4", "--from-literal", "a=b"], "--threshold 4 must"),
        (
            ["--shares", "3", "--threshold", "1", "--from-literal", "a=b"],
            "--allow-single-custodian",
        ),
        (["--shares", "3"], "nothing to seal"),
        (["--shares", "3", "--from-literal", "hunter2"], "argument 1 (not shown"),
        (["--shares", "3", "--from-literal", "a=1", "--from-literal", "a=2"], "given twice"),
        (["--shares", "3", "--from-literal", "bad key=1"], "not a valid Secret key"),
        (["--shares", "3", "--from-file", "/nonexistent/x"], "cannot read /nonexistent/x"),
        (["--shares", "3", "--from-literal", "a=b", "--name", "Upper"], "not a valid object"),
        (["--shares", "3", "--from-literal", "a=b", "--namespace-uid", "x"], "is not a uid"),
        (["--shares", "3", "--from-literal", "a=b", "-n", "Team_A"], "--namespace 'Team_A'"),
    ],
    ids=[
        "too-few-nodes",
        "t-above-n",
        "t-one-unasked",
        "no-values",
        "no-equals",
        "twice",
        "key",
        "file",
        "name",
        "namespace-uid",
        "namespace",
    ],
)
def test_bad_input_is_refused_with_the_flag_and_the_fix(
    tmp_path: Path,
    nodes_file: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    base = ["--name", "db", "--threshold", "2", "--nodes", str(nodes_file)]
    status, _, text = run_seal(tmp_path, *base, *argv)
    assert status == 2 and text == ""
    error = capsys.readouterr().err
    assert message in error and "hunter2" not in error


def test_one_custodian_is_sealed_only_when_asked_for(tmp_path: Path, nodes_file: Path) -> None:
    argv = ["--name", "db", "--threshold", "1", "--shares", "3", "--nodes", str(nodes_file)]
    status, _, text = run_seal(tmp_path, *argv, "--allow-single-custodian", "--from-literal", "a=b")
    assert status == 0
    spec = yaml.safe_load(text)["spec"]
    assert (spec["threshold"], spec["allowSingleCustodian"]) == (1, True)
    assert DecentralizedSecret.from_object(yaml.safe_load(text)).spec.allow_single_custodian


def test_a_broken_secret_manifest_is_refused_without_quoting_it(
    tmp_path: Path, nodes_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "secret.yaml"
    broken.write_text("kind: Secret\nstringData:\n  password: hunter2: [\n")
    base = ["--name", "db", "-t", "2", "--shares", "3", "--nodes", str(nodes_file)]
    status, _, _ = run_seal(tmp_path, *base, "--from-secret", str(broken))
    error = capsys.readouterr().err
    assert status == 2 and "not valid YAML at line 3" in error and "hunter2" not in error


def test_misfits_name_nodes_whose_keys_changed_or_that_were_sealed_for_another_object(
    node_keys: dict[str, NodeKeys],
) -> None:
    chosen = list(node_keys.items())[:3]
    sealed = seal(
        VALUES,
        namespace="shop",
        name="db",
        version=2,
        threshold=2,
        recipients=[Recipient(n, k.public()) for n, k in chosen],
        sealer=ed25519.Ed25519PrivateKey.generate(),
    )
    published = {n: k.public() for n, k in chosen}
    here = {"namespace": "shop", "name": "db", "rule": b""}
    assert misfits(sealed, keys=published, **here) == []
    assert misfits(sealed, keys={}, **here) == []  # unknown: not judged
    rotated = dict(published, **{"node-1": NodeKeys.generate(kem="X25519").public()})
    (changed,) = misfits(sealed, keys=rotated, **here)
    assert changed.node == "node-1" and changed.key_changed
    elsewhere = misfits(sealed, keys=published, **(here | {"name": "cache"}))
    assert [m.node for m in elsewhere] == ["node-0", "node-1", "node-2"]
    assert not any(m.key_changed for m in elsewhere)
    assert "not sealed for shop/cache version 2" in elsewhere[0].detail
    another_rule = misfits(sealed, keys=published, **(here | {"rule": bytes(32)}))
    assert len(another_rule) == 3 and "spec.access" in another_rule[0].detail
    resigned = dataclasses.replace(sealed, sealer=bytes(32))
    assert len(misfits(resigned, keys=published, **here)) == 3


# -- nodes lock: seal trusts only the ShareNodes the committed lock pins exactly

LOCKED_SEAL = ["--name", "db", "-n", "shop", "-t", "2", "--shares", "3", "--from-literal", "k=v"]


def _items(path: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = yaml.safe_load(path.read_text())["items"]
    return items


def _lock(tmp_path: Path, objects: list[dict[str, Any]]) -> Path:
    lock = tmp_path / "nodes.lock"
    lock.write_text(nodelock.render(objects))
    return lock


def test_a_lock_round_trips_and_pins_every_node(tmp_path: Path, nodes_file: Path) -> None:
    objects = _items(nodes_file)
    pins = nodelock.load(_lock(tmp_path, objects))
    assert sorted(pins) == sorted(o["metadata"]["name"] for o in objects)
    assert all(nodelock.mismatches(pins, o) == [] for o in objects)


@pytest.mark.parametrize("field", nodelock.FIELDS)
def test_a_lock_names_a_changed_key_or_certificate(
    tmp_path: Path, nodes_file: Path, field: str
) -> None:
    objects = _items(nodes_file)
    pins = nodelock.load(_lock(tmp_path, objects))
    changed = copy.deepcopy(objects[0])
    other = NodeKeys.generate(kem="X25519").public().to_dict()
    changed["spec"][field] = other.get(field, PEM + "\n")
    (problem,) = nodelock.mismatches(pins, changed)
    assert f"ShareNode {changed['metadata']['name']} has another spec.{field}" in problem


def test_seal_refuses_nodes_the_lock_does_not_vouch_for(
    tmp_path: Path, nodes_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = _items(nodes_file)
    lock = _lock(tmp_path, objects)
    status, obj, _ = run_seal(
        tmp_path, *LOCKED_SEAL, "--nodes", str(nodes_file), "--nodes-lock", str(lock)
    )
    assert status == 0 and obj["kind"] == names.SECRET_KIND

    objects[1]["spec"]["signingKey"] = base64.b64encode(bytes(32)).decode()  # re-keyed
    objects.append({**copy.deepcopy(objects[0]), "metadata": {"name": "intruder"}})
    tampered = tmp_path / "tampered.yaml"
    tampered.write_text(yaml.safe_dump({"kind": "List", "items": objects}))
    (tmp_path / "sealed.yaml").unlink()
    status, obj, _ = run_seal(
        tmp_path, *LOCKED_SEAL, "--nodes", str(tampered), "--nodes-lock", str(lock)
    )
    message = capsys.readouterr().err
    assert (status, obj) == (2, {})
    assert f"ShareNode {objects[1]['metadata']['name']} has another spec.signingKey" in message
    assert "ShareNode intruder is not in the nodes lock" in message


def test_a_malformed_lock_is_refused_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "nodes.lock"
    bad.write_text("kind: Something\n")
    with pytest.raises(UserError, match="not a NodesLock file"):
        nodelock.load(bad)
    bad.write_text("kind: NodesLock\nnodes: {a: {signingKey: x}}\n")
    with pytest.raises(UserError, match="node a must pin exactly"):
        nodelock.load(bad)


def test_seal_signs_with_the_given_sealer_key(
    tmp_path: Path, nodes_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives import serialization

    key = ed25519.Ed25519PrivateKey.generate()
    pem = tmp_path / "sealer.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    status, obj, _ = run_seal(
        tmp_path, *LOCKED_SEAL, "--nodes", str(nodes_file), "--sealer-key", str(pem)
    )
    assert status == 0
    sealed = DecentralizedSecret.from_object(obj).spec.source.sealed
    assert sealed is not None and sealed.sealer == key.public_key().public_bytes_raw()
    pem.write_text("not a key")
    (tmp_path / "sealed.yaml").unlink()
    status, _, _ = run_seal(
        tmp_path, *LOCKED_SEAL, "--nodes", str(nodes_file), "--sealer-key", str(pem)
    )
    assert status == 2 and "openssl genpkey -algorithm ed25519" in capsys.readouterr().err
