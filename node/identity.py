"""The node's identity on disk: HPKE + Ed25519 keys and the TLS serving certificate.

Created on first start, reused afterwards: the keys are what the operator pins and
what the ledger is signed with, so losing them makes a new node as far as anyone can
tell. Everything secret is written with mode 0600 inside a 0700 data directory, and a
node whose keys have since become readable by others (e.g. an fsGroup chmod of the
volume) refuses to start rather than serve with keys it cannot vouch for.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kuorum.envelope import NodeKeys
from kuorum.errors import UserError
from kuorum.files import write_private
from kuorum.node.tls import certificate_names, make_certificate

log = logging.getLogger("kuorum.node.identity")

KEYS_DIRECTORY = "keys"
TLS_CERTIFICATE = "tls.crt"
TLS_KEY = "tls.key"


@dataclass(frozen=True, repr=False)
class Identity:
    """Keys and TLS files of one node."""

    keys: NodeKeys
    certificate_path: Path
    key_path: Path

    @property
    def certificate_pem(self) -> str:
        return self.certificate_path.read_text()

    def __repr__(self) -> str:
        return f"Identity(fingerprint={self.keys.public().fingerprint()})"


def load_or_create(data_dir: Path, *, name: str, kem: str, sans: tuple[str, ...]) -> Identity:
    """Load the identity in ``data_dir``, creating what is missing."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    keys_dir = data_dir / KEYS_DIRECTORY
    certificate_path, key_path = data_dir / TLS_CERTIFICATE, data_dir / TLS_KEY
    _check_private(keys_dir, key_path)
    if not keys_dir.exists():
        keys = NodeKeys.generate(kem=kem)
        _save_whole(keys, keys_dir)
        log.info(
            "node %s: created keys (%s), fingerprint %s", name, kem, keys.public().fingerprint()
        )
    else:
        keys = NodeKeys.load(keys_dir)
        if keys.encryption.kem != kem:
            log.info(
                "node %s: keeping its existing %s key (--kem %s applies to new keys only)",
                name,
                keys.encryption.kem,
                kem,
            )
    if not _usable_certificate(certificate_path, key_path, sans):
        certificate, private_key = make_certificate(
            name, sans, now=datetime.datetime.now(datetime.UTC)
        )
        write_private(key_path, private_key)
        write_private(certificate_path, certificate)
        log.info("node %s: new TLS certificate for %s", name, ", ".join(sans))
    return Identity(keys, certificate_path, key_path)


def _save_whole(keys: NodeKeys, keys_dir: Path) -> None:
    """Save both key files or none: a crash in between must not leave half an identity.

    The keys are written into a staging directory that is renamed into place.
    """
    staging = keys_dir.with_name(f".{keys_dir.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    keys.save(staging)
    os.chmod(staging, 0o700)  # exactly: no setgid or other bits inherited from the parent
    os.replace(staging, keys_dir)
    directory = os.open(keys_dir.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _check_private(keys_dir: Path, key_path: Path) -> None:
    """Refuse keys others can read or write: they may have been read, or replaced."""
    paths = [keys_dir, *sorted(keys_dir.iterdir())] if keys_dir.is_dir() else []
    for path in [*paths, key_path]:
        if not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            what, private = ("directory", "700") if path.is_dir() else ("file", "600")
            raise UserError(
                f"node key {what} {path} has mode {mode:04o}: its group or others can "
                f"read or write it, so the node will not start. Fix: chmod {private} {path}; "
                "on Kubernetes keep --data-dir below the volume root with "
                "fsGroupChangePolicy: OnRootMismatch (as the Helm chart does), so the "
                "kubelet does not add group permissions again"
            )


def _usable_certificate(certificate_path: Path, key_path: Path, sans: tuple[str, ...]) -> bool:
    """Whether the stored certificate covers ``sans`` and matches the stored key.

    A crash between writing the key and the certificate leaves a mismatched pair:
    that pair is replaced rather than served.
    """
    if not (certificate_path.exists() and key_path.exists()):
        return False
    certificate = certificate_path.read_bytes()
    if not set(sans) <= certificate_names(certificate):
        return False
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    public = x509.load_pem_x509_certificate(certificate).public_key()
    encoding, public_format = (
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return key.public_key().public_bytes(encoding, public_format) == public.public_bytes(
        encoding, public_format
    )
