"""Write a secret's values into its directory the way the kubelet writes Secret volumes.

A reader sees the old set of files or the new one, never a mix: the values go into a
fresh hidden directory ``..<timestamp>.<random>``, the symlink ``..data`` is swapped to
it with one rename, and each key ``k`` is a symlink ``k -> ..data/k`` that stays put, so
an application keeps reading the same path. The previous hidden directory goes last.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from kuorum.errors import KuorumError

DATA = "..data"
"""The symlink to the current version's directory; its presence means "delivered"."""

DIRECTORY = os.O_RDONLY | os.O_DIRECTORY

log = logging.getLogger("kuorum.agent")


class UnsafeKey(KuorumError):
    """A key that is no plain file name: it could escape the directory or hide in it."""


def check_keys(keys: Iterable[str]) -> None:
    """Refuse every key but a plain, visible file name (none of ``..data``, ``../x``)."""
    for key in keys:
        if not key or "/" in key or "\0" in key or key.startswith("."):
            raise UnsafeKey(
                f"key {key!r} is not a safe file name (no '/', not starting with '.'): "
                "rename it in the secret to deliver it as a file"
            )


def wipe(data: Mapping[str, bytearray]) -> None:
    """Zero the values in place: best effort, Python may have copied them elsewhere."""
    for value in data.values():
        value[:] = bytes(len(value))


class Volume:
    """Where a pod's secrets are written: files 0400, or 0440 in the pod's fsGroup."""

    def __init__(self, group: int | None = None) -> None:
        self.group = group
        self._chgrp_refused = False

    def write(self, directory: str, data: Mapping[str, bytes | bytearray]) -> None:
        """Make ``directory`` hold exactly ``data``, swapped in at once."""
        check_keys(data)
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
        fresh = Path(tempfile.mkdtemp(prefix=stamp, dir=root))
        try:
            for key, value in data.items():
                self._write_file(fresh / key, value)
            with _opened(fresh, DIRECTORY) as fd:
                self._own(fd, 0o750 if self.group is not None else 0o700)
            temporary = root / f"{DATA}_tmp"
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            os.symlink(fresh.name, temporary)
            os.rename(temporary, root / DATA)  # the one atomic step readers see
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        _link_keys(root, data)
        _remove_old(root, keep=fresh.name)
        with _opened(root, DIRECTORY) as fd:
            os.fsync(fd)

    def _write_file(self, path: Path, value: bytes | bytearray) -> None:
        """Write through ``os.write`` only: no buffered copy of the value is left behind."""
        mode = 0o440 if self.group is not None else 0o400
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with _opened(path, flags, mode) as fd:
            view = memoryview(value)
            while view:
                view = view[os.write(fd, view) :]
            self._own(fd, mode)

    def _own(self, fd: int, mode: int) -> None:
        """Set the mode (whatever the umask took away) and group, then flush to disk."""
        os.fchmod(fd, mode)
        self._chgrp(fd)
        os.fsync(fd)

    def _chgrp(self, fd: int) -> None:
        """Give the file to the pod's fsGroup; where we may not, it stays in ours (said once)."""
        if self.group is None:
            return
        try:
            os.fchown(fd, -1, self.group)
        except PermissionError as error:
            if not self._chgrp_refused:
                log.warning(
                    "cannot give the secret files to group %d (%s): they stay in the agent's "
                    "own group, mode 0440",
                    self.group,
                    error.strerror,
                )
                self._chgrp_refused = True


def _link_keys(root: Path, keys: Iterable[str]) -> None:
    """Make ``k -> ..data/k`` for each key, and drop the links of keys no longer there."""
    wanted = set(keys)
    for key in wanted:
        if not _is_key_link(root / key):
            os.symlink(f"{DATA}/{key}", root / key)
    for name in os.listdir(root):
        if name not in wanted and _is_key_link(root / name):
            os.unlink(root / name)


def _is_key_link(path: Path) -> bool:
    return path.is_symlink() and os.readlink(path) == f"{DATA}/{path.name}"


def _remove_old(root: Path, *, keep: str) -> None:
    """Remove the hidden directories of earlier versions (``..data`` no longer points there)."""
    for entry in os.scandir(root):
        if (
            entry.name.startswith("..")
            and entry.name != keep
            and entry.is_dir(follow_symlinks=False)
        ):
            shutil.rmtree(entry.path)


@contextlib.contextmanager
def _opened(path: Path, flags: int, mode: int = 0o600) -> Iterator[int]:
    fd = os.open(path, flags, mode)
    try:
        yield fd
    finally:
        os.close(fd)
