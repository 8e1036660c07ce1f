"""``kuorum seal``: print a DecentralizedSecret whose values only t share nodes can open.

The values are encrypted under a fresh data key, the key is split t-of-n, and each share
is HPKE-sealed to one ShareNode's published key and signed by a signing key made for
this run and then dropped. The printed manifest holds no value, no share and no key in
the clear, so it is safe to commit to Git; the operator forwards the shares unopened.

Nodes come from the cluster (Ready ShareNodes, spread across zones, like the operator
chooses them) or, offline, from a file of ShareNode objects (``kubectl get snode -o
yaml`` taken where the cluster is reachable).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kuorum import names
from kuorum.errors import UserError
from kuorum.models import (
    DNS_SUBDOMAIN_MAX,
    DNS_SUBDOMAIN_PATTERN,
    KEY_NAME_PATTERN,
    LabelSelector,
    SecretStatus,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from kuorum.placement import NodeView


def register(subparsers: Any) -> None:
    """Add ``kuorum seal`` to the CLI."""
    parser = subparsers.add_parser(
        "seal",
        help="print a DecentralizedSecret sealed to the share nodes (safe to commit)",
        description="Encrypt values, split the key t-of-n and seal each share to one "
        "ShareNode's key; print the DecentralizedSecret manifest (YAML).",
    )
    parser.add_argument("--name", required=True, help="the DecentralizedSecret's name")
    parser.add_argument("-n", "--namespace", default="default", help="its namespace")
    parser.add_argument("--threshold", "-t", type=int, required=True, help="t: shares needed")
    parser.add_argument(
        "--allow-single-custodian",
        action="store_true",
        help="allow --threshold 1 (any one node alone holds the whole key; no split)",
    )
    parser.add_argument("--shares", type=int, required=True, help="n: nodes holding a share")
    values = parser.add_argument_group("values (at least one; keys must be unique)")
    values.add_argument(
        "--from-literal",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one value (shows in the process list: prefer --from-file for real secrets)",
    )
    values.add_argument(
        "--from-file",
        action="append",
        default=[],
        metavar="[KEY=]PATH",
        help="a file's bytes, exactly (a final newline too); KEY defaults to the file's name",
    )
    values.add_argument(
        "--from-secret",
        type=Path,
        metavar="FILE",
        help="every key of a Secret manifest (data and stringData; '-' reads stdin)",
    )
    nodes = parser.add_argument_group("share nodes")
    nodes.add_argument("--kubeconfig", type=Path, help="default: $KUBECONFIG, ~/.kube/config")
    nodes.add_argument(
        "--nodes",
        type=Path,
        metavar="FILE",
        help="seal offline to the ShareNodes in FILE (kubectl get snode -o yaml)",
    )
    nodes.add_argument(
        "--nodes-lock",
        type=Path,
        metavar="FILE",
        help="refuse any ShareNode that FILE (kuorum nodes lock) does not pin exactly",
    )
    nodes.add_argument(
        "--node-selector",
        action="append",
        default=[],
        metavar="LABEL=VALUE",
        help="only ShareNodes with this label",
    )
    parser.add_argument(
        "--version",
        type=int,
        help="the version to seal (default: one above the cluster's, or 1 offline)",
    )
    parser.add_argument("--target-name", help="the Secret to write (default: --name)")
    parser.add_argument("--target-type", help="its type (default: the --from-secret type)")
    parser.add_argument(
        "--sealer-key",
        type=Path,
        metavar="FILE",
        help="sign with this Ed25519 private key (PEM), one the operator trusts "
        "(--trusted-sealer); default: a fresh key, which no operator trusts by name",
    )
    parser.add_argument(
        "--access-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="another namespace whose pods may consume the secret",
    )
    parser.add_argument(
        "--access-service-account",
        action="append",
        default=[],
        metavar="[NS:]NAME",
        help="a service account that may consume it (default: any)",
    )
    uid = parser.add_mutually_exclusive_group()
    uid.add_argument(
        "--namespace-uid",
        metavar="UID",
        help="bind to this metadata.uid of the namespace (default: read from the cluster; "
        "offline: not bound unless given)",
    )
    uid.add_argument(
        "--no-namespace-uid",
        action="store_true",
        help="do not bind the namespace's uid, e.g. for a namespace that the same GitOps "
        "sync creates (a namespace re-created under this name then receives the secret)",
    )
    parser.add_argument(
        "--delivery",
        choices=("Secret", "Pod"),
        default="Secret",
        help="Pod: no Secret is written; each share node checks every consuming pod "
        "against --access-* itself and the values exist only in that pod (default: Secret)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Seal and print the manifest; exit 2 with the reason when that cannot be done."""
    from kuorum.placement import select
    from kuorum.sealing import Recipient, seal

    _check_name(args.name, "--name")
    _check_name(args.namespace, "--namespace")
    secret_type, data = read_values(args)
    if not 1 <= args.threshold <= args.shares:
        raise UserError(
            f"--threshold {args.threshold} must be between 1 and --shares ({args.shares})"
        )
    if args.threshold == 1 and not args.allow_single_custodian:
        raise UserError(
            "--threshold 1: any one share node alone would hold the whole key; use 2 or "
            "more, or add --allow-single-custodian if one custodian is what you want"
        )
    registered, version, namespace_uid = _cluster_facts(args)
    selector = LabelSelector(dict(_pairs(args.node_selector, "--node-selector")))
    chosen = select(registered, args.shares, selector=selector)
    if chosen is None:
        usable = [v.name for v in registered if v.usable and selector.matches(v.labels)]
        raise UserError(
            f"{args.shares} share nodes are needed but only {len(usable)} are Ready and match"
            f" ({', '.join(usable) or 'none'}); check kubectl get snode, --node-selector"
            " or --shares"
        )
    spec: dict[str, Any] = {"threshold": args.threshold, "shares": args.shares}
    if args.allow_single_custodian:
        spec["allowSingleCustodian"] = True
    target = {
        k: v
        for k, v in (("name", args.target_name), ("type", args.target_type or secret_type))
        if v
    }
    if selector.match_labels:  # the operator holds the sealed nodes to it
        spec["nodeSelector"] = selector.to_dict()
    if target:
        spec["target"] = target
    access = {
        k: v
        for k, v in (
            ("namespaces", args.access_namespace),
            ("serviceAccounts", args.access_service_account),
        )
        if v
    }
    if access:
        spec["access"] = access
    if args.delivery != "Secret":
        spec["delivery"] = args.delivery
    sealed = seal(
        data,
        namespace=args.namespace,
        name=args.name,
        version=version,
        threshold=args.threshold,
        recipients=[Recipient(v.name, v.public_keys) for v in chosen],
        sealer=_sealer(args.sealer_key),
        rule=_rule(args.name, spec, namespace_uid),
        namespace_uid=namespace_uid,
    )
    spec["source"] = {"sealed": sealed.to_dict()}
    text = _header(args, version, chosen, namespace_uid) + manifest(args.name, args.namespace, spec)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _rule(name: str, spec: Mapping[str, Any], uid: str | None) -> bytes:
    """The access rule digest of ``spec``'s target, access and delivery, parsed as the
    operator will."""
    from kuorum.accessrule import AccessRule
    from kuorum.models import Access, Delivery, InvalidSpec, Target

    try:
        target = Target.from_dict(spec.get("target", {}), where="spec.target")
        access = Access.from_dict(spec["access"], where="spec.access") if "access" in spec else None
    except InvalidSpec as error:
        raise UserError(str(error)) from None
    delivery = Delivery(spec.get("delivery", Delivery.SECRET))
    return AccessRule(target.name or name, target.type, access, uid, delivery).digest()


