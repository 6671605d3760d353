"""Scores one replayed call: the stored record and the caller's timings against `expect`.

Pure functions of their inputs, so every rule is unit-tested without a call. Each failed
expectation becomes one reason that starts with the expectation's name (`fields.phone: ...`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evals.case import AnyOf, Contains, Expectation, FieldExpectation

# the agent's stored hang-up reasons, in the words an eval case uses
_END_REASON_NAMES = {"time_limit": "max_duration"}


@dataclass
class CallMetrics:
    """Latencies in milliseconds, measured by the simulated caller."""

    greeting_ms: float | None = None
    response_ms: list[float] = field(default_factory=list)
    barge_in_ms: list[float] = field(default_factory=list)
    barge_ins_not_stopped: int = 0
    """Barge-ins after which the agent's audio was not heard to stop."""
    talked_over: int = 0
    """Caller lines (not barge-ins) during which the agent started speaking."""

    def as_json(self) -> dict[str, Any]:
        return {"greeting_ms": _round(self.greeting_ms),
                "response_ms": [_round(v) for v in self.response_ms],
                "barge_in_ms": [_round(v) for v in self.barge_in_ms],
                "barge_ins_not_stopped": self.barge_ins_not_stopped,
                "talked_over": self.talked_over}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def end_reason(record: Mapping[str, Any]) -> str:
    """Why the call ended, from its events: the agent's hang-up reason; `transfer` when the call
    went to a person; the reason the agent was ending the call for when the caller hung up on
    its goodbye (as callers do; the worker's `calls_ended_total` counts it the same way); else
    `caller_hangup`."""
    reason: str | None = None
    ending: str | None = None
    for event in record.get("events", ()):
        payload = event.get("payload") or {}
        if event.get("kind") == "escalation" and payload.get("stage") == "transfer" \
                and payload.get("transferred"):
            return "transfer"
        if event.get("kind") != "status":
            continue
        if payload.get("status") == "hung_up":
            reason = str(payload.get("reason") or "")
        elif payload.get("status") == "ending" and ending is None:
            ending = str(payload.get("reason") or "")
    reason = reason if reason is not None else ending
    if reason is None:
        return "caller_hangup"
    return _END_REASON_NAMES.get(reason, reason)


def ending_notes(record: Mapping[str, Any]) -> list[str]:
    """Said when the caller, not the agent, ended a call the agent was ending: how long after
    the agent began ending it, and what the agent was doing then. A long wait means the agent's
    hang-up came late (or never)."""
    began: datetime | None = None
    for event in record.get("events", ()):
        payload = event.get("payload") or {}
        status = payload.get("status") if event.get("kind") == "status" else None
        if status == "hung_up":
            return []
        if status == "ending" and began is None:
            began = _parse_time(event.get("at"))
        elif status == "caller_left" and began is not None:
            left = _parse_time(event.get("at"))
            after = f" {(left - began).total_seconds():.1f} s" if left is not None else ""
            return [f"the caller hung up{after} after the agent began ending the call, before "
                    f"the agent's own hang-up (agent {payload.get('agent_state')})"]
    return []


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def agent_lines(record: Mapping[str, Any]) -> list[str]:
    return [str(t.get("text", "")) for t in record.get("turns", ()) if t.get("role") == "agent"]


def was_escalated(record: Mapping[str, Any]) -> bool:
    outcome = record.get("outcome") or {}
    return bool(outcome.get("escalation_reason")) or any(
        e.get("kind") == "escalation" for e in record.get("events", ()))


