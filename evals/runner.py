"""Replays a bank of cases on the real local stack, in parallel lanes, and scores each call.

One lane is one Realtime simulator and one worker (a simulator plays the model for one call
at a time); the lanes share one livekit-server, Redis and Postgres. With OPENAI_API_KEY set
the workers talk to the real Realtime API and the scripted model steps are not used.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from livekit import api

from devstack.local_call import LocalStack, caller_lines
from devstack.services import remove_temporary
from evals.caller_audio import EvalCaller, prepare_line_audio
from evals.case import EvalCase
from evals.scoring import CallMetrics, end_reason, ending_notes, score
from realtime_simulator import parse_scenario
from simulated_caller import CallerReport

logger = logging.getLogger("intake.evals")

# waits inside one call: a silent caller hears the idle prompt and the hang-up (~40 s)
REPLY_TIMEOUT_S = 60.0
CASE_TIMEOUT_S = 240.0
RECORD_TIMEOUT_S = 30.0
_PLACEHOLDER = "name: placeholder\nturns:\n  - hangup: true\n"


@dataclass
class CaseResult:
    name: str
    path: str
    passed: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    call_id: str | None = None
    metrics: CallMetrics = field(default_factory=CallMetrics)
    transcript: list[dict[str, str]] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    end_reason: str | None = None
    seconds: float = 0.0
    lane: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "passed": self.passed,
                "reasons": self.reasons, "notes": self.notes, "call_id": self.call_id,
                "latency": self.metrics.as_json(), "transcript": self.transcript,
                "outcome": self.outcome, "end_reason": self.end_reason,
                "seconds": round(self.seconds, 1)}


def metrics_from(report: CallerReport) -> CallMetrics:
    metrics = CallMetrics(greeting_ms=report.greeting_ms)
    for turn in report.turns:
        if turn.barged_in:
            if turn.agent_stopped_at is None:
                metrics.barge_ins_not_stopped += 1
            else:
                metrics.barge_in_ms.append((turn.agent_stopped_at - turn.speech_started_at)
                                           * 1000)
        else:
            if turn.agent_reply_started_at is not None:
                metrics.response_ms.append((turn.agent_reply_started_at - turn.speech_ended_at)
                                           * 1000)
            # the agent's own audio starting inside the caller's line: cut off or talked over
            if any(turn.speech_started_at + 0.05 < seg.started_at < turn.speech_ended_at
                   for seg in report.segments):
                metrics.talked_over += 1
    return metrics


class EvalStack:
    """The shared servers and `lanes` (simulator + worker) for replaying cases."""

    def __init__(self, *, lanes: int, playbook: Path | None, use_simulator: bool,
                 log_dir: Path | None = None,
                 worker_env: dict[str, str] | None = None) -> None:
        if lanes < 1:
            raise ValueError("at least one lane")
        self.lane_count = lanes
        self.playbook = playbook
        self.use_simulator = use_simulator
        self.log_dir = log_dir
        self.worker_env = dict(worker_env or {})
        self.lanes: list[LocalStack] = []
        self._own_recording_dir: Path | None = None

    async def start(self) -> None:
        if (self.worker_env.get("INTAKE_RECORDING_STORE")
                or os.environ.get("INTAKE_RECORDING_STORE") or "folder") == "folder" \
                and "INTAKE_RECORDING_DIR" not in self.worker_env:
            # replayed calls are test calls: their audio stays with this run, not the
            # operator's recording folder
            self._own_recording_dir = Path(tempfile.mkdtemp(prefix="eval-recordings-"))
            self.worker_env["INTAKE_RECORDING_DIR"] = str(self._own_recording_dir)
        placeholder = parse_scenario(_PLACEHOLDER)
        base = LocalStack(scenario=placeholder, playbook=self.playbook,
                          use_simulator=self.use_simulator, log_dir=self.log_dir,
                          worker_env=self.worker_env)
        self.lanes.append(base)
        await base.start()
        # the other lanes in parallel: each starts a worker, which takes seconds
        others = [LocalStack(scenario=placeholder, playbook=self.playbook,
                             use_simulator=self.use_simulator, redis_url=base.redis_url,
                             database_url=base.database_url, livekit=base.livekit,
                             log_dir=base.log_dir / f"lane-{i}", worker_env=self.worker_env)
                  for i in range(1, self.lane_count)]
        self.lanes.extend(others)
        await asyncio.gather(*(lane.start() for lane in others))

    async def stop(self) -> None:
        # lanes borrow the first lane's servers: stop them first
        for lane in reversed(self.lanes):
            await lane.stop()
        self.lanes.clear()
        if self._own_recording_dir is not None:
            # the calls' audio is not kept past the run (nothing reads it after scoring)
            remove_temporary(self._own_recording_dir)
            self._own_recording_dir = None

    async def __aenter__(self) -> EvalStack:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def database_url(self) -> str:
        url = self.lanes[0].database_url
        assert url is not None
        return url


def caller_token(stack: LocalStack, room: str, identity: str, number: str | None) -> str:
    """Like a phone caller's: join one room, publish audio and DTMF (a data packet)."""
    assert stack.livekit is not None
    token = (api.AccessToken(stack.livekit.api_key, stack.livekit.api_secret)
             .with_identity(identity).with_name("Eval caller")
             .with_ttl(timedelta(minutes=15))
             .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True,
                                          can_subscribe=True, can_publish_data=True)))
    if number:
        token = token.with_attributes({"sip.phoneNumber": number})
    return token.to_jwt()