def manifest(name: str, namespace: str, spec: Mapping[str, Any]) -> str:
    """The DecentralizedSecret as YAML, read back by the parser the operator uses."""
    from kuorum.models import DecentralizedSecret, InvalidSpec

    obj = {"metadata": {"name": name, "namespace": namespace}, "spec": dict(spec)}
    try:
        secret = DecentralizedSecret.from_object(obj)
    except InvalidSpec as error:
        raise UserError(str(error)) from None
    return yaml.safe_dump(secret.to_object(), sort_keys=False, width=1 << 16)


def read_values(args: argparse.Namespace) -> tuple[str | None, dict[str, bytes]]:
    """The values to seal, from literals, files and a Secret manifest; and that Secret's type."""
    found: list[tuple[str, bytes, str]] = [
        (key, value.encode(), f"--from-literal {key}")
        for key, value in _pairs(args.from_literal, "--from-literal", secret=True)
    ]
    for item in args.from_file:
        key, _, path = item.rpartition("=") if "=" in item else ("", "", item)
        key = key or Path(path).name
        try:
            found.append((key, Path(path).read_bytes(), f"--from-file {item}"))
        except OSError as error:
            raise UserError(f"--from-file {item}: cannot read {path}: {error.strerror}") from None
    secret_type = None
    if args.from_secret is not None:
        secret_type, entries = _secret_values(args.from_secret)
        found.extend((k, v, f"--from-secret key {k}") for k, v in entries.items())
    if not found:
        raise UserError("nothing to seal: give --from-literal, --from-file or --from-secret")
    data: dict[str, bytes] = {}
    for key, value, where in found:
        if not re.fullmatch(KEY_NAME_PATTERN, key):
            raise UserError(f"{where}: {key!r} is not a valid Secret key (letters, digits, -._)")
        if key in data:
            raise UserError(f"{where}: key {key!r} is given twice; each key once")
        data[key] = value
    return secret_type, data


