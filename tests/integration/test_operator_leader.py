"""Two operator replicas: only the holder of the Lease leads (real apiserver)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kuorum import names
from kuorum.devenv.controlplane import ControlPlane
from kuorum.operator.leader import LEASE_SECONDS, Elector

pytestmark = pytest.mark.integration


def test_one_replica_holds_the_lease_and_another_takes_over_only_after_it_expires(
    control_plane: ControlPlane,
) -> None:
    api = control_plane.api_client()
    first = Elector(api, namespace=names.SYSTEM_NAMESPACE, name="leader-test", identity="a")
    second = Elector(api, namespace=names.SYSTEM_NAMESPACE, name="leader-test", identity="b")
    now = datetime.now(UTC)
    assert first._try(now)
    assert not second._try(now)
    assert first._try(now + timedelta(seconds=5))  # renewal keeps it
    assert not second._try(now + timedelta(seconds=LEASE_SECONDS))
    later = now + timedelta(seconds=5 + LEASE_SECONDS + 1)
    assert second._try(later)  # the first stopped renewing: the lease expired
    assert not first._try(later)
