"""The webhook as a real process registered with the apiserver, for the tests that need it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv import webhook as local
from kuorum.devenv.controlplane import ControlPlane


@pytest.fixture(name="webhook", scope="module")
def webhook_fixture(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[local.LocalWebhook]:
    """``kuorum webhook`` as the kuorum-webhook ServiceAccount with the chart's RBAC, files
    TLS, registered by URL with its caBundle; unregistered and stopped afterwards.

    Use it from a test module with ``from webhooks import webhook_fixture  # noqa: F401``.
    """
    api = control_plane.api_client()
    install.grant_component(api, "webhook")
    process = local.LocalWebhook(
        tmp_path_factory.mktemp("webhook"),
        control_plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.WEBHOOK_ACCOUNT),
        client_ca=control_plane.pki.ca_cert,
    )
    process.start()
    local.register(api, process.configuration())
    try:
        yield process
    finally:
        local.unregister(api)
        process.stop()