def _secret_values(path: Path) -> tuple[str | None, dict[str, bytes]]:
    text = sys.stdin.read() if str(path) == "-" else _read_text(path, "--from-secret")
    try:
        obj = yaml.safe_load(text)
    except yaml.YAMLError as error:  # its text quotes the document: never echo it
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"--from-secret {path}: not valid YAML{where}") from None
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        raise UserError(f"--from-secret {path}: expected one manifest of kind Secret")
    values: dict[str, bytes] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True)
        except binascii.Error:
            raise UserError(f"--from-secret {path}: data.{key} is not base64") from None
    for key, value in (obj.get("stringData") or {}).items():
        values[str(key)] = str(value).encode()
    return obj.get("type"), values


def _cluster_facts(args: argparse.Namespace) -> tuple[list[NodeView], int, str | None]:
    """The candidate nodes, the version to seal and the namespace uid to bind, from the
    file or the cluster."""
    now = datetime.now(UTC)
    uid = _checked_uid(args.namespace_uid)
    if args.nodes is not None:
        objects = _locked(_node_objects(args.nodes), args.nodes_lock)
        # offline: the file is a snapshot, so its heartbeats say nothing about now
        views = [replace(v, usable=True) for v in _views(objects, now, args.nodes)]
        return views, args.version or 1, uid
    from kubernetes.client.exceptions import ApiException

    from kuorum.kube.client import api_client
    from kuorum.kube.decentralizedsecrets import get_decentralized_secret
    from kuorum.kube.sharenodes import list_share_nodes

    api = api_client(args.kubeconfig)
    objects = _locked(list_share_nodes(api), args.nodes_lock)
    version = args.version
    if version is None:
        try:
            existing = get_decentralized_secret(api, args.namespace, args.name) or {}
        except ApiException as error:
            raise UserError(
                f"cannot read DecentralizedSecret {args.namespace}/{args.name} to choose "
                f"the next version ({error.status} {error.reason}); give --version"
            ) from None
        version = SecretStatus.from_dict(existing.get("status") or {}).next_version
    if uid is None and not args.no_namespace_uid:
        uid = _namespace_uid(api, args.namespace)
    return _views(objects, now, "the cluster"), version, uid


def _checked_uid(uid: str | None) -> str | None:
    from kuorum.models import UID_PATTERN

    if uid is not None and not re.fullmatch(UID_PATTERN, uid):
        raise UserError(
            f"--namespace-uid {uid!r} is not a uid; read it with: kubectl get namespace "
            "NAME -o jsonpath='{.metadata.uid}'"
        )
    return uid


