"""The agent writes a secret's files as the kubelet writes a Secret volume: all at once."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from kuorum.agent.files import DATA, UnsafeKey, Volume, wipe


@pytest.mark.parametrize("key", ["../escape", "a/b", ".hidden", DATA, "..", "", "nul\0"])
def test_a_key_that_is_no_plain_file_name_is_refused_and_nothing_is_written(
    tmp_path: Path, key: str
) -> None:
    with pytest.raises(UnsafeKey, match="is not a safe file name"):
        Volume().write(str(tmp_path / "db"), {"fine": b"1", key: b"2"})
    assert not (tmp_path / "db").exists() or os.listdir(tmp_path / "db") == []
    assert not (tmp_path / "escape").exists()


def test_with_a_group_the_files_are_0440_in_that_group(tmp_path: Path) -> None:
    group = os.getgid()
    Volume(group).write(str(tmp_path), {"token": b"t"})
    written = (tmp_path / DATA / "token").stat()
    assert (written.st_mode & 0o777, written.st_gid) == (0o440, group)
    assert (tmp_path / os.readlink(tmp_path / DATA)).stat().st_mode & 0o777 == 0o750


def test_a_group_we_may_not_give_files_to_is_said_once_and_the_mode_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", refuse)
    volume = Volume(4242)
    volume.write(str(tmp_path), {"a": b"1", "b": b"2"})
    volume.write(str(tmp_path), {"a": b"3"})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "group 4242" in warnings[0].getMessage()
    assert (tmp_path / DATA / "a").stat().st_mode & 0o777 == 0o440


def test_a_rewrite_swaps_the_data_link_and_leaves_one_version(tmp_path: Path) -> None:
    volume = Volume()
    volume.write(str(tmp_path), {"a": b"old", "b": b"gone soon"})
    first = os.readlink(tmp_path / DATA)
    volume.write(str(tmp_path), {"a": b"new", "c": b"added"})
    second = os.readlink(tmp_path / DATA)
    assert second != first
    assert sorted(os.listdir(tmp_path)) == sorted([DATA, second, "a", "c"])
    assert (tmp_path / "a").read_bytes() == b"new" and (tmp_path / "c").read_bytes() == b"added"


def test_wipe_zeroes_the_values_in_place() -> None:
    value = bytearray(b"secret")
    wipe({"k": value})
    assert value == bytes(6)
