"""The first build of the control plane says how far it is and about how long is left."""

from __future__ import annotations

from kuorum.devenv.binaries import progress


def test_progress_names_the_build_the_count_and_an_estimate() -> None:
    line = progress("compiling etcd", 300, 1200, 90)
    assert line == "compiling etcd: 300 of 1200 packages after 1m30s, at most about 4m30s left"


def test_progress_before_the_first_package_and_past_the_count() -> None:
    assert progress("compiling etcd", 0, 1200, 5).endswith("0 of 1200 packages after 0m05s")
    assert progress("compiling etcd", 1300, 1200, 60).endswith("at most about 0m00s left")