def _namespace_uid(api: Any, namespace: str) -> str:
    """The namespace's uid, which the sealed rule binds (a re-created one differs)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        found = client.CoreV1Api(api).read_namespace(namespace)
    except ApiException as error:
        if error.status == 404:
            raise UserError(
                f"namespace {namespace} does not exist, so its uid cannot be bound: create "
                "it first, or give --no-namespace-uid if it is created with the manifest"
            ) from None
        raise UserError(
            f"cannot read namespace {namespace} to bind its uid ({error.status} "
            f"{error.reason}); give --namespace-uid UID or --no-namespace-uid"
        ) from None
    return str(found.metadata.uid if found.metadata else "")


def _sealer(path: Path | None) -> ed25519.Ed25519PrivateKey:
    """The key that signs the sealed shares (the nodes check it; the operator may require
    a trusted one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    if path is None:
        return ed25519.Ed25519PrivateKey.generate()

    try:
        key = serialization.load_pem_private_key(_read_text(path, "--sealer-key").encode(), None)
    except ValueError:
        key = None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise UserError(
            f"--sealer-key {path}: not an unencrypted Ed25519 private key in PEM; make one "
            "with: openssl genpkey -algorithm ed25519 -out sealer.pem"
        )
    return key


def _locked(objects: Sequence[Mapping[str, Any]], lock: Path | None) -> Sequence[Mapping[str, Any]]:
    """``objects``, if the nodes lock (when given) pins every one of them exactly."""
    if lock is None:
        return objects
    from kuorum import nodelock

    pins = nodelock.load(lock)
    problems = [problem for obj in objects for problem in nodelock.mismatches(pins, obj)]
    if problems:
        raise UserError(f"--nodes-lock {lock}: " + "; ".join(problems) + "; nothing was sealed")
    return objects


def _views(objects: Sequence[Mapping[str, Any]], now: datetime, where: object) -> list[NodeView]:
    from kuorum.placement import view

    views = []
    for obj in objects:
        found = view(obj, now=now)
        if found is None:
            name = (obj.get("metadata") or {}).get("name")
            print(
                f"kuorum: skipping ShareNode {name} in {where}: its spec is invalid",
                file=sys.stderr,
            )
            continue
        views.append(found)
    return views


def _node_objects(path: Path) -> Sequence[Mapping[str, Any]]:
    try:
        documents = [d for d in yaml.safe_load_all(_read_text(path, "--nodes")) if d]
    except yaml.YAMLError as error:
        raise UserError(f"--nodes {path}: not YAML: {error}") from None
    objects: list[Mapping[str, Any]] = []
    for document in documents:
        items = document.get("items") if isinstance(document, dict) else None
        objects.extend(items if isinstance(items, list) else [document])
    nodes = [o for o in objects if isinstance(o, dict) and o.get("kind") == names.NODE_KIND]
    if not nodes:
        raise UserError(f"--nodes {path}: no ShareNode objects; use kubectl get snode -o yaml")
    return nodes


def _read_text(path: Path, flag: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise UserError(f"{flag} {path}: cannot read it: {error.strerror}") from None


def _pairs(items: Sequence[str], flag: str, *, secret: bool = False) -> list[tuple[str, str]]:
    """KEY=VALUE arguments; a malformed one is echoed only when it cannot hold a secret."""
    pairs = []
    for position, item in enumerate(items, start=1):
        key, sep, value = item.partition("=")
        if not sep or not key:
            shown = f"argument {position} (not shown: it may be a secret)" if secret else repr(item)
            raise UserError(f"{flag} {shown}: expected KEY=VALUE")
        pairs.append((key, value))
    return pairs


def _check_name(name: str, flag: str) -> None:
    if not re.fullmatch(DNS_SUBDOMAIN_PATTERN, name) or len(name) > DNS_SUBDOMAIN_MAX:
        raise UserError(f"{flag} {name!r} is not a valid object name (lowercase DNS name)")


def _header(
    args: argparse.Namespace, version: int, chosen: Sequence[NodeView], uid: str | None
) -> str:
    nodes = ", ".join(v.name for v in chosen)
    where = f"namespace {args.namespace}" + (f" (uid {uid})" if uid else " (any uid)")
    return (
        f"# Sealed by kuorum seal: {args.namespace}/{args.name} version {version}, "
        f"{args.threshold}-of-{args.shares} on ShareNodes {nodes}.\n"
        "# Safe to commit: no value, share or key is readable here. Changed values, target\n"
        "# or access need a new seal (values: with a higher --version); it opens only in\n"
        f"# {where}, delivered only as spec.target and spec.access say.\n"
    )
