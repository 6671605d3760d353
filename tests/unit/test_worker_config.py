"""Configuration and CLI bad input: one clear line naming the variable or file, non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import ConfigError, check_livekit_reachable, load_settings
from devstack.processes import free_port
from devstack.services import DEV_API_SECRET

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
BASE_ENV = {
    "LIVEKIT_URL": "ws://127.0.0.1:7880",
    "LIVEKIT_API_KEY": "devkey",
    "LIVEKIT_API_SECRET": DEV_API_SECRET,
    "OPENAI_API_KEY": "sk-test",
}


def _set(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for key in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "OPENAI_API_KEY",
                "OPENAI_BASE_URL", "INTAKE_PLAYBOOK", "INTAKE_REDIS_URL", "INTAKE_DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_valid_development_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, **BASE_ENV)
    settings = load_settings(production=False)
    assert settings.agent_name and settings.playbook_path.is_file()
    assert not settings.uses_local_realtime


@pytest.mark.parametrize(("missing", "named"), [
    ("LIVEKIT_URL", "LIVEKIT_URL"),
    ("LIVEKIT_API_KEY", "LIVEKIT_API_KEY"),
    ("OPENAI_API_KEY", "OPENAI_API_KEY"),
])
def test_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch, missing: str,
                                   named: str) -> None:
    _set(monkeypatch, **{k: v for k, v in BASE_ENV.items() if k != missing})
    with pytest.raises(ConfigError, match=named):
        load_settings(production=False)


def test_bad_url_and_missing_playbook_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, **{**BASE_ENV, "LIVEKIT_URL": "not a url"})
    with pytest.raises(ConfigError, match="LIVEKIT_URL"):
        load_settings(production=False)
    _set(monkeypatch, **{**BASE_ENV, "INTAKE_PLAYBOOK": "/nonexistent/playbook.yaml"})
    with pytest.raises(ConfigError, match=r"INTAKE_PLAYBOOK.*/nonexistent/playbook\.yaml"):
        load_settings(production=False)


def test_production_refuses_the_simulator_and_needs_storage(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, **{**BASE_ENV, "OPENAI_BASE_URL": "http://127.0.0.1:9999/v1"})
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        load_settings(production=True)
    _set(monkeypatch, **BASE_ENV)
    with pytest.raises(ConfigError, match="INTAKE_REDIS_URL"):
        load_settings(production=True)


def test_unreachable_livekit_is_reported() -> None:
    with pytest.raises(ConfigError, match="LIVEKIT_URL is unreachable"):
        check_livekit_reachable(f"ws://127.0.0.1:{free_port()}", timeout=1.0)


def _intake(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("LIVEKIT_", "OPENAI_", "INTAKE_"))}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True,
                          text=True, env=full_env, cwd=ROOT, timeout=60, check=False)


def test_start_without_openai_key_exits_with_one_line() -> None:
    result = _intake("start", env={k: v for k, v in BASE_ENV.items() if k != "OPENAI_API_KEY"})
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("intake:")]
    assert len(lines) == 1 and "OPENAI_API_KEY" in lines[0]


def test_start_against_an_unreachable_livekit_exits_with_one_line() -> None:
    env = {**BASE_ENV, "LIVEKIT_URL": f"ws://127.0.0.1:{free_port()}", "INTAKE_ENV": "development"}
    result = _intake("start", env=env)
    assert result.returncode == 1
    assert "LIVEKIT_URL is unreachable" in result.stderr


def test_demo_with_a_bad_scenario_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nturns:\n  - caller: 12\n    hangup: maybe\n")
    result = _intake("demo", "--scenario", str(bad), env={})
    assert result.returncode == 1
    assert str(bad) in result.stderr


def test_help_lists_worker_and_own_commands() -> None:
    result = _intake("--help", env={})
    assert result.returncode == 0
    for command in ("dev", "start", "console", "connect", "demo", "playbook", "bench"):
        assert command in result.stdout


def test_fixed_line_voice_settings_are_read_and_a_bad_timeout_is_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, **BASE_ENV, INTAKE_FIXED_LINES_VOICE="espeak",
         INTAKE_VOICE_CONNECT_TIMEOUT_S="1.5")
    settings = load_settings(production=False)
    assert settings.fixed_lines_in_model_voice is False
    assert settings.voice_connect_timeout_s == 1.5 and settings.voice_render_timeout_s == 45.0
    _set(monkeypatch, **BASE_ENV, INTAKE_VOICE_RENDER_TIMEOUT_S="soon")
    monkeypatch.delenv("INTAKE_FIXED_LINES_VOICE")
    with pytest.raises(ConfigError, match="INTAKE_VOICE_RENDER_TIMEOUT_S"):
        load_settings(production=False)
