"""Read what a pod asks for from its kuorum.io annotations.

One grammar for both modes, so a user learns it once (docs/webhook.md)::

    kuorum.io/env:    "db, shared/api(token=API_TOKEN, region)"
    kuorum.io/volume: "tls(tls.crt, tls.key=key.pem)=/etc/tls, db"

An entry is ``[namespace/]name``, optionally followed by ``(key[=target], ...)`` to pick
keys (the target is a variable name for env, a file path for volumes), and for volumes
by ``=/mount/path``. Parsing is pure and strict: a typo denies the pod with a message
that points at the annotation, rather than starting a pod without its secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from kuorum import names
from kuorum.webhook.denials import AnnotationError

DEFAULT_MOUNT_ROOT = "/var/run/secrets/kuorum.io"
"""Volumes without an explicit path are mounted at ``<root>/<secret name>``."""

_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_DNS_SUBDOMAIN = rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*"
_ENTRY = re.compile(
    rf"^(?:(?P<namespace>{_DNS_LABEL})/)?(?P<name>{_DNS_SUBDOMAIN})"
    r"\s*(?:\((?P<items>[^()]*)\))?(?:\s*=\s*(?P<path>[^,()]*))?$"
)
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_CONTAINER = re.compile(rf"^{_DNS_LABEL}$")
_RELATIVE_PATH = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.(?:/|$))[^\x00]+$")
_MAX_SECRET_NAME = 253

GRAMMAR_HINT = "[namespace/]name[(key[=target], ...)]" + "[=/mount/path for volumes]"
PARSE_ERROR = (
    "pod annotation {annotation}: cannot read entry {entry!r}: {problem}; "
    "write entries as " + GRAMMAR_HINT + ", separated by commas"
)
EMPTY_ERROR = (
    "pod annotation {annotation} is empty; name at least one DecentralizedSecret "
    "or remove the annotation"
)
NOTHING_ERROR = (
    "pod is labelled {label}=true but names no secret; add the annotation "
    f"{names.ENV_ANNOTATION} or {names.VOLUME_ANNOTATION}, or remove the label"
)
CONTAINER_ERROR = (
    "pod annotation {annotation}: {entry!r} is not a container name; list DNS-label "
    "names separated by commas, or * for all"
)
DUPLICATE_ERROR = "pod annotation {annotation}: {what} {item!r} appears twice; name it once"


@dataclass(frozen=True, order=True)
class SecretRef:
    """A DecentralizedSecret named by a pod; ``namespace`` None means the pod's own."""

    name: str
    namespace: str | None = None

    def resolve(self, pod_namespace: str) -> tuple[str, str]:
        """Return ``(namespace, name)`` with the pod's namespace filled in."""
        return (self.namespace or pod_namespace, self.name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class KeyItem:
    """One key of a secret and where it goes: a variable name or a relative file path."""

    key: str
    target: str


@dataclass(frozen=True)
class EnvSource:
    """Inject a secret as environment variables; no items means every key (envFrom)."""

    secret: SecretRef
    items: tuple[KeyItem, ...] = ()


@dataclass(frozen=True)
class VolumeSource:
    """Mount a secret read-only at ``mount_path``; no items means every key."""

    secret: SecretRef
    mount_path: str
    items: tuple[KeyItem, ...] = ()


ALL = "*"


@dataclass(frozen=True)
class InjectionRequest:
    """Everything a pod asked for, before any lookup of the secrets it names."""

    env: tuple[EnvSource, ...] = ()
    volumes: tuple[VolumeSource, ...] = ()
    env_prefix: str = ""
    containers: tuple[str, ...] = (ALL,)
    """Regular containers to inject into; ``("*",)`` means all of them."""
    init_containers: tuple[str, ...] = ()
    """Init containers to inject into; empty means none, ``("*",)`` all."""

    def secrets(self) -> tuple[SecretRef, ...]:
        """Every distinct secret named, in the order first named."""
        seen = dict.fromkeys([*(e.secret for e in self.env), *(v.secret for v in self.volumes)])
        return tuple(seen)


def requests_injection(labels: Mapping[str, str] | None) -> bool:
    """Tell whether the pod carries the inject label with value "true"."""
    return (labels or {}).get(names.INJECT_LABEL) == "true"


def parse(annotations: Mapping[str, str] | None) -> InjectionRequest:
    """Parse a labelled pod's annotations; raise AnnotationError naming the bad one."""
    annotations = annotations or {}
    env = tuple(_env_source(entry) for entry in _entries(annotations, names.ENV_ANNOTATION))
    volumes = tuple(
        _volume_source(entry) for entry in _entries(annotations, names.VOLUME_ANNOTATION)
    )
    if not env and not volumes:
        raise AnnotationError(NOTHING_ERROR.format(label=names.INJECT_LABEL))
    _refuse_duplicates(names.VOLUME_ANNOTATION, "mount path", [v.mount_path for v in volumes])
    prefix = annotations.get(names.ENV_PREFIX_ANNOTATION, "").strip()
    if prefix and not _ENV_NAME.match(prefix):
        raise AnnotationError(
            f"pod annotation {names.ENV_PREFIX_ANNOTATION}: {prefix!r} cannot start a variable "
            "name; use letters, digits, '_', '-' or '.', not starting with a digit"
        )
    return InjectionRequest(
        env=env,
        volumes=volumes,
        env_prefix=prefix,
        containers=_containers(annotations, names.CONTAINERS_ANNOTATION, default=(ALL,)),
        init_containers=_containers(annotations, names.INIT_CONTAINERS_ANNOTATION, default=()),
    )


def _entries(annotations: Mapping[str, str], annotation: str) -> list[tuple[str, str]]:
    """Split an annotation at top-level commas into ``(annotation, entry)`` pairs."""
    if annotation not in annotations:
        return []
    value = annotations[annotation]
    entries: list[str] = []
    depth, current = 0, list[str]()
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    entries.append("".join(current))
    cleaned = [entry.strip() for entry in entries]
    if not any(cleaned):
        raise AnnotationError(EMPTY_ERROR.format(annotation=annotation))
    for entry in cleaned:
        if not entry:
            _fail(annotation, entry, "an entry is empty (two commas in a row?)")
    return [(annotation, entry) for entry in cleaned]


def _match(annotation: str, entry: str) -> re.Match[str]:
    match = _ENTRY.match(entry)
    if match is None:
        _fail(annotation, entry, "it is not a DecentralizedSecret reference")
    if len(match["name"]) > _MAX_SECRET_NAME:
        _fail(annotation, entry, f"names are at most {_MAX_SECRET_NAME} characters")
    return match


def _env_source(pair: tuple[str, str]) -> EnvSource:
    annotation, entry = pair
    match = _match(annotation, entry)
    if match["path"] is not None:
        _fail(annotation, entry, "'=' after a secret is a mount path, only for volumes")
    items = _items(annotation, entry, match["items"], _ENV_NAME, "variable name")
    return EnvSource(secret=SecretRef(match["name"], match["namespace"]), items=items)


def _volume_source(pair: tuple[str, str]) -> VolumeSource:
    annotation, entry = pair
    match = _match(annotation, entry)
    path = match["path"]
    if path is None:
        path = f"{DEFAULT_MOUNT_ROOT}/{match['name']}"
    elif not path.startswith("/") or "/../" in f"{path}/" or ":" in path:
        _fail(annotation, entry, f"mount path {path!r} must be absolute, without '..' or ':'")
    items = _items(annotation, entry, match["items"], _RELATIVE_PATH, "relative file path")
    return VolumeSource(
        secret=SecretRef(match["name"], match["namespace"]), mount_path=path, items=items
    )


def _items(
    annotation: str, entry: str, text: str | None, target: re.Pattern[str], what: str
) -> tuple[KeyItem, ...]:
    if text is None:
        return ()
    if not text.strip():
        _fail(annotation, entry, "empty parentheses; list keys or drop the parentheses")
    items = []
    for part in text.split(","):
        key, _, mapped = (side.strip() for side in part.partition("="))
        mapped = mapped or key
        if not _SECRET_KEY.match(key):
            _fail(annotation, entry, f"{key!r} is not a secret key ([-._a-zA-Z0-9]+)")
        if not target.match(mapped):
            _fail(annotation, entry, f"{mapped!r} is not a valid {what}")
        items.append(KeyItem(key=key, target=mapped))
    _refuse_duplicates(annotation, what, [item.target for item in items])
    return tuple(items)


def _containers(
    annotations: Mapping[str, str], annotation: str, *, default: tuple[str, ...]
) -> tuple[str, ...]:
    if annotation not in annotations:
        return default
    listed = [part.strip() for part in annotations[annotation].split(",")]
    if listed == [ALL]:
        return (ALL,)
    for entry in listed:
        if not _CONTAINER.match(entry):
            raise AnnotationError(CONTAINER_ERROR.format(annotation=annotation, entry=entry))
    _refuse_duplicates(annotation, "container", listed)
    return tuple(listed)


def _refuse_duplicates(annotation: str, what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise AnnotationError(
                DUPLICATE_ERROR.format(annotation=annotation, what=what, item=value)
            )
        seen.add(value)


def _fail(annotation: str, entry: str, problem: str) -> NoReturn:
    raise AnnotationError(
        PARSE_ERROR.format(annotation=annotation, entry=entry[:120], problem=problem)
    )
