"""Several workers on one livekit-server: SIGTERM drains a worker without dropping its calls
(new calls go to the other worker), and LiveKit's load-based dispatch spreads calls over both.

Each test runs its own stack (livekit-server, Redis, the simulator, two worker processes):
it stops workers, which a shared stack could not survive.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from devstack.local_call import CallResult, LocalStack
from devstack.processes import ManagedProcess
from devstack.services import PostgresServer
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller

from .test_call_spine import _record
from .test_call_survives_worker import SURVIVES

pytestmark = pytest.mark.integration

# long enough to SIGTERM the worker and place another call while this one is live
LONG_CALL = """
name: drained-call
caller: {number: "+15125550142"}
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    pause_before_ms: 1500
    agent:
      - tool: record_field
        arguments: {field: problem, value: "water heater leaking in the basement"}
      - say: "I'm sorry to hear that. What's the address of the property?"
  - caller: "It's forty two Elm Street in Round Rock."
    pause_before_ms: 1500
    agent:
      - say: "Thanks. By what date do you need this fixed?"
  - caller: "By Friday if you can."
    pause_before_ms: 1500
    agent:
      - say: "Friday works. Anything else I should know?"
  - hangup: true
    pause_before_ms: 500
"""


@pytest.fixture
async def two_worker_stack(postgres_server: PostgresServer) -> AsyncIterator[LocalStack]:
    placeholder = parse_scenario("name: placeholder\nturns:\n  - hangup: true\n")
    stack = LocalStack(scenario=placeholder, idle_processes=2, concurrent_calls=True,
                       database_url=postgres_server.create_database(
                           f"scale_{uuid.uuid4().hex[:12]}"),
                       # load = calls over capacity. livekit-server picks a worker at random
                       # weighted by spare capacity, so with room for 4 calls each, all four
                       # landed on one worker in 1 of 5 runs; with room for 2, a full worker
                       # declines the job and livekit-server offers it to the other one
                       worker_env={"INTAKE_DRAIN_TIMEOUT_SECONDS": "90",
                                   "INTAKE_LOAD_THRESHOLD": "1", "INTAKE_MAX_CALLS": "2"})
    try:
        await stack.start()
        await stack.start_worker()
        yield stack
    finally:
        await stack.stop()


def _worker_of(stack: LocalStack, call_id: str, timeout: float = 20.0) -> int:
    """Which worker's job process ran `call_id`: a line of its log about the call from a
    process other than the worker's main one (whose record writer logs every worker's calls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for index, worker in enumerate(stack.workers):
            for line in worker.log_path.read_text(errors="replace").splitlines():
                if call_id not in line or not line.startswith("{"):
                    continue
                entry = json.loads(line)
                if entry.get("call_id") == call_id and entry.get("pid") not in (None,
                                                                                 worker.pid):
                    return index
        time.sleep(0.2)
    raise LookupError(f"no job process logged call {call_id}")


def _answered_every_line(result: CallResult) -> bool:
    return all(t.agent_reply_started_at is not None for t in result.report.turns)


