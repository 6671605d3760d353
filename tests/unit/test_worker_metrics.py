"""What a call's recorder and session events count, the readiness rule, and the metrics
folder chosen before prometheus_client loads."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import pytest
from livekit.agents import llm
from livekit.agents.voice import events as voice_events
from prometheus_client import REGISTRY

from agent import metrics as m
from agent.call_metrics import CallMetricsObserver, MeteredCallRecorder
from agent.health import ReadinessLimits, StorageProbe, readiness
from agent.metrics_dir import MULTIPROC_ENV, prepare_metrics_dir, remove_metrics_dir
from state.protocols import ESCALATION, STATUS, TOOL_CALL, CallInfo
from state.recorder import InMemoryCallRecorder

pytestmark = pytest.mark.unit


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counted:
    """Before/after of one sample."""

    def __init__(self, name: str, **labels: str) -> None:
        self.name, self.labels = name, labels
        self.start = value(name, **labels)

    @property
    def moved(self) -> float:
        return value(self.name, **self.labels) - self.start


async def _call(events: list[tuple[str, Mapping[str, Any]]]) -> None:
    recorder = MeteredCallRecorder(InMemoryCallRecorder())
    await recorder.open(CallInfo(call_id="c1", room="call-c1", worker_id="w"))
    for kind, payload in events:
        await recorder.record(kind, payload)
    await recorder.finish({})
    await recorder.aclose()


async def test_a_call_counts_start_end_tools_bookings_escalations_transfers() -> None:
    started = Counted("intake_calls_started_total", resumed="false")
    ended = Counted("intake_calls_ended_total", reason="intake_complete")
    tool = Counted("intake_tool_calls_total", tool="book_appointment", outcome="ok")
    booking = Counted("intake_bookings_total", kind="appointment", result="ok")
    callback = Counted("intake_bookings_total", kind="callback", result="ok")
    escalation = Counted("intake_escalations_total", reason="pricing")
    warm = Counted("intake_transfers_total", mode="warm", result="no_answer")
    cold = Counted("intake_transfers_total", mode="cold", result="connected")
    await _call([
        (TOOL_CALL, {"name": "book_appointment", "args": {}, "outcome": "ok", "turn": 1}),
        (ESCALATION, {"category": "pricing", "source": "guard", "action": "transfer"}),
        # the handoff and hold stages of the same escalation are not escalations again
        (ESCALATION, {"category": "pricing", "stage": "handoff", "source": "guard"}),
        (ESCALATION, {"category": "pricing", "stage": "warm_transfer", "transferred": False,
                      "reason": "no_answer"}),
        (STATUS, {"status": "callback_booked", "reason": "transfer"}),
        (ESCALATION, {"category": "pricing", "stage": "transfer", "transferred": True}),
        (STATUS, {"status": "ending", "reason": "intake_complete"}),
    ])
    assert started.moved == 1 and ended.moved == 1
    assert tool.moved == 1 and booking.moved == 1 and callback.moved == 1
    assert escalation.moved == 1
    assert warm.moved == 1 and cold.moved == 1


async def test_free_text_never_becomes_a_label() -> None:
    other_reason = Counted("intake_calls_ended_total", reason="other")
    other_tool = Counted("intake_tool_calls_total", tool="other", outcome="other")
    await _call([
        (TOOL_CALL, {"name": "call +15125550142", "outcome": "maybe"}),
        (STATUS, {"status": "hung_up", "reason": "Jane Doe said so"}),
    ])
    assert other_reason.moved == 1 and other_tool.moved == 1
    labels = {v for metric in REGISTRY.collect() for s in metric.samples
              for v in s.labels.values()}
    assert not any("5550142" in v or "Jane" in v for v in labels)


async def test_a_caller_who_hangs_up_ends_the_call_as_caller_hung_up() -> None:
    ended = Counted("intake_calls_ended_total", reason="caller_hung_up")
    await _call([(STATUS, {"status": "in_progress"})])
    assert ended.moved == 1


class _Session:
    def __init__(self) -> None:
        self.agent_state = "listening"
        self.handlers: dict[str, Any] = {}

    def on(self, event: str, handler: Any) -> None:
        self.handlers[event] = handler


def test_turn_latency_and_barge_in_from_session_events() -> None:
    session = _Session()
    observer = CallMetricsObserver()
    observer.attach(session)  # type: ignore[arg-type]
    response = Counted("intake_response_latency_seconds_count")
    response_sum = Counted("intake_response_latency_seconds_sum")
    barge = Counted("intake_barge_in_stop_seconds_count")
    t0 = time.time()
    user = voice_events.UserStateChangedEvent
    agent = voice_events.AgentStateChangedEvent
    observer.on_user_state(user(old_state="listening", new_state="speaking", created_at=t0))
    observer.on_user_state(user(old_state="speaking", new_state="listening",
                                created_at=t0 + 1.0))
    observer.on_agent_state(agent(old_state="thinking", new_state="speaking",
                                  created_at=t0 + 1.4))
    session.agent_state = "speaking"
    observer.on_user_state(user(old_state="listening", new_state="speaking",
                                created_at=t0 + 3.0))
    observer.on_agent_state(agent(old_state="speaking", new_state="listening",
                                  created_at=t0 + 3.2))
    assert response.moved == 1 and response_sum.moved == pytest.approx(0.4)
    assert barge.moved == 1


def test_model_errors_and_tool_durations() -> None:
    errors = Counted("intake_model_errors_total", recoverable="false")
    tool = Counted("intake_tool_duration_seconds_count", tool="record_field")
    error = llm.RealtimeModelError(timestamp=0.0, label="openai", error=RuntimeError("x"),
                                   recoverable=False)
    CallMetricsObserver.on_error(voice_events.ErrorEvent(error=error, source=object()))
    call = llm.FunctionCall(call_id="1", name="record_field", arguments="{}", created_at=10.0)
    output = llm.FunctionCallOutput(call_id="1", name="record_field", output="ok",
                                    is_error=False, created_at=10.02)
    CallMetricsObserver.on_tools_executed(voice_events.FunctionToolsExecutedEvent(
        function_calls=[call], function_call_outputs=[output]))
    assert errors.moved == 1 and tool.moved == 1


def _probe(redis_up: bool, pg_up: bool, writer_backlog: int = 0) -> StorageProbe:
    probe = StorageProbe("redis://x", "postgresql://x")
    probe.redis.up, probe.redis.checked = redis_up, True
    probe.postgres.up, probe.postgres.checked = pg_up, True
    probe.writer_backlog = writer_backlog
    return probe


@pytest.mark.parametrize(("registered", "draining", "redis", "pg", "recorder", "writer",
                          "ready"), [
    (True, False, True, True, 0, 0, True),
    (False, False, True, True, 0, 0, False),     # not registered with LiveKit
    (True, True, True, True, 0, 0, False),       # draining takes no new calls
    (True, False, False, True, 50, 0, True),     # Redis down, recorders buffer a little
    (True, False, False, True, 20_000, 0, False),  # ... too much
    (True, False, True, False, 0, 10, True),     # Postgres down, events wait in Redis
    (True, False, True, False, 0, 500, False),   # ... too many calls waiting
    (True, False, False, False, 0, 0, False),    # both down
])
def test_readiness_rule(registered: bool, draining: bool, redis: bool, pg: bool,
                        recorder: int, writer: int, ready: bool) -> None:
    got, checks = readiness(registered=registered, draining=draining,
                            probe=_probe(redis, pg, writer), limits=ReadinessLimits(),
                            recorder_backlog_ops=recorder)
    assert got is ready
    assert checks["redis"] == ("up" if redis else "down")
    assert checks["draining"] is draining


def test_readiness_without_stores_configured_is_livekit_alone() -> None:
    probe = StorageProbe(None, None)
    ready, checks = readiness(registered=True, draining=False, probe=probe,
                              limits=ReadinessLimits(), recorder_backlog_ops=0)
    assert ready and checks["redis"] == "not_configured"


def test_metrics_dir_is_private_per_worker_unless_the_operator_sets_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    # recorded first, so the variable prepare_metrics_dir sets is undone after the test
    monkeypatch.setenv(MULTIPROC_ENV, "")
    monkeypatch.delenv(MULTIPROC_ENV)
    created = prepare_metrics_dir()
    assert created is not None and os.environ[MULTIPROC_ENV] == created
    assert os.path.isdir(created)
    remove_metrics_dir(created)
    assert not os.path.exists(created)
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "mine"))
    assert prepare_metrics_dir() is None and (tmp_path / "mine").is_dir()


def test_label_values_are_bounded() -> None:
    assert m.bounded("pricing", m.ESCALATION_REASONS) == "pricing"
    assert m.bounded("anything else", m.ESCALATION_REASONS) == "other"
    assert m.bounded(None, m.END_REASONS) == "other"


class _Worker:
    def __init__(self, *, draining: bool) -> None:
        self.intake_registered = True
        self.draining = draining
        self.active_jobs = [object(), object()]


async def test_health_routes_answer_over_http() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from agent.health import HealthRoutes

    for draining, status in ((False, 200), (True, 503)):
        app = web.Application()
        probe = _probe(redis_up=True, pg_up=True)
        probe.outage_seconds["postgres"] = 4.0
        HealthRoutes(_Worker(draining=draining), probe).install(app)
        async with TestClient(TestServer(app)) as client:
            ready = await client.get("/readyz")
            assert ready.status == status
            assert (await ready.json())["checks"]["draining"] is draining
            live = await client.get("/healthz")
            assert live.status == 200
            text = await (await client.get("/metrics")).text()
            assert "intake_calls_active 2.0" in text
            assert f"intake_worker_ready {0.0 if draining else 1.0}" in text
            assert 'intake_storage_outage_seconds_total{store="postgres"} 4.0' in text
            assert 'intake_storage_up{store="redis"} 1.0' in text


def test_barge_in_decisions_are_counted_by_decision() -> None:
    from agent.call_metrics import count_barge_in_decision

    counted = {d: Counted("intake_barge_in_decisions_total", decision=d)
               for d in ("interrupted", "resumed", "unconfirmed")}
    for decision in ("unconfirmed", "resumed", "unconfirmed"):
        count_barge_in_decision(decision)
    assert {d: c.moved for d, c in counted.items()} == {
        "interrupted": 0, "resumed": 1, "unconfirmed": 2}
