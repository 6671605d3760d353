"""The guard's escalations through the real worker and the Realtime simulator: the caller hears
the category's line, and the model's tool call from the same turn still runs and its
`function_call_output` goes back over the Realtime wire before the worker asks for more."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.local_call import LocalStack
from realtime_simulator import RealtimeSimulator, parse_scenario
from tools.playbook import Playbook, load_playbook

from .test_call_spine import _record

pytestmark = pytest.mark.integration

PRICING_WITH_A_PROBLEM = """
name: pricing-in-the-same-breath
turns:
  - caller: "My kitchen faucet is dripping, what would you guys charge to fix it?"
    agent:
      - tool: record_field
        arguments: {field: problem, value: "kitchen faucet dripping"}
        expect_output_contains: "problem"
      - say: "Got it. What's the address where the work is?"
  - caller: "It's forty two Elm Street in Austin."
    pause_before_ms: 1500
    agent:
      - tool: record_field
        arguments: {field: location, value: "42 Elm Street, Austin"}
      - say: "Thanks. By what date do you need this done?"
  - hangup: true
    pause_before_ms: 2500
"""

EMERGENCY_WITH_AN_ADDRESS = """
name: emergency-in-the-same-breath
turns:
  - caller: "Water is pouring through my ceiling at forty two Elm Street, a pipe burst!"
    agent:
      - tool: record_field
        arguments: {field: location, value: "42 Elm Street"}
      - say: "I'm so sorry."
  - hangup: true
    pause_before_ms: 4000
"""


def _playbook() -> Playbook:
    from devstack.paths import project_root

    return load_playbook(project_root() / "playbooks" / "home_services.yaml")


def _wire(sim: RealtimeSimulator, since: int) -> list[tuple[str, dict[str, Any]]]:
    """This call's part of the wire (one simulator serves the test session's calls)."""
    return [(e.direction, e.event) for e in sim.wire_log[since:]]


def _function_calls(wire: list[tuple[str, dict[str, Any]]], name: str) -> list[str]:
    return [ev["call_id"] for d, ev in wire
            if d == "server" and ev.get("type") == "response.function_call_arguments.done"
            and ev.get("name") == name]


def _output_index(wire: list[tuple[str, dict[str, Any]]], call_id: str) -> int | None:
    for index, (direction, ev) in enumerate(wire):
        item = ev.get("item") or {}
        if (direction == "client" and ev.get("type") == "conversation.item.create"
                and item.get("type") == "function_call_output" and item.get("call_id") == call_id):
            return index
    return None


def _assistant_texts_sent(wire: list[tuple[str, dict[str, Any]]]) -> list[str]:
    texts = []
    for direction, ev in wire:
        item = ev.get("item") or {}
        if (direction == "client" and ev.get("type") == "conversation.item.create"
                and item.get("role") == "assistant"):
            texts.extend(str(part.get("text", "")) for part in item.get("content", []))
    return texts


async def test_a_pricing_question_with_a_problem_keeps_the_tool_call_and_says_the_line(
        call_stack: LocalStack) -> None:
    say = _playbook().escalation["pricing"].say
    sim = call_stack.simulator
    assert sim is not None
    wire_before = len(sim.wire_log)
    result = await call_stack.place_call(parse_scenario(PRICING_WITH_A_PROBLEM))
    record = await _record(call_stack, result.call_id)
    wire = _wire(sim, wire_before)

    # the model's record_field from the guard's turn ran and was answered on the wire
    [call_id, *_] = _function_calls(wire, "record_field")
    answered_at = _output_index(wire, call_id)
    assert answered_at is not None, "no function_call_output for the model's record_field"
    output = next(c.output for c in sim.tool_calls_received if c.call_id == call_id)
    assert "Noted problem" in output and say in output  # steered back to the intake
    assert not [c for c in sim.tool_calls_received
                if c.call_id in _function_calls(wire, "record_field")
                and c.expectation_met is False]
    # the worker's own response.create after that turn comes after the output, not instead
    creates = [i for i, (d, ev) in enumerate(wire)
               if d == "client" and ev.get("type") == "response.create"]
    assert creates and all(i > answered_at for i in creates[:1])

    # the caller heard the playbook's line (pre-rendered, in the model's conversation too)
    assert ("agent", say) in result.report.transcript
    assert say in _assistant_texts_sent(wire)

    # nothing the caller said was dropped: both turns' details are in the record
    outcome = record["outcome"]
    assert outcome["fields"]["problem"] == "kitchen faucet dripping"
    assert outcome["fields"]["location"] == "42 Elm Street, Austin"
    assert outcome["escalation_reason"] == "pricing"
    escalations = [e["payload"] for e in record["events"] if e["kind"] == "escalation"]
    assert any(e.get("category") == "pricing" and e.get("source") == "guard"
               for e in escalations)
    tool_calls = [e["payload"] for e in record["events"] if e["kind"] == "tool_call"]
    assert [t["outcome"] for t in tool_calls if t["name"] == "record_field"] == ["ok", "ok"]


async def test_an_emergency_said_with_an_address_keeps_the_address_and_says_the_line(
        call_stack: LocalStack) -> None:
    say = _playbook().escalation["urgent"].say
    sim = call_stack.simulator
    assert sim is not None
    wire_before = len(sim.wire_log)
    result = await call_stack.place_call(parse_scenario(EMERGENCY_WITH_AN_ADDRESS))
    record = await _record(call_stack, result.call_id)
    wire = _wire(sim, wire_before)
    [call_id] = _function_calls(wire, "record_field")
    assert _output_index(wire, call_id) is not None, "the model's record_field went unanswered"
    assert ("agent", say) in result.report.transcript
    assert record["outcome"]["fields"]["location"] == "42 Elm Street"
    assert record["outcome"]["escalation_reason"] == "urgent"
    stages = [e["payload"] for e in record["events"] if e["kind"] == "escalation"]
    assert any(e.get("stage") == "handoff" and e.get("category") == "urgent" for e in stages)
