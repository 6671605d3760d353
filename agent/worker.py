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
from collections.abc import Callable, Sequence

from livekit.agents import AgentServer, JobContext, JobExecutorType, JobProcess, cli

from agent.assets import PrewarmedAssets
from agent.call_session import CallSession
from agent.composition import prewarm_assets
from agent.config import (
    DEFAULT_AGENT_NAME,
    PRODUCTION_ENV,
    ConfigError,
    WorkerSettings,
    check_livekit_reachable,
    load_settings,
    load_worker_settings,
)
from agent.fixed_lines import render_fixed_lines_at_start
from agent.log_hygiene import install_url_credentials_filter
from agent.model_check import any_gone, check_models_blocking, log_statuses
from agent.process_vad import process_vad
from agent.realtime_model import configured_models
from agent.tracing import configure_tracing
from agent.word_data import load_word_data
from agent.worker_duties import WorkerDuties
from agent.worker_server import IntakeAgentServer, drain_timeout_seconds

logger = logging.getLogger("intake.worker")
# in the worker process and in every job process (each imports this module)
install_url_credentials_filter()

# livekit-agents' forkserver would load its own local VAD and end-of-turn weights, which this
# worker never uses (Silero VAD, the Realtime model's turn detection): ~35 MB left unloaded
os.environ.setdefault("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")
ASSETS_KEY = "intake_assets"


def prewarm(proc: JobProcess) -> None:
    """Runs once per job process, before any call: everything slow happens here."""
    settings = load_worker_settings()
    proc.userdata[ASSETS_KEY] = prewarm_assets(settings, process_vad())
    load_word_data()
    configure_tracing()


async def render_fixed_lines() -> None:
    """The worker's main process, before it registers or starts a job process: every fixed
    line in the model's voice, into the cache the job processes read (`agent.fixed_lines`)."""
    settings = load_worker_settings()
    await render_fixed_lines_at_start(settings)


def _num_idle_processes() -> int:
    value = os.environ.get("INTAKE_IDLE_PROCESSES", "").strip()
    return int(value) if value.isdigit() else 1


def _load_threshold() -> float:
    value = os.environ.get("INTAKE_LOAD_THRESHOLD", "").strip()
    if value:
        return float(value)
    # with a call capacity the worker is full at exactly that many calls
    return 1.0 if _max_calls() else 0.75


def _no_load() -> float:
    return 0.0


def _max_calls() -> int:
    value = os.environ.get("INTAKE_MAX_CALLS", "").strip()
    return int(value) if value.isdigit() else 0


_LOAD_THRESHOLD = _load_threshold()
_MAX_CALLS = _max_calls()


def _calls_load(worker: AgentServer) -> float:
    """Load as calls over capacity: deterministic, unlike the CPU of a shared machine. The
    capacity comes from `intake bench load` (cores and memory per call)."""
    return min(1.0, len(worker.active_jobs) / _MAX_CALLS)


def _load_fnc() -> Callable[[AgentServer], float] | Callable[[], float] | None:
    if math.isinf(_LOAD_THRESHOLD):
        return _no_load
    return _calls_load if _MAX_CALLS else None


server = IntakeAgentServer(
    setup_fnc=prewarm,
    before_run=render_fixed_lines,
    load_threshold=_LOAD_THRESHOLD,
    # livekit-server itself skips a worker whose reported load is above its target: "never
    # refuse" (an infinite threshold, for a machine shared with the test harness) must report
    # no load, not the machine's CPU
    load_fnc=_load_fnc(),
    num_idle_processes=_num_idle_processes(),
    # "thread" runs every call in the worker process itself (one Python, one GIL)
    job_executor_type=(JobExecutorType.THREAD if os.environ.get("INTAKE_JOB_EXECUTOR") == "thread"
                       else JobExecutorType.PROCESS),
    initialize_process_timeout=30.0,
    # the forkserver imports the call's code and word data once; job processes share it
    preload_modules=["agent.job_preload"],
    # the worker's health endpoint; 0 picks a free port (several workers on one machine)
    port=int(os.environ.get("INTAKE_WORKER_HTTP_PORT", "8081")),
    # "" is every interface; with port 0 IPv4 and IPv6 would each get a different free port
    host=os.environ.get("INTAKE_WORKER_HTTP_HOST", ""),
    shutdown_process_timeout=15.0,
    # SIGTERM under `intake start`: stop taking jobs, let live calls finish for this long
    drain_timeout=drain_timeout_seconds(),
)


@server.rtc_session(agent_name=os.environ.get("INTAKE_AGENT_NAME") or DEFAULT_AGENT_NAME)
async def entrypoint(ctx: JobContext) -> None:
    assets: PrewarmedAssets = ctx.proc.userdata[ASSETS_KEY]
    await CallSession(ctx, assets).run()


def check_configured_models(settings: WorkerSettings) -> None:
    """Warn about a model that shuts down within 60 days; refuse to start on one that's gone."""
    statuses = check_models_blocking(configured_models(settings),
                                     base_url=settings.openai_base_url,
                                     api_key=settings.openai_api_key or "")
    log_statuses(statuses)
    for status in statuses:
        if status.verdict != "ok":
            print(f"intake: {status.line()}", file=sys.stderr)
    if any_gone(statuses):
        raise ConfigError("a configured OpenAI model is no longer available; set "
                          "INTAKE_REALTIME_MODEL / INTAKE_TRANSCRIPTION_MODEL to current ones")


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
                check_configured_models(settings)
        except ConfigError as exc:
            print(f"intake: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
    sys.argv = ["intake", *argv]
    duties: WorkerDuties | None = None
    if command in {"dev", "start"} and settings is not None:
        server.use_storage(settings.redis_url, settings.database_url)
        duties = WorkerDuties(settings)
        duties.start()
    try:
        cli.run_app(server)
    finally:
        if duties is not None:
            duties.stop()
