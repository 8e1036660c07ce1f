"""kill -9 of the operator at random moments while it deals new versions.

Each trial starts the operator, asks for a new version of every secret (a spec change:
new key length, so new values; for the sealed one, values sealed anew at the next
version), and kills the operator after a random delay that
falls before, during or after dealing. After the last trial a fresh operator must
bring every secret to one committed version that all its chosen nodes hold, with the
target Secret carrying that version and values of the latest spec: nothing lost,
nothing half-rotated.
"""

from __future__ import annotations

import base64
import random
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from kubernetes import client
from nodes import ShareNodes, public_keys, share_nodes_fixture  # noqa: F401
from operators import NODE_FLAGS, OperatorProcess, apply_secret

from kuorum import names
from kuorum.accessrule import AccessRule
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.models import DEFAULT_SECRET_TYPE
from kuorum.sealing import Recipient, seal

pytestmark = pytest.mark.integration
TRIALS = 20
SECRETS = 3
SEED = random.randrange(2**32)


def test_operator_killed_at_random_moments_converges_without_half_states(
    control_plane: ControlPlane, share_nodes: ShareNodes, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    nodes = share_nodes.start(4, extra=NODE_FLAGS)
    recipients = [Recipient(n.name, public_keys(control_plane, n)) for n in nodes[:3]]
    namespace = f"chaos-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(namespace)
    operator = OperatorProcess(control_plane, tmp_path / "operator", interval=1)
    custom = client.CustomObjectsApi(control_plane.api_client())
    secrets = [f"s{i}" for i in range(SECRETS)]
    for name in secrets:
        apply_secret(control_plane, namespace, name, _spec(8))
    apply_secret(control_plane, namespace, "sealed", _sealed_spec(namespace, 8, 1, recipients))
    secrets.append("sealed")
    length = 8
    interrupted = 0
    try:
        for trial in range(TRIALS):
            length += 1
            for name in secrets:
                custom.patch_namespaced_custom_object(
                    names.GROUP,
                    names.VERSION,
                    namespace,
                    names.SECRET_PLURAL,
                    name,
                    {
                        "spec": _sealed_spec(namespace, length, trial + 2, recipients)
                        if name == "sealed"
                        else _spec(length)
                    },
                )
            operator.start()
            if trial % 2:
                time.sleep(rng.uniform(0.5, 4.0))  # anywhere: start-up takes about a second
            else:  # inside a dealing: once a pending version is recorded, a few ms later
                _wait_pending(custom, namespace, secrets)
                time.sleep(rng.uniform(0.0, 0.03))
            operator.kill()
            interrupted += sum(
                1
                for name in secrets
                if (_get(custom, namespace, name).get("status") or {}).get("pendingVersion")
            )
        operator.start()
        for name in secrets:
            wait_until(
                lambda name=name: _converged(custom, namespace, name),
                timeout=120,
                what=f"convergence of {namespace}/{name} (seed {SEED})",
                interval=0.5,
                log=operator.log,
            )
        print(f"seed {SEED}: {interrupted} dealings cut by kill -9 in {TRIALS} trials")
        assert interrupted, (
            f"no kill landed inside a dealing (seed {SEED}): the test tested nothing"
        )
        core = client.CoreV1Api(control_plane.api_client())
        for name in secrets:
            obj = _get(custom, namespace, name)
            version = obj["status"]["version"]
            held = {
                node.name: [
                    i["version"]
                    for i in node.request(
                        "GET", f"/v1/shares/{namespace}/{name}", token=node.operator_token
                    ).json()
                ]
                for node in share_nodes.nodes
            }
            for chosen in obj["status"]["nodes"]:
                assert version in held[chosen["name"]], (name, chosen["name"], held, SEED)
            secret = core.read_namespaced_secret(name, namespace)
            assert secret.metadata.annotations[names.VERSION_ANNOTATION] == str(version)
            values = [base64.b64decode(v) for v in (secret.data or {}).values()]
            assert [len(v) for v in values] == [length], (name, SEED)
    finally:
        operator.stop()


def _spec(length: int) -> dict[str, Any]:
    return {
        "threshold": 2,
        "shares": 3,
        "source": {"generate": {"keys": [{"name": "token", "length": length}]}},
    }


def _sealed_spec(
    namespace: str, length: int, version: int, recipients: list[Recipient]
) -> dict[str, Any]:
    """What ``kuorum seal`` would print for a token of ``length`` characters."""
    sealed = seal(
        {"token": (uuid.uuid4().hex * 2)[:length].encode()},
        namespace=namespace,
        name="sealed",
        version=version,
        threshold=2,
        recipients=recipients,
        sealer=ed25519.Ed25519PrivateKey.generate(),
        rule=AccessRule("sealed", DEFAULT_SECRET_TYPE, None, None).digest(),
    )
    return {"threshold": 2, "shares": 3, "source": {"sealed": sealed.to_dict()}}


def _get(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = custom.get_namespaced_custom_object(  # type: ignore[assignment]
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, name
    )
    return found


def _wait_pending(custom: client.CustomObjectsApi, namespace: str, names_: list[str]) -> None:
    """Return as soon as any secret shows a pending version (10 s at most)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for name in names_:
            if (_get(custom, namespace, name).get("status") or {}).get("pendingVersion"):
                return
        time.sleep(0.005)


def _converged(custom: client.CustomObjectsApi, namespace: str, name: str) -> bool:
    obj = _get(custom, namespace, name)
    status = obj.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
    return (
        status.get("observedGeneration") == obj["metadata"]["generation"]
        and status.get("pendingVersion") is None
        and bool(ready)
        and ready[0]["status"] == "True"
        and ready[0].get("observedGeneration") == obj["metadata"]["generation"]
    )
