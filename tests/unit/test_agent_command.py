"""``kuorum agent`` on the command line: where its config comes from, and its exit codes."""

from __future__ import annotations

import datetime
import socket
from pathlib import Path

import pytest
from tokenkit import make_token

from kuorum.agentconfig import ENV_VAR, AgentConfig, AgentNode, AgentSecret
from kuorum.cli import build_parser, main
from kuorum.node.tls import make_certificate


def unreachable_config(tmp_path: Path, subject: str) -> Path:
    """A config file for one node nobody listens for, and the pod's token for it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    now = datetime.datetime.now(datetime.UTC)
    certificate, _ = make_certificate("node-a", ["127.0.0.1"], now=now)
    node = AgentNode("node-a", f"https://127.0.0.1:{port}", certificate.decode(), bytes(32))
    secret = AgentSecret("team", "db", str(tmp_path / "db"), (node,))
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    (tokens / "node-a").write_text(make_token(aud=["kuorum.io/node/node-a"], sub=subject))
    path = tmp_path / "agent.json"
    path.write_text(AgentConfig((secret,), str(tokens)).to_json())
    return path


def test_agent_is_a_command() -> None:
    assert "agent" in build_parser().format_help()


def test_without_a_config_the_error_names_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert main(["agent"]) == 2
    assert ENV_VAR in capsys.readouterr().err


def test_a_config_that_does_not_parse_is_a_user_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_VAR, '{"secrets": []}')
    assert main(["agent"]) == 2
    assert f"the agent config in ${ENV_VAR} is invalid" in capsys.readouterr().err


@pytest.mark.parametrize("interval", ["0", "-1", "nan", "inf"])
def test_the_interval_must_be_a_positive_number(
    tmp_path: Path, interval: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = unreachable_config(tmp_path, "system:serviceaccount:team:web")
    assert main(["agent", "--config", str(config), "--interval", interval]) == 2
    assert "--interval" in capsys.readouterr().err


def test_a_missing_config_file_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agent", "--config", str(tmp_path / "nope.json")]) == 2
    assert "cannot read --config" in capsys.readouterr().err


def test_a_first_delivery_that_fails_exits_1_and_names_the_node(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = unreachable_config(tmp_path, "system:serviceaccount:team:web")
    assert main(["agent", "--config", str(config), "--once"]) == 1
    assert "team/db not delivered: share node node-a: GET /v1/deliveries/team/db" in caplog.text
    assert not (tmp_path / "db" / "..data").exists()


def test_a_token_that_names_no_service_account_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = unreachable_config(tmp_path, "web")
    assert main(["agent", "--config", str(config), "--once"]) == 2
    assert "is not a service-account token" in capsys.readouterr().err
