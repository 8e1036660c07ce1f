"""The DecentralizedSecret spec as frozen dataclasses, parsed from the apiserver's JSON.

Defaults live here, not in the CRD schema, so GitOps tools never see server-side
fields they did not write (no drift).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from kuorum import b64, names, sharing
from kuorum.models import _read as read
from kuorum.models._duration import format_duration, parse_duration
from kuorum.models._errors import InvalidSpec
from kuorum.models._limits import (
    DEFAULT_CHARSET,
    DEFAULT_KEY_LENGTH,
    DEFAULT_SECRET_TYPE,
    DNS_LABEL_MAX,
    DNS_LABEL_PATTERN,
    DNS_SUBDOMAIN_MAX,
    DNS_SUBDOMAIN_PATTERN,
    DURATION_MAX,
    ED25519_PUBLIC_BYTES,
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
    MIN_ROTATION_INTERVAL,
    MIN_ROTATION_INTERVAL_GO,
    SERVICE_ACCOUNT_ENTRY_MAX,
    SERVICE_ACCOUNT_ENTRY_PATTERN,
    UID_MAX,
    UID_PATTERN,
    Charset,
    Delivery,
    SecretType,
)
from kuorum.models._selector import LabelSelector

SOURCES = ("generate", "fromSecret", "sealed")


@dataclass(frozen=True)
class GeneratedKey:
    """One key of the materialized Secret, filled with random characters of ``charset``."""

    name: str
    length: int = DEFAULT_KEY_LENGTH
    charset: Charset = DEFAULT_CHARSET

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> GeneratedKey:
        """Parse one ``generate.keys[]`` entry, applying the defaults."""
        data = read.obj(data, where, ("name", "length", "charset"))
        name = read.string(
            data,
            "name",
            where,
            pattern=KEY_NAME_PATTERN,
            max_length=KEY_NAME_MAX,
            hint="a Secret key name like password",
        )
        length = (
            read.integer(data, "length", where, minimum=KEY_LENGTH_MIN, maximum=KEY_LENGTH_MAX)
            if read.present(data, "length")
            else DEFAULT_KEY_LENGTH
        )
        charset = (
            read.choice(data, "charset", where, Charset)
            if read.present(data, "charset")
            else DEFAULT_CHARSET
        )
        return cls(name, length, charset)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with every default spelled out."""
        return {"name": self.name, "length": self.length, "charset": str(self.charset)}


@dataclass(frozen=True)
class Generate:
    """Kuorum draws the values itself: nobody ever sees them whole outside the cluster."""

    keys: tuple[GeneratedKey, ...]

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> Generate:
        """Parse ``source.generate``; key names are unique."""
        data = read.obj(data, where, ("keys",))
        keys = [
            (p, GeneratedKey.from_dict(item, where=p))
            for p, item in read.items(data, "keys", where, min_items=1, max_items=MAX_KEYS)
        ]
        read.unique([(f"{p}.name", k.name) for p, k in keys], "key name")
        return cls(tuple(k for _, k in keys))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"keys": [k.to_dict() for k in self.keys]}


@dataclass(frozen=True)
class FromSecret:
    """Import an existing Secret of the same namespace, optionally deleting it afterwards."""

    name: str
    delete_after_import: bool = False

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> FromSecret:
        """Parse ``source.fromSecret``."""
        data = read.obj(data, where, ("name", "deleteAfterImport"))
        return cls(
            read.string(
                data,
                "name",
                where,
                pattern=DNS_SUBDOMAIN_PATTERN,
                max_length=DNS_SUBDOMAIN_MAX,
                hint="the name of a Secret",
            ),
            read.boolean(data, "deleteAfterImport", where, default=False),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"name": self.name, "deleteAfterImport": self.delete_after_import}