async def run_case(stack: LocalStack, case: EvalCase, lane: int = 0) -> CaseResult:
    """Place one call for the case and score its stored record."""
    from state.postgres_record import PostgresRecordStore, create_pool
    from state.review import show_call

    started = time.monotonic()
    result = CaseResult(name=case.name, path=str(case.path), passed=False, lane=lane)
    call_id = f"eval{uuid.uuid4().hex[:12]}"
    result.call_id = call_id
    room = f"call-{call_id}"
    scenario = case.scenario
    try:
        audio = await asyncio.to_thread(prepare_line_audio, case)
    except Exception as exc:
        result.reasons.append(f"caller audio: {exc}")
        return result
    if stack.simulator is not None:
        stack.simulator.begin_call(scenario)
    assert stack.livekit is not None
    await stack.dispatch(room, {"call_id": call_id, "source": "eval", "case": case.name})
    identity = scenario.caller.identity if scenario.caller else "caller"
    number = scenario.caller.number if scenario.caller else None
    caller = EvalCaller(stack.livekit.url, caller_token(stack, room, identity, number), case,
                        caller_lines(scenario), audio, reply_timeout=REPLY_TIMEOUT_S)
    report = caller.report
    try:
        report = await asyncio.wait_for(caller.run(greeting_timeout=20.0), CASE_TIMEOUT_S)
    except TimeoutError:
        result.notes.append(f"caller: the call did not end within {CASE_TIMEOUT_S:.0f} s")
        await caller.aclose()
    except Exception as exc:
        # the record is still scored: an agent that hung up early leaves lines unsaid
        result.notes.append(f"caller: {type(exc).__name__}: {exc}")
    result.notes += [f"caller: {e}" for e in report.errors]
    if caller.dtmf_sent:
        result.notes.append(f"caller pressed {''.join(caller.dtmf_sent)}")
    if stack.simulator is not None and stack.simulator.expectation_failures:
        failed = stack.simulator.expectation_failures
        result.notes.append(f"simulator: {len(failed)} tool outputs missed the script's "
                            "expect_output_contains")
    result.metrics = metrics_from(report)
    pool = await create_pool(stack.database_url or "", max_size=2)
    record: dict[str, Any] | None = None
    try:
        store = PostgresRecordStore(pool)
        deadline = time.monotonic() + RECORD_TIMEOUT_S
        while time.monotonic() < deadline:
            record = await show_call(store, call_id)
            if record is not None and record.get("outcome"):
                break
            await asyncio.sleep(0.25)
    finally:
        await pool.close()
    result.reasons = score(case.expect, record, result.metrics)
    result.passed = not result.reasons
    if record is not None:
        result.transcript = [{"role": t["role"], "text": t["text"]} for t in record["turns"]]
        result.outcome = record.get("outcome")
        result.end_reason = end_reason(record)
        result.notes += ending_notes(record)
    result.seconds = time.monotonic() - started
    return result


async def run_bank(stack: EvalStack, cases: Sequence[EvalCase],
                   on_result: Callable[[CaseResult], None] | None = None,
                   on_start: Callable[[EvalCase, int], None] | None = None) -> list[CaseResult]:
    """Every case, each on the next free lane; results in the bank's order."""
    queue: asyncio.Queue[tuple[int, EvalCase]] = asyncio.Queue()
    for item in enumerate(cases):
        queue.put_nowait(item)
    results: dict[int, CaseResult] = {}

    async def lane_worker(lane_index: int, lane: LocalStack) -> None:
        while True:
            try:
                index, case = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if on_start is not None:
                on_start(case, lane_index)
            try:
                result = await run_case(lane, case, lane_index)
            except Exception as exc:
                logger.exception("eval case crashed", extra={"case": case.name})
                result = CaseResult(name=case.name, path=str(case.path), passed=False,
                                    reasons=[f"runner: {type(exc).__name__}: {exc}"],
                                    lane=lane_index)
            results[index] = result
            if on_result is not None:
                on_result(result)

    await asyncio.gather(*(lane_worker(i, lane) for i, lane in enumerate(stack.lanes)))
    return [results[i] for i in range(len(cases))]


def real_model_wanted() -> bool:
    return bool(os.environ.get("OPENAI_API_KEY"))
