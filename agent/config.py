"""Worker settings from the environment; every key is documented in .env.example."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from sip.redaction import url_for_display
from tools.booking import (
    BookingBackend,
    CallbackRequestBackend,
    HttpBookingBackend,
    LocalBookingBackend,
)
from tools.playbook import Playbook, PlaybookError, load_playbook

DEFAULT_AGENT_NAME = "intake-agent"
# OpenAI's current speech-to-speech model (gpt-realtime shuts down 2027-01-20) and the
# transcription model it recommends for committed Realtime turns (the gpt-4o transcribe
# models shut down 2027-02-26)
DEFAULT_REALTIME_MODEL = "gpt-realtime-2.1"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-transcribe"
ReasoningEffort = Literal["minimal", "low", "medium", "high", "xhigh"]
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
# the API's own default: a phone call can't wait on long reasoning
DEFAULT_REASONING_EFFORT: ReasoningEffort = "low"
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
    # bearer token for BUSINESS_API_BASE; never logged
    business_api_token: str | None = None
    transcription_model: str = DEFAULT_TRANSCRIPTION_MODEL
    # transcribes a supervisor who took the call over (agent.supervisor_transcription);
    # empty: their speech is not transcribed
    supervisor_transcription_model: str = ""
    reasoning_effort: ReasoningEffort = DEFAULT_REASONING_EFFORT
    # fixed lines in the model's own voice (agent.fixed_lines); False: espeak-ng for all
    fixed_lines_in_model_voice: bool = True
    voice_connect_timeout_s: float = 3.0
    # the worker start's whole rendering of fixed lines
    voice_render_timeout_s: float = 45.0
    # the outbound trunk (warm transfers, outbound calls): an id, else found by the name
    # `intake provision` gave it (<SIP_RESOURCE_NAME>-outbound)
    sip_outbound_trunk_id: str = ""
    sip_resource_name: str = "intake"
    # one server-VAD silence window for every turn; None: sized by the question
    # (agent.turn_taking)
    turn_silence_ms: int | None = None

    @property
    def uses_local_realtime(self) -> bool:
        if not self.openai_base_url:
            return False
        host = urlparse(self.openai_base_url).hostname or ""
        return host in {"127.0.0.1", "localhost", "::1"}


def input_auto_gain() -> bool:
    """WebRTC gain control on the caller's audio (livekit-agents' default: on). Phone audio
    comes level-controlled by the carrier; `intake bench load` measures what it costs."""
    return (_env("INTAKE_INPUT_AUTO_GAIN") or "1") not in {"0", "false", "no"}


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _env_seconds(name: str, default: float) -> float:
    value = _env(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds") from None


def _turn_silence_ms() -> int | None:
    value = _env("INTAKE_TURN_SILENCE_MS")
    if value is None:
        return None
    try:
        ms = int(value)
    except ValueError:
        ms = -1
    if not 100 <= ms <= 3000:
        raise ConfigError("INTAKE_TURN_SILENCE_MS must be a whole number of milliseconds "
                          "from 100 to 3000 (unset: sized by the agent's question)")
    return ms


def _reasoning_effort() -> ReasoningEffort:
    value = (_env("INTAKE_REASONING_EFFORT") or DEFAULT_REASONING_EFFORT).lower()
    if value not in REASONING_EFFORTS:
        raise ConfigError(f"INTAKE_REASONING_EFFORT must be one of {', '.join(REASONING_EFFORTS)}")
    return value  # type: ignore[return-value]


# set by `intake start` (1) and `intake dev` (0) for the job processes they fork
PRODUCTION_ENV = "INTAKE_PRODUCTION"


def load_worker_settings() -> WorkerSettings:
    """The settings a job process or the forkserver reads, strict as its worker was started."""
    return load_settings(production=os.environ.get(PRODUCTION_ENV) == "1")


def load_settings(*, production: bool) -> WorkerSettings:
    """Read and check settings. `production` is the `start` command: no local defaults."""
    livekit_url = _env("LIVEKIT_URL")
    api_key = _env("LIVEKIT_API_KEY")
    api_secret = _env("LIVEKIT_API_SECRET")
    if not livekit_url:
        raise ConfigError("LIVEKIT_URL is not set (e.g. ws://127.0.0.1:7880)")
    parsed = urlparse(livekit_url)
    if parsed.scheme not in {"ws", "wss", "http", "https"} or not parsed.hostname:
        raise ConfigError("LIVEKIT_URL is not a ws:// or wss:// URL: "
                          f"{url_for_display(livekit_url)!r}")
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
        realtime_model=_env("INTAKE_REALTIME_MODEL") or DEFAULT_REALTIME_MODEL,
        transcription_model=_env("INTAKE_TRANSCRIPTION_MODEL") or DEFAULT_TRANSCRIPTION_MODEL,
        supervisor_transcription_model=_env("INTAKE_SUPERVISOR_TRANSCRIPTION_MODEL") or "",
        reasoning_effort=_reasoning_effort(),
        # INTAKE_FIXED_LINES_VOICE=espeak keeps every fixed line in espeak-ng (no rendering)
        fixed_lines_in_model_voice=(_env("INTAKE_FIXED_LINES_VOICE") or "model").lower()
        != "espeak",
        voice_connect_timeout_s=_env_seconds("INTAKE_VOICE_CONNECT_TIMEOUT_S", 3.0),
        voice_render_timeout_s=_env_seconds("INTAKE_VOICE_RENDER_TIMEOUT_S", 45.0),
        realtime_voice=_env("INTAKE_REALTIME_VOICE") or "marin",
        redis_url=_env("INTAKE_REDIS_URL"),
        database_url=_env("INTAKE_DATABASE_URL"),
        business_api_base=_env("BUSINESS_API_BASE"),
        business_api_token=_env("BUSINESS_API_TOKEN"),
        production=production,
        sip_outbound_trunk_id=_env("SIP_OUTBOUND_TRUNK_ID") or "",
        sip_resource_name=_env("SIP_RESOURCE_NAME") or "intake",
        turn_silence_ms=_turn_silence_ms(),
    )
    if not settings.openai_api_key:
        raise ConfigError("OPENAI_API_KEY is not set (the Realtime API needs it; for the local "
                          "simulator any value works)")
    if production and settings.uses_local_realtime:
        raise ConfigError("OPENAI_BASE_URL points at a local simulator; unset it for `start`")
    if production and not (settings.redis_url and settings.database_url):
        raise ConfigError("INTAKE_REDIS_URL and INTAKE_DATABASE_URL are required for `start`")
    if production:
        booking_backend_for(settings, _load_playbook(playbook))  # refuses a backend that lies
    return settings


def _load_playbook(path: Path) -> Playbook:
    try:
        return load_playbook(path)
    except PlaybookError as exc:
        raise ConfigError(f"INTAKE_PLAYBOOK: {exc}") from None


def booking_backend_for(settings: WorkerSettings, playbook: Playbook) -> BookingBackend:
    """The booking backend the worker's calls use.

    The in-memory backend confirms everything, so production never gets it: there a missing
    BUSINESS_API_BASE is a start-up error unless the playbook says `booking: callback_only`,
    which turns every booking into a callback request a person confirms.
    """
    http = (HttpBookingBackend(settings.business_api_base, api_key=settings.business_api_token)
            if settings.business_api_base else None)
    if playbook.booking == "callback_only":
        return CallbackRequestBackend(callbacks_to=http)
    if http is not None:
        return http
    if settings.production:
        raise ConfigError("BUSINESS_API_BASE is not set: production would tell callers a "
                          "booking is confirmed that no calendar holds. Set it, or put "
                          "`booking: callback_only` in the playbook")
    return LocalBookingBackend()


def check_livekit_reachable(url: str, timeout: float = 3.0) -> None:
    """Fail fast with the variable's name instead of retrying a dead URL for minutes."""
    import socket

    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme in {"wss", "https"} else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return
    except OSError as exc:
        raise ConfigError(f"LIVEKIT_URL is unreachable ({url_for_display(url)}): "
                          f"{exc.strerror or type(exc).__name__}") from None