@dataclass(frozen=True)
class SealedEntry:
    """One entry of ``spec.source.sealed.shares``: a share HPKE-sealed to one node's pinned key
    (the envelope inside is :class:`kuorum.envelope.SealedShare`)."""

    node: str
    index: int
    sealed_share: bytes = field(repr=False)
    node_key_fingerprint: str

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> SealedEntry:
        """Parse one ``sealed.shares[]`` entry."""
        data = read.obj(data, where, ("node", "index", "sealedShare", "nodeKeyFingerprint"))
        return cls(
            read.string(
                data,
                "node",
                where,
                pattern=DNS_SUBDOMAIN_PATTERN,
                max_length=DNS_SUBDOMAIN_MAX,
                hint="the name of a ShareNode",
            ),
            read.integer(data, "index", where, minimum=1, maximum=MAX_SHARES),
            read.base64_field(data, "sealedShare", where, max_length=MAX_SEALED_SHARE_BASE64),
            read.string(
                data,
                "nodeKeyFingerprint",
                where,
                pattern=FINGERPRINT_PATTERN,
                max_length=FINGERPRINT_MAX,
                hint="the lowercase hex fingerprint",
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (binary fields in standard base64)."""
        return {
            "node": self.node,
            "index": self.index,
            "sealedShare": b64.encode(self.sealed_share),
            "nodeKeyFingerprint": self.node_key_fingerprint,
        }


@dataclass(frozen=True)
class Sealed:
    """The output of ``kuorum seal``: safe to commit, openable only by t nodes together.

    ``version`` is part of what every share and the payload are bound to, so the
    operator stores exactly that version; new values need a new, higher version.
    """

    version: int
    commitments: bytes = field(repr=False)
    payload: bytes = field(repr=False)
    sealer: bytes
    shares: tuple[SealedEntry, ...]
    namespace_uid: str | None = None
    """The uid of the namespace it was sealed for (None: sealed offline without one); it
    is part of the sealed access rule, so a re-created namespace does not receive it."""

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> Sealed:
        """Parse ``source.sealed``; node names and share indexes are unique."""
        data = read.obj(
            data, where, ("version", "commitments", "payload", "sealer", "shares", "namespaceUID")
        )
        version = read.integer(data, "version", where, minimum=1, maximum=MAX_VERSION)
        commitments = read.base64_field(
            data, "commitments", where, max_length=MAX_COMMITMENTS_BASE64
        )
        payload = read.base64_field(data, "payload", where, max_length=MAX_PAYLOAD_BASE64)
        sealer = read.base64_field(data, "sealer", where, max_length=64, size=ED25519_PUBLIC_BYTES)
        shares = [
            (p, SealedEntry.from_dict(item, where=p))
            for p, item in read.items(data, "shares", where, min_items=1, max_items=MAX_SHARES)
        ]
        read.unique([(f"{p}.node", s.node) for p, s in shares], "node")
        read.unique([(f"{p}.index", s.index) for p, s in shares], "index")
        uid = (
            read.string(
                data,
                "namespaceUID",
                where,
                pattern=UID_PATTERN,
                max_length=UID_MAX,
                hint="the namespace's metadata.uid",
            )
            if read.present(data, "namespaceUID")
            else None
        )
        return cls(version, commitments, payload, sealer, tuple(s for _, s in shares), uid)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``kuorum seal`` emits."""
        return {
            "version": self.version,
            "commitments": b64.encode(self.commitments),
            "payload": b64.encode(self.payload),
            "sealer": b64.encode(self.sealer),
            "shares": [s.to_dict() for s in self.shares],
            **({"namespaceUID": self.namespace_uid} if self.namespace_uid else {}),
        }


def _check_sealed(sealed: Sealed, threshold: int, shares: int, *, where: str) -> None:
    """The sealed shares must fit spec.threshold and spec.shares: nodes would refuse them."""
    if len(sealed.shares) != shares:
        raise InvalidSpec(
            f"{where}.shares",
            f"has {len(sealed.shares)} shares but spec.shares is {shares}",
            f"seal again with --shares {shares}",
        )
    try:
        commitments = sharing.Commitments.from_bytes(sealed.commitments)
    except sharing.SharingError as error:
        raise InvalidSpec(f"{where}.commitments", f"is malformed: {error}", "seal again") from None
    if (commitments.threshold, commitments.shares) != (threshold, shares):
        raise InvalidSpec(
            f"{where}.commitments",
            f"were made for {commitments.threshold}-of-{commitments.shares}, but the spec "
            f"asks for {threshold}-of-{shares}",
            f"seal again with --threshold {threshold} --shares {shares}",
        )


@dataclass(frozen=True)
class Source:
    """Where the secret's values come from: exactly one of the three is set."""

    generate: Generate | None = None
    from_secret: FromSecret | None = None
    sealed: Sealed | None = None

    def __post_init__(self) -> None:
        if sum(part is not None for part in self._parts()) != 1:
            raise ValueError("a Source needs exactly one of generate, from_secret, sealed")

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> Source:
        """Parse ``spec.source`` and insist on exactly one source."""
        data = read.obj(data, where, SOURCES)
        chosen = [key for key in SOURCES if read.present(data, key)]
        if len(chosen) != 1:
            problem = "sets none" if not chosen else f"sets {' and '.join(chosen)}"
            raise InvalidSpec(where, f"{problem} of {', '.join(SOURCES)}", "set exactly one source")
        (key,) = chosen
        path = f"{where}.{key}"
        if key == "generate":
            return cls(generate=Generate.from_dict(data[key], where=path))
        if key == "fromSecret":
            return cls(from_secret=FromSecret.from_dict(data[key], where=path))
        return cls(sealed=Sealed.from_dict(data[key], where=path))

    @property
    def kind(self) -> str:
        """The JSON name of the source in use: generate, fromSecret or sealed."""
        return next(k for k, v in zip(SOURCES, self._parts(), strict=True) if v is not None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            k: v.to_dict() for k, v in zip(SOURCES, self._parts(), strict=True) if v is not None
        }

    def _parts(self) -> tuple[Generate | FromSecret | Sealed | None, ...]:
        return (self.generate, self.from_secret, self.sealed)


@dataclass(frozen=True)
class Rotation:
    """A new version is generated and distributed every ``interval``."""

    interval: timedelta

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> Rotation:
        """Parse ``spec.rotation``; the interval is a Go duration of at least a minute."""
        data = read.obj(data, where, ("interval",))
        text = read.string(
            data, "interval", where, max_length=DURATION_MAX, hint="a duration like 24h or 720h"
        )
        path = f"{where}.interval"
        try:
            interval = parse_duration(text)
        except ValueError as error:
            raise InvalidSpec(path, str(error), "use units h, m or s, e.g. 720h") from None
        if interval < MIN_ROTATION_INTERVAL:
            raise InvalidSpec(
                path,
                f"{text} is shorter than {MIN_ROTATION_INTERVAL_GO}",
                f"set {path} to {MIN_ROTATION_INTERVAL_GO} or more",
            )
        return cls(interval)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"interval": format_duration(self.interval)}


@dataclass(frozen=True)
class Target:
    """The Secret the operator writes; ``name`` None means the resource's own name."""

    name: str | None = None
    type: str = DEFAULT_SECRET_TYPE

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> Target:
        """Parse ``spec.target``."""
        data = read.obj(data, where, ("name", "type"))
        name = (
            read.string(
                data,
                "name",
                where,
                pattern=DNS_SUBDOMAIN_PATTERN,
                max_length=DNS_SUBDOMAIN_MAX,
                hint="a Secret name",
            )
            if read.present(data, "name")
            else None
        )
        kind = (
            str(read.choice(data, "type", where, SecretType))
            if read.present(data, "type")
            else DEFAULT_SECRET_TYPE
        )
        return cls(name, kind)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (an unset name stays unset)."""
        return {"type": self.type} | ({"name": self.name} if self.name else {})


@dataclass(frozen=True)
class Access:
    """Who may consume the secret; the rule itself is :func:`kuorum.policy.evaluate`.

    ``namespaces`` None: only the secret's own namespace. ``service_accounts`` None: any
    service account of an allowed namespace. Entries are ``name`` (in the secret's own
    namespace) or ``namespace:name``.
    """

    namespaces: tuple[str, ...] | None = None
    service_accounts: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> Access:
        """Parse ``spec.access``; lists, when given, are non-empty and without repeats."""
        data = read.obj(data, where, ("namespaces", "serviceAccounts"))
        namespaces = _names(
            data,
            "namespaces",
            where,
            DNS_LABEL_PATTERN,
            DNS_LABEL_MAX,
            "a namespace name (DNS-1123 label)",
        )
        accounts = _names(
            data,
            "serviceAccounts",
            where,
            SERVICE_ACCOUNT_ENTRY_PATTERN,
            SERVICE_ACCOUNT_ENTRY_MAX,
            "name or namespace:name",
        )
        return cls(namespaces, accounts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, without unset lists."""
        out: dict[str, Any] = {}
        if self.namespaces is not None:
            out["namespaces"] = list(self.namespaces)
        if self.service_accounts is not None:
            out["serviceAccounts"] = list(self.service_accounts)
        return out


def _names(
    data: Mapping[str, Any], key: str, where: str, pattern: str, max_length: int, hint: str
) -> tuple[str, ...] | None:
    if not read.present(data, key):
        return None
    entries = [
        (p, read.checked_string(v, p, pattern=pattern, max_length=max_length, hint=hint))
        for p, v in read.items(data, key, where, min_items=1, max_items=MAX_ACCESS_ENTRIES)
    ]
    read.unique(entries, "entry")
    return tuple(v for _, v in entries)


@dataclass(frozen=True)
class DecentralizedSecretSpec:
    """What the user asked for: t-of-n sharing of values from one source."""

    threshold: int
    shares: int
    source: Source
    node_selector: LabelSelector | None = None
    rotation: Rotation | None = None
    target: Target = field(default_factory=Target)
    access: Access | None = None
    allow_single_custodian: bool = False
    """Threshold 1 means one node alone holds the whole key: allowed only when said so."""
    delivery: Delivery = Delivery.SECRET

    @classmethod
    def from_dict(cls, data: object, *, where: str = "spec") -> DecentralizedSecretSpec:
        """Parse the spec the apiserver gives; InvalidSpec names the field and the fix."""
        data = read.obj(
            data,
            where,
            (
                "threshold",
                "shares",
                "allowSingleCustodian",
                "nodeSelector",
                "source",
                "rotation",
                "target",
                "access",
                "delivery",
            ),
        )
        shares = read.integer(data, "shares", where, minimum=1, maximum=MAX_SHARES)
        threshold = read.integer(data, "threshold", where, minimum=1, maximum=MAX_SHARES)
        if threshold > shares:
            raise InvalidSpec(
                f"{where}.threshold",
                f"is {threshold}, more than {where}.shares ({shares})",
                f"set {where}.threshold between 1 and {shares}",
            )
        single = read.boolean(data, "allowSingleCustodian", where, default=False)
        if threshold == 1 and not single:
            raise InvalidSpec(
                f"{where}.threshold",
                "is 1: any one share node alone would hold the whole key",
                f"set {where}.threshold to 2 or more, or, if one custodian is what you "
                f"want, set {where}.allowSingleCustodian: true",
            )
        source = Source.from_dict(data.get("source"), where=f"{where}.source")
        if source.sealed is not None:
            _check_sealed(source.sealed, threshold, shares, where=f"{where}.source.sealed")
        rotation = None
        if read.present(data, "rotation"):
            rotation = Rotation.from_dict(data["rotation"], where=f"{where}.rotation")
            if source.generate is None:
                raise InvalidSpec(
                    f"{where}.rotation",
                    f"is set for a {source.kind} source",
                    "remove it: only generated secrets can be rotated",
                )
        return cls(
            threshold=threshold,
            shares=shares,
            source=source,
            node_selector=LabelSelector.from_dict(
                data["nodeSelector"], where=f"{where}.nodeSelector"
            )
            if read.present(data, "nodeSelector")
            else None,
            rotation=rotation,
            target=Target.from_dict(data["target"], where=f"{where}.target")
            if read.present(data, "target")
            else Target(),
            access=Access.from_dict(data["access"], where=f"{where}.access")
            if read.present(data, "access")
            else None,
            allow_single_custodian=single,
            delivery=read.choice(data, "delivery", where, Delivery)
            if read.present(data, "delivery")
            else Delivery.SECRET,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what a manifest holds); ``from_dict`` reads it back equal."""
        out: dict[str, Any] = {
            "threshold": self.threshold,
            "shares": self.shares,
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
        }
        optional = {
            "nodeSelector": self.node_selector,
            "rotation": self.rotation,
            "access": self.access,
        }
        out.update({k: v.to_dict() for k, v in optional.items() if v is not None})
        if self.allow_single_custodian:
            out["allowSingleCustodian"] = True
        if self.delivery != Delivery.SECRET:
            out["delivery"] = str(self.delivery)
        return out


@dataclass(frozen=True)
class DecentralizedSecret:
    """A whole resource: where it lives, and its parsed spec."""

    namespace: str
    name: str
    spec: DecentralizedSecretSpec
    generation: int | None = None

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> DecentralizedSecret:
        """Parse an object as the API returns it; errors name ``DecentralizedSecret ns/name``."""
        metadata = obj.get("metadata") or {}
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        try:
            spec = DecentralizedSecretSpec.from_dict(obj.get("spec"))
        except InvalidSpec as error:
            raise error.about(f"DecentralizedSecret {namespace}/{name}") from None
        generation = metadata.get("generation")
        return cls(namespace, name, spec, generation if isinstance(generation, int) else None)

    def to_object(self) -> dict[str, Any]:
        """The whole manifest (what ``kuorum seal`` prints); ``from_object`` reads it back."""
        return {
            "apiVersion": names.API_VERSION,
            "kind": names.SECRET_KIND,
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": self.spec.to_dict(),
        }

    @property
    def pod_delivery(self) -> bool:
        """Whether values reach pods only through ``kuorum agent`` (no Secret is written)."""
        return self.spec.delivery == Delivery.POD

    @property
    def target_name(self) -> str:
        """Name of the materialized Secret: ``spec.target.name``, else the resource's name."""
        return self.spec.target.name or self.name

    @property
    def ref(self) -> str:
        """``namespace/name``, how logs, events and errors name the resource."""
        return f"{self.namespace}/{self.name}"
