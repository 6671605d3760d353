"""One call's metrics, taken where the call already reports what happens.

`MeteredCallRecorder` wraps the call's `CallRecorder`: every part of a call (tools, the guard,
handoff, ending) records its escalations, transfers, bookings and status there, so counting at
that one door needs no hook in each part. `CallMetricsObserver` listens to the session's own
events for per-turn latencies and model errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from livekit.agents import AgentSession, llm
from livekit.agents.voice import events as voice_events

from agent import metrics as m
from state.protocols import ESCALATION, STATUS, TOOL_CALL, CallEvent, CallInfo, CallRecorder

logger = logging.getLogger("intake.metrics")

BACKLOG_SAMPLE_INTERVAL_S = 1.0
BOOKING_TOOLS = {"book_appointment": "appointment", "request_callback": "callback"}
# a status event that says why the call is ending
ENDING_STATUSES = {"ending", "hung_up", "apology"}
LIMIT_STATUSES = {"idle_hangup", "time_limit"}


class MeteredCallRecorder:
    """A `CallRecorder` that counts what passes through it, then hands it on unchanged."""

    def __init__(self, inner: CallRecorder) -> None:
        self._inner = inner
        self._end_reason: str | None = None
        self._counted_end = False
        self._backlog_reported = 0
        self._sampler: asyncio.Task[None] | None = None

    @property
    def inner(self) -> CallRecorder:
        return self._inner

    @property
    def on_superseded(self) -> Callable[[], None] | None:
        return self._inner.on_superseded

    @on_superseded.setter
    def on_superseded(self, callback: Callable[[], None] | None) -> None:
        # the inner recorder sees the lease; the callback must reach it
        self._inner.on_superseded = callback

    async def open(self, call: CallInfo) -> None:
        await self._inner.open(call)
        resumed = bool(getattr(self._inner, "resumed", False))
        m.CALLS_STARTED.labels(resumed=str(resumed).lower()).inc()
        if hasattr(self._inner, "backlog"):
            self._sampler = asyncio.create_task(self._sample_backlog(),
                                                name="intake-metrics-backlog")

    async def record(self, kind: str, payload: Mapping[str, Any]) -> int:
        seq = await self._inner.record(kind, payload)
        try:
            self._count(kind, payload)
        except Exception:
            logger.exception("call metric not counted", extra={"kind": kind})
        return seq

    async def save_slot(self, name: str, slot: Mapping[str, Any]) -> None:
        await self._inner.save_slot(name, slot)

    async def load_slots(self) -> dict[str, dict[str, Any]]:
        return await self._inner.load_slots()

    async def recent_events(self, limit: int) -> Sequence[tuple[int, CallEvent]]:
        return await self._inner.recent_events(limit)

    async def set_status(self, status: str, **fields: str) -> None:
        await self._inner.set_status(status, **fields)

    async def heartbeat(self) -> None:
        await self._inner.heartbeat()

    async def finish(self, outcome: Mapping[str, Any]) -> None:
        try:
            await self._inner.finish(outcome)
        finally:
            if not self._counted_end:
                self._counted_end = True
                reason = self._end_reason or "caller_hung_up"
                m.CALLS_ENDED.labels(reason=m.bounded(reason, m.END_REASONS)).inc()

    async def aclose(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        self._report_backlog(0)
        await self._inner.aclose()

    # --- counting ------------------------------------------------------------------------------

    def _count(self, kind: str, payload: Mapping[str, Any]) -> None:
        if kind == ESCALATION:
            self._count_escalation(payload)
        elif kind == TOOL_CALL:
            tool = m.bounded(payload.get("name"), m.TOOL_NAMES)
            outcome = m.bounded(payload.get("outcome"), frozenset({"ok", "refused", "failed"}))
            m.TOOL_CALLS.labels(tool=tool, outcome=outcome).inc()
            booking = BOOKING_TOOLS.get(tool)
            if booking is not None:
                m.BOOKINGS.labels(kind=booking, result=outcome).inc()
        elif kind == STATUS:
            status = str(payload.get("status") or "")
            if status in ENDING_STATUSES and payload.get("reason"):
                self._end_reason = str(payload["reason"])
            elif status in LIMIT_STATUSES:
                self._end_reason = status
            elif status == "callback_booked":
                m.BOOKINGS.labels(kind="callback", result="ok").inc()

    @staticmethod
    def _count_escalation(payload: Mapping[str, Any]) -> None:
        stage = payload.get("stage")
        if stage is None and payload.get("source"):
            # the escalation itself (guard, model tool or keypad), before any handoff
            m.ESCALATIONS.labels(reason=m.bounded(payload.get("category"),
                                                  m.ESCALATION_REASONS)).inc()
        elif stage in {"warm_transfer", "transfer"}:
            mode = "warm" if stage == "warm_transfer" else "cold"
            if payload.get("transferred"):
                result = "connected"
            else:
                result = m.bounded(payload.get("reason") or "refused", m.TRANSFER_RESULTS)
            m.TRANSFERS.labels(mode=mode, result=result).inc()

    # --- backlog -------------------------------------------------------------------------------

    async def _sample_backlog(self) -> None:
        while True:
            self._report_backlog(int(getattr(self._inner, "backlog", 0)))
            await asyncio.sleep(BACKLOG_SAMPLE_INTERVAL_S)

    def _report_backlog(self, value: int) -> None:
        # a delta, so calls sharing a process (thread executor) add up
        m.RECORDER_BACKLOG.inc(value - self._backlog_reported)
        self._backlog_reported = value


class CallMetricsObserver:
    """Per-turn latencies and model errors from the session's events (wall clock, as the
    events carry it)."""

    def __init__(self) -> None:
        self._speech_ended_at: float | None = None
        self._barge_in_at: float | None = None

    def attach(self, session: AgentSession[Any]) -> None:
        session.on("user_state_changed", self.on_user_state)
        session.on("agent_state_changed", self.on_agent_state)
        session.on("function_tools_executed", self.on_tools_executed)
        session.on("error", self.on_error)
        self._session = session

    def on_user_state(self, ev: voice_events.UserStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            self._speech_ended_at = None
            if self._session.agent_state == "speaking":
                self._barge_in_at = ev.created_at
        elif ev.old_state == "speaking" and self._session.agent_state != "speaking":
            self._speech_ended_at = ev.created_at

    def on_agent_state(self, ev: voice_events.AgentStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            if self._speech_ended_at is not None:
                m.RESPONSE_LATENCY.observe(max(0.0, ev.created_at - self._speech_ended_at))
                self._speech_ended_at = None
        elif ev.old_state == "speaking" and self._barge_in_at is not None:
            m.BARGE_IN_STOP.observe(max(0.0, ev.created_at - self._barge_in_at))
            self._barge_in_at = None

    @staticmethod
    def on_tools_executed(ev: voice_events.FunctionToolsExecutedEvent) -> None:
        for call, output in zip(ev.function_calls, ev.function_call_outputs, strict=False):
            tool = m.bounded(call.name, m.TOOL_NAMES)
            m.TOOL_DURATION.labels(tool=tool).observe(max(0.0, output.created_at
                                                          - call.created_at))

    @staticmethod
    def on_error(ev: voice_events.ErrorEvent) -> None:
        if isinstance(ev.error, llm.RealtimeModelError):
            m.MODEL_ERRORS.labels(recoverable=str(ev.error.recoverable).lower()).inc()


def count_barge_in_decision(decision: str) -> None:
    m.BARGE_IN_DECISIONS.labels(decision=decision).inc()


def count_reconnect(_event: object) -> None:
    m.MODEL_RECONNECTS.inc()
