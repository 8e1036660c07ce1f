"""A node refuses to start with keys its group or others can read or write (what a
kubelet's fsGroup chmod leaves behind), naming the file and the fix."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kuorum.errors import UserError
from kuorum.node.identity import KEYS_DIRECTORY, TLS_KEY, load_or_create


def start(data: Path) -> None:
    load_or_create(data, name="node-a", kem="X25519", sans=("127.0.0.1",))


def test_a_new_keys_directory_is_0700(tmp_path: Path) -> None:
    start(tmp_path)
    assert stat.S_IMODE((tmp_path / KEYS_DIRECTORY).stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o660, 0o640, 0o604, 0o606, 0o644, 0o610])
@pytest.mark.parametrize(
    "file", [f"{KEYS_DIRECTORY}/signing.key", f"{KEYS_DIRECTORY}/encryption.key", TLS_KEY]
)
def test_an_exposed_key_file_stops_the_node(tmp_path: Path, file: str, mode: int) -> None:
    start(tmp_path)
    path = tmp_path / file
    path.chmod(mode)
    with pytest.raises(UserError) as error:
        start(tmp_path)
    message = str(error.value)
    assert f"node key file {path} has mode {mode:04o}" in message
    assert f"chmod 600 {path}" in message and "fsGroupChangePolicy" in message
    path.chmod(0o600)
    start(tmp_path)


@pytest.mark.parametrize("mode", [0o770, 0o2770, 0o750, 0o705])
def test_an_exposed_keys_directory_stops_the_node(tmp_path: Path, mode: int) -> None:
    """A directory its group can write lets the group replace the keys."""
    start(tmp_path)
    keys = tmp_path / KEYS_DIRECTORY
    keys.chmod(mode)
    with pytest.raises(UserError, match=f"chmod 700 {keys}"):
        start(tmp_path)
    keys.chmod(0o700)
    start(tmp_path)


def test_private_keys_load_and_keep_their_identity(tmp_path: Path) -> None:
    first = load_or_create(tmp_path, name="node-a", kem="X25519", sans=("127.0.0.1",))
    again = load_or_create(tmp_path, name="node-a", kem="X25519", sans=("127.0.0.1",))
    assert again.keys.public().fingerprint() == first.keys.public().fingerprint()
    assert again.certificate_pem == first.certificate_pem
