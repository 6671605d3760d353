"""The agent worker: an AgentServer dispatched by name into call rooms.

One worker process serves many calls, one job process each. The job waits for the caller,
starts an AgentSession on the OpenAI Realtime model with Silero VAD, greets from pre-rendered
audio the moment the caller's audio is subscribed, and records every turn as it happens.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Sequence

from livekit.agents import AgentServer, JobContext, JobProcess, cli
from livekit.plugins import silero

from agent.call_session import CallSession, PrewarmedAssets, prewarm_assets
from agent.config import (
    DEFAULT_AGENT_NAME,
    ConfigError,
    check_livekit_reachable,
    load_settings,
)
from agent.worker_duties import WorkerDuties
from sip.transfer import cold_transfer

logger = logging.getLogger("intake.worker")

PRODUCTION_ENV = "INTAKE_PRODUCTION"
ASSETS_KEY = "intake_assets"


def warm_up_normalizers() -> None:
    """dateparser builds its language data on first use (~150 ms); pay that before the call,
    not inside a tool on the call's event loop."""
    import dateparser

    dateparser.parse("next Friday", settings={"PREFER_DATES_FROM": "future"})


def prewarm(proc: JobProcess) -> None:
    """Runs once per job process, before any call: everything slow happens here."""
    settings = load_settings(production=os.environ.get(PRODUCTION_ENV) == "1")
    vad = silero.VAD.load(
        min_speech_duration=0.05,  # barge-in must fire within a couple of syllables
        min_silence_duration=0.3,
        activation_threshold=0.5,
    )
    assets = prewarm_assets(settings, vad)
    assets.transfer = cold_transfer
    proc.userdata[ASSETS_KEY] = assets
    warm_up_normalizers()


def _num_idle_processes() -> int:
    value = os.environ.get("INTAKE_IDLE_PROCESSES", "").strip()
    return int(value) if value.isdigit() else 1


def _load_threshold() -> float:
    value = os.environ.get("INTAKE_LOAD_THRESHOLD", "").strip()
    return float(value) if value else 0.75


def _no_load() -> float:
    return 0.0


_LOAD_THRESHOLD = _load_threshold()

server = AgentServer(
    setup_fnc=prewarm,
    load_threshold=_LOAD_THRESHOLD,
    # livekit-server itself skips a worker whose reported load is above its target: "never
    # refuse" (an infinite threshold, for a machine shared with the test harness) must report
    # no load, not the machine's CPU
    load_fnc=_no_load if math.isinf(_LOAD_THRESHOLD) else None,
    num_idle_processes=_num_idle_processes(),
    initialize_process_timeout=30.0,
    # the worker's health endpoint; 0 picks a free port (several workers on one machine)
    port=int(os.environ.get("INTAKE_WORKER_HTTP_PORT", "8081")),
    shutdown_process_timeout=15.0,
)


@server.rtc_session(agent_name=os.environ.get("INTAKE_AGENT_NAME") or DEFAULT_AGENT_NAME)
async def entrypoint(ctx: JobContext) -> None:
    assets: PrewarmedAssets = ctx.proc.userdata[ASSETS_KEY]
    await CallSession(ctx, assets).run()


def run_worker_cli(argv: Sequence[str]) -> None:
    """LiveKit's worker CLI (dev/start/console/connect) after our own configuration check."""
    command = argv[0]
    default_env = "production" if command == "start" else "development"
    production = (os.environ.get("INTAKE_ENV") or default_env) == "production"
    os.environ[PRODUCTION_ENV] = "1" if production else "0"
    wants_help = any(flag in argv for flag in ("-h", "--help"))
    settings = None
    if command not in {"download-files", "console"} and not wants_help:
        try:
            settings = load_settings(production=production)
            if command in {"dev", "start", "connect"}:
                check_livekit_reachable(settings.livekit_url)
        except ConfigError as exc:
            print(f"intake: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
    sys.argv = ["intake", *argv]
    duties: WorkerDuties | None = None
    if command in {"dev", "start"} and settings is not None:
        duties = WorkerDuties(settings)
        duties.start()
    try:
        cli.run_app(server)
    finally:
        if duties is not None:
            duties.stop()