async def _readiness(base: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/readyz") as response:
        return response.status, await response.json()


async def _exit_code(worker: ManagedProcess, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while worker.running() and time.monotonic() < deadline:  # noqa: ASYNC110 (a child process)
        await asyncio.sleep(0.2)
    assert worker.process is not None
    return worker.process.poll()


async def test_sigterm_drains_live_calls_and_new_calls_go_elsewhere(
        two_worker_stack: LocalStack) -> None:
    stack = two_worker_stack
    scenario = parse_scenario(LONG_CALL)
    seen: dict[str, int] = {}
    readiness: list[tuple[int, dict[str, object]]] = []
    second_call: list[asyncio.Task[CallResult]] = []
    first_id, second_id = f"drain{uuid.uuid4().hex[:8]}", f"after{uuid.uuid4().hex[:8]}"

    async def sigterm_after_greeting() -> None:
        # both workers are idle, so LiveKit may pick either: drain the one that took the call
        drained = seen["drained"] = await asyncio.to_thread(_worker_of, stack, first_id)
        os.kill(stack.workers[drained].pid, signal.SIGTERM)  # the main process, as k8s does
        await asyncio.sleep(1.0)
        readiness.append(await _readiness(stack.worker_http_url(drained)))
        second_call.append(asyncio.create_task(stack.place_call(scenario, call_id=second_id)))

    first = await stack.place_call(scenario, call_id=first_id,
                                   after_greeting=sigterm_after_greeting)
    second = await second_call[0]
    drained = stack.workers[seen["drained"]]
    status, body = readiness[0]
    assert status == 503 and body["checks"]["draining"] is True  # type: ignore[index]
    # not dropped: every caller line answered by the same agent, the record complete
    for result in (first, second):
        assert _answered_every_line(result) and not result.report.errors
        assert len({seg.speaker for seg in result.report.segments}) == 1
        record = await _record(stack, result.call_id)
        assert record["outcome"]["fields"].get("problem")  # type: ignore[index]
        events: list[dict[str, Any]] = record["events"]  # type: ignore[assignment]
        statuses = [e["payload"].get("status") for e in events if e["kind"] == "status"]
        assert "resumed" not in statuses
    # the call placed during the drain went to the other worker
    assert _worker_of(stack, second_id) == 1 - seen["drained"]
    # the drained worker exits by itself once its call is over, well inside the grace period
    assert await _exit_code(drained, timeout=30.0) == 0


async def test_calls_spread_over_two_workers(two_worker_stack: LocalStack) -> None:
    stack = two_worker_stack
    scenario = parse_scenario(LONG_CALL)
    ids = [f"spread{i}{uuid.uuid4().hex[:6]}" for i in range(4)]

    async def one(call_id: str, delay: float) -> CallResult:
        await asyncio.sleep(delay)  # the workers report load every half second
        return await stack.place_call(scenario, call_id=call_id)

    results = await asyncio.gather(*(one(c, 1.5 * i) for i, c in enumerate(ids)))
    workers = [_worker_of(stack, c) for c in ids]
    # four calls at once on two workers with room for two each: both serve, neither over
    assert sorted(workers) == [0, 0, 1, 1], workers
    unanswered = {r.call_id: {"errors": r.report.errors,
                              "unanswered": [t.index for t in r.report.turns
                                             if t.agent_reply_started_at is None]}
                  for r in results if not _answered_every_line(r) or r.report.errors}
    assert not unanswered, unanswered




async def test_a_killed_worker_s_call_resumes_on_the_other(
        postgres_server: PostgresServer) -> None:
    placeholder = parse_scenario("name: placeholder\nturns:\n  - hangup: true\n")
    # one script position for the call, so the replacement agent carries on where it was
    stack = LocalStack(scenario=placeholder, idle_processes=1,
                       database_url=postgres_server.create_database(
                           f"killw_{uuid.uuid4().hex[:12]}"))
    call_id = f"killw{uuid.uuid4().hex[:8]}"
    killed: list[int] = []
    try:
        await stack.start()
        await stack.start_worker()

        async def kill_worker_before_second_line(index: int, caller: SimulatedCaller) -> None:
            if index != 1:
                return
            await asyncio.sleep(0.5)
            victim = await asyncio.to_thread(_worker_of, stack, call_id)
            killed_agent = caller.agent_identity
            # the whole worker: its main process, forkserver and job processes
            os.killpg(stack.workers[victim].pid, signal.SIGKILL)
            killed.append(victim)
            await caller.wait_for_agent_audio_after(time.monotonic(), timeout=30,
                                                    other_than=killed_agent)

        result = await stack.place_call(parse_scenario(SURVIVES), call_id=call_id,
                                        before_line=kill_worker_before_second_line)
        assert killed, "the call never reached its second line"
        survivor = stack.workers[1 - killed[0]]
        assert survivor.running()
        assert call_id in survivor.log_path.read_text(errors="replace")
        assert result.report.turns[1].agent_reply_started_at is not None
        record = await _record(stack, call_id)
        events: list[dict[str, Any]] = record["events"]  # type: ignore[assignment]
        statuses = [e["payload"].get("status") for e in events if e["kind"] == "status"]
        assert statuses.count("resumed") == 1
        fields = record["outcome"]["fields"]  # type: ignore[index]
        assert fields.get("problem") and fields.get("location")
    finally:
        await stack.stop()
