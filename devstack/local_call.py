"""The whole local stack in one object, and one simulated call through it.

`intake demo`, `intake bench latency` and the integration tests all go through here, so the
thing we benchmark is the thing we test: real livekit-server, real worker process, the real
Realtime plugin talking to the Realtime simulator, Redis and Postgres.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from livekit import api

from agent.config import DEFAULT_PLAYBOOK, DEFAULT_TRANSCRIPTION_MODEL
from devstack.paths import project_root
from devstack.processes import ManagedProcess
from devstack.services import LiveKitServer, PostgresServer, RedisServer
from realtime_simulator import RealtimeSimulator, Scenario
from realtime_simulator.concurrent_calls import ConcurrentRealtimeSimulator
from simulated_caller import CallerLine, CallerReport, SimulatedCaller
from tools.playbook import load_playbook

SIM_API_KEY = "sim-local-key"
WORKER_READY_MARKER = "registered worker"
HTTP_LISTENING = re.compile(r"HTTP server listening on [^:\s]*:(\d+)")


@dataclass
class CallResult:
    call_id: str
    room: str
    report: CallerReport
    sim_turn_timings: list[Any] = field(default_factory=list)


def caller_lines(scenario: Scenario) -> list[CallerLine]:
    lines = []
    for turn in scenario.turns:
        lines.append(CallerLine(
            text=turn.caller,
            pause_before_ms=turn.pause_before_ms if turn.pause_before_ms is not None else 700,
            barge_in_after_ms=turn.barge_in_after_ms,
            hangup=bool(turn.hangup),
            wait_for_hangup=turn.wait_for_hangup,
            silent=turn.silent,
        ))
    return lines


class LocalStack:
    """Starts what is missing, remembers what it started, stops only that."""

    def __init__(
        self,
        *,
        scenario: Scenario | None,
        playbook: Path | None = None,
        agent_name: str | None = None,
        use_simulator: bool = True,
        redis_url: str | None = None,
        database_url: str | None = None,
        livekit: LiveKitServer | None = None,
        log_dir: Path | None = None,
        idle_processes: int = 1,
        separate_livekit_redis: bool = False,
        worker_env: dict[str, str] | None = None,
        concurrent_calls: bool = False,
    ) -> None:
        # several calls at once through one simulator (each connection its own script)
        self.concurrent_calls = concurrent_calls
        self.extra_worker_env = dict(worker_env or {})
        # call state and livekit-server share one Redis unless a test needs to stop the
        # call-state Redis alone
        self.separate_livekit_redis = separate_livekit_redis
        self.redis: RedisServer | None = None
        self.postgres: PostgresServer | None = None
        self.scenario = scenario
        self.playbook = playbook
        self.agent_name = agent_name or f"intake-agent-{uuid.uuid4().hex[:6]}"
        self.use_simulator = use_simulator
        self.redis_url = redis_url
        self.database_url = database_url
        self.livekit = livekit
        if log_dir is None:
            # one folder per stack: concurrent stacks (test sessions, a demo) never share logs
            base = Path(os.environ.get("INTAKE_LOG_DIR", "/tmp/intake-logs"))
            base.mkdir(parents=True, exist_ok=True)
            log_dir = Path(tempfile.mkdtemp(prefix="stack-", dir=base))
        self.log_dir = log_dir
        self.idle_processes = idle_processes
        self.simulator: RealtimeSimulator | None = None
        self.workers: list[ManagedProcess] = []
        self._owned: list[Any] = []

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.redis_url is None:
            redis = RedisServer()
            await asyncio.to_thread(redis.start)
            self._owned.append(redis)
            self.redis = redis
            self.redis_url = redis.url
        if self.database_url is None:
            postgres = PostgresServer()
            await asyncio.to_thread(postgres.start)
            self._owned.append(postgres)
            self.postgres = postgres
            self.database_url = postgres.dsn
        if self.livekit is None:
            livekit_redis_url = self.redis_url
            if self.separate_livekit_redis:
                livekit_redis = RedisServer()
                await asyncio.to_thread(livekit_redis.start)
                self._owned.append(livekit_redis)
                livekit_redis_url = livekit_redis.url
            redis_address = livekit_redis_url.split("//", 1)[1].split("/", 1)[0]
            livekit = LiveKitServer.on_free_ports(redis_address=redis_address)
            livekit.log_path = self.log_dir / "livekit-server.log"
            await asyncio.to_thread(livekit.start)
            self._owned.append(livekit)
            self.livekit = livekit
        if self.use_simulator:
            if self.scenario is None:
                raise ValueError("the Realtime simulator needs a scenario")
            simulator_class = (ConcurrentRealtimeSimulator if self.concurrent_calls
                               else RealtimeSimulator)
            self.simulator = simulator_class(self.scenario, api_key=SIM_API_KEY)
            await self.simulator.start()
        await self.start_worker()

    def job_pid(self, call_id: str, timeout: float = 10.0) -> int:
        """The pid of the job process running `call_id`, from the workers' structured logs."""
        deadline = time.monotonic() + timeout
        while True:
            for worker in self.workers:
                for line in _read(worker.log_path).splitlines():
                    if call_id not in line or not line.startswith("{"):
                        continue
                    with contextlib.suppress(ValueError):
                        entry = json.loads(line)
                        # the main process's record writer logs every call too: not a job
                        if (entry.get("call_id") == call_id and isinstance(entry.get("pid"), int)
                                and entry["pid"] != worker.pid):
                            return int(entry["pid"])
            if time.monotonic() > deadline:
                raise LookupError(f"no job process logged for call {call_id}")
            time.sleep(0.1)

    def worker_http_url(self, index: int = 0) -> str:
        """Where worker `index` serves health, readiness and metrics (it picked a free port)."""
        for line in _read(self.workers[index].log_path).splitlines():
            match = HTTP_LISTENING.search(line)
            if match:
                return f"http://127.0.0.1:{match.group(1)}"
        raise LookupError(f"worker {index} has not logged its HTTP port")

    def worker_env(self) -> dict[str, str]:
        assert self.livekit is not None
        env = dict(os.environ)
        env.update({
            "LIVEKIT_URL": self.livekit.url,
            "LIVEKIT_API_KEY": self.livekit.api_key,
            "LIVEKIT_API_SECRET": self.livekit.api_secret,
            "INTAKE_AGENT_NAME": self.agent_name,
            "INTAKE_ENV": "development",
            "INTAKE_IDLE_PROCESSES": str(self.idle_processes),
            "INTAKE_WORKER_HTTP_PORT": "0",
            "INTAKE_WORKER_HTTP_HOST": "127.0.0.1",
            # one loaded 2-core machine runs the servers, the caller and the worker: the
            # worker must not refuse jobs because the test harness itself uses the CPU
            "INTAKE_LOAD_THRESHOLD": "inf",
            "INTAKE_REDIS_URL": self.redis_url or "",
            "INTAKE_DATABASE_URL": self.database_url or "",
        })
        if self.playbook is not None:
            env["INTAKE_PLAYBOOK"] = str(self.playbook)
        if self.simulator is not None:
            env["OPENAI_API_KEY"] = SIM_API_KEY
            env["OPENAI_BASE_URL"] = self.simulator.base_url
            # the simulator also serves /v1/audio/transcriptions: a supervisor is transcribed
            env.setdefault("INTAKE_SUPERVISOR_TRANSCRIPTION_MODEL", DEFAULT_TRANSCRIPTION_MODEL)
        env.update(self.extra_worker_env)
        return env

    async def start_worker(self, timeout: float = 60.0) -> ManagedProcess:
        index = len(self.workers)
        worker = ManagedProcess(
            f"worker-{index}",
            [sys.executable, "-m", "agent", "start", "--log-level",
             os.environ.get("INTAKE_WORKER_LOG_LEVEL", "INFO")],
            log_path=self.log_dir / f"worker-{index}.log",
            env=self.worker_env(),
            cwd=project_root(),
        )
        worker.log_path.unlink(missing_ok=True)
        worker.start()
        self.workers.append(worker)
        deadline = time.monotonic() + timeout
        while WORKER_READY_MARKER not in _read(worker.log_path):
            if not worker.running():
                raise RuntimeError(f"worker exited before registering:\n{worker.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker did not register within {timeout:.0f}s:\n"
                                   f"{worker.tail()}")
            await asyncio.sleep(0.1)
        return worker

    async def stop(self) -> None:
        for worker in self.workers:
            await asyncio.to_thread(worker.stop, 20.0)
        if self.simulator is not None:
            await self.simulator.stop()
        for owned in reversed(self._owned):
            await asyncio.to_thread(owned.stop)

    async def __aenter__(self) -> LocalStack:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- calls ------------------------------------------------------------------------------------
    def api(self) -> api.LiveKitAPI:
        assert self.livekit is not None
        return api.LiveKitAPI(self.livekit.http_url, self.livekit.api_key,
                              self.livekit.api_secret)

    def caller_token(self, room: str, identity: str, caller_number: str | None) -> str:
        assert self.livekit is not None
        token = (api.AccessToken(self.livekit.api_key, self.livekit.api_secret)
                 .with_identity(identity)
                 .with_name("Simulated caller")
                 .with_ttl(timedelta(minutes=15))
                 .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True,
                                              can_subscribe=True, can_publish_data=False)))
        if caller_number:
            token = token.with_attributes({"sip.phoneNumber": caller_number})
        return token.to_jwt()

    async def dispatch(self, room: str, metadata: dict[str, Any]) -> None:
        async with self.api() as lkapi:
            await lkapi.room.create_room(api.CreateRoomRequest(name=room, empty_timeout=30))
            await lkapi.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(
                agent_name=self.agent_name, room=room, metadata=json.dumps(metadata)))

    def idle_sequence_s(self) -> float:
        """How long a silent caller waits for the agent to hang up: the playbook's idle time
        before the prompt, then again before the goodbye, with room for both lines."""
        playbook = load_playbook(self.playbook or DEFAULT_PLAYBOOK)
        return 2 * playbook.call_limits.idle_hangup_seconds + 20.0

    async def place_call(
        self,
        scenario: Scenario | None = None,
        *,
        on_transcript: Callable[[str, str], None] | None = None,
        call_id: str | None = None,
        after_greeting: Callable[[], Awaitable[object]] | None = None,
        before_line: Callable[[int, SimulatedCaller], Awaitable[object]] | None = None,
    ) -> CallResult:
        scenario = scenario or self.scenario
        if scenario is None:
            raise ValueError("place_call needs a scenario")
        assert self.livekit is not None
        call_id = call_id or uuid.uuid4().hex[:12]
        room = f"call-{call_id}"
        timings_before = len(self.simulator.turn_timings) if self.simulator else 0
        wire_before = len(self.simulator.wire_log) if self.simulator else 0
        if self.simulator is not None:
            self.simulator.begin_call(scenario if scenario is not self.simulator.scenario
                                      else None)
        await self.dispatch(room, {"call_id": call_id, "source": "simulated-caller"})
        caller_number = scenario.caller.number if scenario.caller else None
        identity = scenario.caller.identity if scenario.caller else "caller"
        caller = SimulatedCaller(self.livekit.url, self.caller_token(room, identity,
                                                                     caller_number),
                                 caller_lines(scenario), on_transcript=on_transcript,
                                 after_greeting=after_greeting, before_line=before_line,
                                 silence_timeout=self.idle_sequence_s())
        try:
            report = await caller.run()
        except Exception as exc:
            if self.simulator is not None:
                path = self.log_dir / f"wire-{call_id}.jsonl"
                with path.open("w") as fh:
                    for entry in self.simulator.wire_log[wire_before:]:
                        fh.write(json.dumps({"dir": entry.direction, "at": entry.at,
                                             "event": entry.event}, default=str) + "\n")
                exc.add_note(f"Realtime wire log of this call: {path}")
            raise
        timings = (list(self.simulator.turn_timings[timings_before:])
                   if self.simulator else [])
        return CallResult(call_id=call_id, room=room, report=report, sim_turn_timings=timings)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