def score(expect: Expectation, record: Mapping[str, Any] | None,
          metrics: CallMetrics) -> list[str]:
    """Every way the call missed its expectations; empty means it passed."""
    if record is None or not record.get("outcome"):
        return ["record: no stored outcome for the call"]
    outcome: Mapping[str, Any] = record["outcome"]
    reasons: list[str] = []
    fields: Mapping[str, Any] = outcome.get("fields") or {}
    for name, wanted in expect.fields.items():
        problem = _field_problem(wanted, fields.get(name))
        if problem:
            reasons.append(f"fields.{name}: {problem}")
    missing = sorted(outcome.get("missing_fields") or [])
    if expect.missing_fields is not None and missing != sorted(expect.missing_fields):
        reasons.append(f"missing_fields: expected {sorted(expect.missing_fields)}, got {missing}")
    if expect.complete is not None and (not missing) != expect.complete:
        reasons.append(f"complete: expected {expect.complete}, got {not missing}"
                       + (f" (missing {missing})" if missing else ""))
    escalated = was_escalated(record)
    if expect.escalated is not None and escalated != expect.escalated:
        reasons.append(f"escalated: expected {expect.escalated}, got {escalated}")
    reason = outcome.get("escalation_reason")
    if expect.escalation_reason is not None and reason != expect.escalation_reason:
        reasons.append(f"escalation_reason: expected {expect.escalation_reason!r}, "
                       f"got {reason!r}")
    ended = end_reason(record)
    if expect.end_reason is not None and ended != expect.end_reason:
        reasons.append(f"end_reason: expected {expect.end_reason!r}, got {ended!r}")
    action = outcome.get("recommended_next_action")
    if expect.next_action is not None and action != expect.next_action:
        reasons.append(f"next_action: expected {expect.next_action!r}, got {action!r}")
    reasons += _said_problems(expect, agent_lines(record))
    if expect.caller_talked_over is not None and (metrics.talked_over > 0
                                                  ) != expect.caller_talked_over:
        reasons.append(f"caller_talked_over: expected {expect.caller_talked_over}, the agent "
                       f"started speaking during {metrics.talked_over} caller lines")
    reasons += _latency_problems(expect, metrics)
    return reasons


def _field_problem(wanted: FieldExpectation, got: Any) -> str | None:
    if got is None:
        return "not collected"
    value = str(got)
    if isinstance(wanted, Contains):
        absent = [p for p in wanted.contains if p.casefold() not in value.casefold()]
        return f"{value!r} does not contain {absent}" if absent else None
    if isinstance(wanted, AnyOf):
        return None if value in wanted.any_of else f"{value!r} is not one of {list(wanted.any_of)}"
    return None if value == wanted else f"expected {wanted!r}, got {value!r}"


def _said_problems(expect: Expectation, lines: Sequence[str]) -> list[str]:
    reasons = []
    for pattern in expect.agent_never_says:
        hit = next((line for line in lines if re.search(pattern, line, re.IGNORECASE)), None)
        if hit is not None:
            reasons.append(f"agent_never_says: /{pattern}/ matched the agent saying {hit!r}")
    for pattern in expect.agent_says:
        if not any(re.search(pattern, line, re.IGNORECASE) for line in lines):
            reasons.append(f"agent_says: /{pattern}/ matched no agent turn")
    return reasons


def _latency_problems(expect: Expectation, metrics: CallMetrics) -> list[str]:
    ceilings = expect.latency
    if ceilings is None:
        return []
    reasons = []
    if ceilings.greeting_ms is not None:
        if metrics.greeting_ms is None:
            reasons.append("latency.greeting_ms: no greeting heard")
        elif metrics.greeting_ms > ceilings.greeting_ms:
            reasons.append(f"latency.greeting_ms: {metrics.greeting_ms:.0f} ms > "
                           f"{ceilings.greeting_ms:.0f} ms")
    if ceilings.response_ms is not None:
        slow = [v for v in metrics.response_ms if v > ceilings.response_ms]
        if slow:
            reasons.append(f"latency.response_ms: {len(slow)} replies over "
                           f"{ceilings.response_ms:.0f} ms (slowest {max(slow):.0f} ms)")
    if ceilings.barge_in_ms is not None:
        if metrics.barge_ins_not_stopped:
            reasons.append(f"latency.barge_in_ms: the agent did not stop after "
                           f"{metrics.barge_ins_not_stopped} barge-ins")
        slow = [v for v in metrics.barge_in_ms if v > ceilings.barge_in_ms]
        if slow:
            reasons.append(f"latency.barge_in_ms: {len(slow)} barge-ins over "
                           f"{ceilings.barge_in_ms:.0f} ms (slowest {max(slow):.0f} ms)")
    return reasons
