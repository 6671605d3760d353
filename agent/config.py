"""Worker settings from the environment; every key is documented in .env.example."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_AGENT_NAME = "intake-agent"
DEFAULT_PLAYBOOK = Path(__file__).resolve().parent.parent / "playbooks" / "home_services.yaml"


class ConfigError(Exception):
    """Missing or wrong configuration; the message names the variable or file."""


@dataclass(frozen=True)
class WorkerSettings:
    livekit_url: str
    livekit_api_key: str
    livekit_api_secret: str
    agent_name: str
    playbook_path: Path
    openai_api_key: str | None
    openai_base_url: str | None
    realtime_model: str
    realtime_voice: str
    redis_url: str | None
    database_url: str | None
    business_api_base: str | None
    production: bool
    # the outbound trunk (warm transfers, outbound calls): an id, else found by the name
    # `intake provision` gave it (<SIP_RESOURCE_NAME>-outbound)
    sip_outbound_trunk_id: str = ""
    sip_resource_name: str = "intake"

    @property
    def uses_local_realtime(self) -> bool:
        if not self.openai_base_url:
            return False
        host = urlparse(self.openai_base_url).hostname or ""
        return host in {"127.0.0.1", "localhost", "::1"}


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def load_settings(*, production: bool) -> WorkerSettings:
    """Read and check settings. `production` is the `start` command: no local defaults."""
    livekit_url = _env("LIVEKIT_URL")
    api_key = _env("LIVEKIT_API_KEY")
    api_secret = _env("LIVEKIT_API_SECRET")
    if not livekit_url:
        raise ConfigError("LIVEKIT_URL is not set (e.g. ws://127.0.0.1:7880)")
    parsed = urlparse(livekit_url)
    if parsed.scheme not in {"ws", "wss", "http", "https"} or not parsed.hostname:
        raise ConfigError(f"LIVEKIT_URL is not a ws:// or wss:// URL: {livekit_url!r}")
    if not api_key or not api_secret:
        raise ConfigError("LIVEKIT_API_KEY and LIVEKIT_API_SECRET must both be set")
    playbook = Path(_env("INTAKE_PLAYBOOK") or DEFAULT_PLAYBOOK)
    if not playbook.is_file():
        raise ConfigError(f"INTAKE_PLAYBOOK: file not found: {playbook}")
    settings = WorkerSettings(
        livekit_url=livekit_url,
        livekit_api_key=api_key,
        livekit_api_secret=api_secret,
        agent_name=_env("INTAKE_AGENT_NAME") or DEFAULT_AGENT_NAME,
        playbook_path=playbook,
        openai_api_key=_env("OPENAI_API_KEY"),
        openai_base_url=_env("OPENAI_BASE_URL"),
        realtime_model=_env("INTAKE_REALTIME_MODEL") or "gpt-realtime",
        realtime_voice=_env("INTAKE_REALTIME_VOICE") or "marin",
        redis_url=_env("INTAKE_REDIS_URL"),
        database_url=_env("INTAKE_DATABASE_URL"),
        business_api_base=_env("BUSINESS_API_BASE"),
        production=production,
        sip_outbound_trunk_id=_env("SIP_OUTBOUND_TRUNK_ID") or "",
        sip_resource_name=_env("SIP_RESOURCE_NAME") or "intake",
    )
    if not settings.openai_api_key:
        raise ConfigError("OPENAI_API_KEY is not set (the Realtime API needs it; for the local "
                          "simulator any value works)")
    if production and settings.uses_local_realtime:
        raise ConfigError("OPENAI_BASE_URL points at a local simulator; unset it for `start`")
    if production and not (settings.redis_url and settings.database_url):
        raise ConfigError("INTAKE_REDIS_URL and INTAKE_DATABASE_URL are required for `start`")
    return settings


def check_livekit_reachable(url: str, timeout: float = 3.0) -> None:
    """Fail fast with the variable's name instead of retrying a dead URL for minutes."""
    import socket

    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme in {"wss", "https"} else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return
    except OSError as exc:
        raise ConfigError(f"LIVEKIT_URL is unreachable ({url}): {exc.strerror or exc}") from None
