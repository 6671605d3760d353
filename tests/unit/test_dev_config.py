"""Configuration hygiene: the local stack's key pair is one, long enough for HMAC, everywhere;
`.env` is read by every command and never overrides the real environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from agent.env_file import ENV_FILE_VAR, env_file, load_env_file
from devstack.__main__ import write_env_file
from devstack.services import DEV_API_KEY, DEV_API_SECRET, LiveKitServer

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# PyJWT's minimum for HS256 (InsecureKeyLengthWarning below it)
HMAC_MIN_BYTES = 32


def test_one_dev_key_pair_long_enough_everywhere() -> None:
    yaml = YAML(typ="safe")
    assert len(DEV_API_SECRET.encode()) >= HMAC_MIN_BYTES
    assert yaml.load((ROOT / "livekit.yaml").read_text())["keys"] == {DEV_API_KEY: DEV_API_SECRET}
    sip = yaml.load((ROOT / "sip" / "livekit-sip.yaml").read_text())
    assert (sip["api_key"], sip["api_secret"]) == (DEV_API_KEY, DEV_API_SECRET)
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert (example["LIVEKIT_API_KEY"], example["LIVEKIT_API_SECRET"]) == (DEV_API_KEY,
                                                                           DEV_API_SECRET)
    assert LiveKitServer().render_config()["keys"] == {DEV_API_KEY: DEV_API_SECRET}


def test_env_file_fills_only_unset_variables(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("INTAKE_TEST_FROM_FILE=file\nINTAKE_TEST_ALREADY_SET=file\n")
    monkeypatch.setenv(ENV_FILE_VAR, str(dotenv))
    monkeypatch.setenv("INTAKE_TEST_ALREADY_SET", "environment")
    monkeypatch.delenv("INTAKE_TEST_FROM_FILE", raising=False)
    assert load_env_file() == dotenv
    assert os.environ["INTAKE_TEST_FROM_FILE"] == "file"
    assert os.environ["INTAKE_TEST_ALREADY_SET"] == "environment"
    monkeypatch.delenv("INTAKE_TEST_FROM_FILE")


def test_env_file_is_found_in_the_current_folder_and_can_be_turned_off(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("X=1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_FILE_VAR, raising=False)
    assert env_file() == tmp_path / ".env"
    monkeypatch.setenv(ENV_FILE_VAR, "")
    assert env_file() is None


def test_bootstrap_writes_a_first_env_file_and_never_overwrites_one(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    assert write_env_file(path)
    text = path.read_text()
    assert "INTAKE_DATABASE_URL=postgresql://intake:intake@127.0.0.1:5433/intake" in text
    assert "INTAKE_REDIS_URL=redis://127.0.0.1:6381/0" in text
    assert path.stat().st_mode & 0o077 == 0
    path.write_text("MINE=1\n")
    assert not write_env_file(path)
    assert path.read_text() == "MINE=1\n"


def test_no_url_credentials_are_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from agent.config import ConfigError, check_livekit_reachable, load_settings
    from agent.log_hygiene import UrlCredentialsFilter
    from devstack.processes import free_port
    from sip.redaction import redact, url_for_display

    assert url_for_display("wss://ops:hunter2@lk.example.com:443/x?token=abc") == (
        "wss://lk.example.com:443/x")
    assert "hunter2" not in redact("connect to wss://ops:hunter2@lk.example.com failed")
    monkeypatch.setenv("LIVEKIT_URL", "ftp://ops:hunter2@lk.example.com")
    with pytest.raises(ConfigError) as error:
        load_settings(production=False)
    assert "hunter2" not in str(error.value) and "ops" not in str(error.value)
    with pytest.raises(ConfigError) as error:
        check_livekit_reachable(f"ws://ops:hunter2@127.0.0.1:{free_port()}", timeout=1.0)
    assert "hunter2" not in str(error.value) and "127.0.0.1" in str(error.value)
    record = logging.LogRecord("livekit.agents", logging.INFO, "f", 1, "registered worker %s",
                               ("wss://ops:hunter2@lk.example.com",), None)
    record.url = "wss://ops:hunter2@lk.example.com"
    assert UrlCredentialsFilter().filter(record)
    assert "hunter2" not in record.getMessage() and record.url == "wss://lk.example.com"
