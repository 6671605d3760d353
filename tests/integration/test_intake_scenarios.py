"""Intake behaviour on the simulator and the real stack: read-back and correction, escalation by
trigger phrase (whatever the model does), a complete intake that ends the call."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import pytest

from devstack.local_call import LocalStack
from devstack.paths import project_root
from realtime_simulator import load_scenario, parse_scenario

from .test_call_spine import _record

pytestmark = pytest.mark.integration

CORRECTION = """
name: phone-correction
turns:
  - caller: "My number is five one two, five five five, zero one nine nine."
    agent:
      - tool: record_field
        arguments: {field: phone, value: "512 555 0199"}
        expect_output_contains: "zero one nine nine"
      - say: "I have five one two, five five five, zero one nine nine. Is that right?"
  - caller: "No, it ends in zero one four two."
    agent:
      - tool: confirm_field
        arguments: {field: phone, is_correct: false, correction: "512 555 0142"}
        expect_output_contains: "zero one four two"
      - say: "Sorry about that. Five one two, five five five, zero one four two?"
  - caller: "Yes, that's it."
    agent:
      - tool: confirm_field
        arguments: {field: phone, is_correct: true}
      - say: "Thanks. What's going on that you need help with?"
  - hangup: true
    pause_before_ms: 300
"""

PRICING = """
name: pricing-trigger
fallback_reply: "I can't quote prices, but a technician will give you an estimate."
turns:
  - caller: "How much does it cost to replace a water heater?"
    agent:
      - say: "Let me see."
  - hangup: true
    pause_before_ms: 300
"""


def _events(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["payload"] for e in record["events"] if e["kind"] == kind]


async def test_read_back_then_correction_keeps_the_corrected_number(
        call_stack: LocalStack) -> None:
    result = await call_stack.place_call(parse_scenario(CORRECTION))
    sim = call_stack.simulator
    assert sim is not None
    assert not sim.expectation_failures
    record = await _record(call_stack, result.call_id)
    outcome = record["outcome"]
    assert outcome["fields"]["phone"] == "+15125550142"
    changes = [c for c in _events(record, "slot_changed") if c["field"] == "phone"]
    values = [(c["value"], c["confirmed"]) for c in changes]
    assert ("+15125550199", False) in values and values[-1] == ("+15125550142", True)
    # the caller hung up, not the agent: the record says so
    left = [(e["status"], e["reason"]) for e in _events(record, "status")
            if e["status"] in ("caller_left", "hung_up")]
    assert left == [("caller_left", "participant_disconnected")]


async def test_a_pricing_question_escalates_by_rule(call_stack: LocalStack) -> None:
    result = await call_stack.place_call(parse_scenario(PRICING))
    record = await _record(call_stack, result.call_id)
    escalations = _events(record, "escalation")
    assert any(e["category"] == "pricing" and e["source"] == "guard" for e in escalations)
    assert record["outcome"]["escalation_reason"] == "pricing"
    assert record["outcome"]["recommended_next_action"] == "human_review"
    # no tool quoted a price: the only tools called were the scripted ones (none here)
    assert not [e for e in _events(record, "tool_call") if e["name"] != "escalate_to_human"]


async def test_a_complete_intake_ends_the_call_from_the_agent_side(
        call_stack: LocalStack) -> None:
    scenario = load_scenario(project_root() / "scenarios" / "demo_water_heater.yaml")
    result = await call_stack.place_call(scenario)
    sim = call_stack.simulator
    assert sim is not None
    assert not sim.expectation_failures
    record = await _record(call_stack, result.call_id)
    outcome = record["outcome"]
    assert outcome["missing_fields"] == []
    assert outcome["recommended_next_action"] == "send_followup"
    assert outcome["fields"]["deadline"] and outcome["fields"]["phone"] == "+15125550142"
    statuses = _events(record, "status")
    assert {"status": "hung_up", "reason": "intake_complete"} in statuses
    assert not [e for e in statuses if e["status"] == "caller_left"]
    assert record["call"]["caller_number"] == "+15125550142"


# the model calls end_call without a word: the agent says the playbook's goodbye itself, so
# the scripted line after the tool (a model reply) is never asked for
GOODBYE = """
name: caller-says-goodbye
turns:
  - caller: "That's all I needed, thanks. Goodbye."
    wait_for_hangup: true
    agent:
      - tool: end_call
        arguments: {reason: caller_request}
      - say: "A reply the model was never asked for."
"""
PLAYBOOK_GOODBYE = "Thanks for calling. Goodbye!"  # the example playbook's call_limits.goodbye
# the model says its closing and calls end_call in the same reply: that closing is the goodbye
CLOSING_THEN_END = """
name: closing-then-end-call
turns:
  - caller: "That's all I needed, thanks. Goodbye."
    wait_for_hangup: true
    agent:
      - say: "You're welcome. Take care, goodbye."
      - tool: end_call
        arguments: {reason: caller_request}
"""


def _client_events_after_call(sim: Any, since: int, tool_name: str) -> list[str]:
    """The client event types this call sent after the model called the named tool. The
    session's simulator keeps every call's wire log, so only entries from `since` count; and
    the anchor is the call, not its output, which goes out once the goodbye has played."""
    log = sim.wire_log[since:]
    at = next(i for i, w in enumerate(log)
              if w.direction == "server"
              and w.event.get("type") == "response.function_call_arguments.done"
              and w.event.get("name") == tool_name)
    return [str(w.event.get("type")) for w in log[at + 1:] if w.direction == "client"]


async def test_the_agent_lets_the_caller_go_before_it_stores_the_record(
        call_stack: LocalStack) -> None:
    sim = call_stack.simulator
    assert sim is not None
    since = len(sim.wire_log)
    result = await call_stack.place_call(parse_scenario(GOODBYE))
    # the caller stayed on the line: the agent hung up on them
    assert result.report.disconnected_at is not None
    # after the caller's goodbye they heard the agent's, then the line closed
    goodbye_said = result.report.turns[-1].speech_ended_at
    assert [s for s in result.report.segments if s.started_at > goodbye_said]
    # ending the call asked the model for nothing more: no reply after end_call
    assert "response.create" not in _client_events_after_call(sim, since, "end_call")
    disconnected_wall = result.report.disconnected_at + (time.time() - time.monotonic())
    finished = await _logged(call_stack, result.call_id, "call finished")
    assert finished["reason"] == "caller_request"
    # not kept on a silent line while the outcome and the recording are stored
    assert disconnected_wall < datetime.fromisoformat(finished["timestamp"]).timestamp()
    record = await _record(call_stack, result.call_id)
    assert {"status": "hung_up", "reason": "caller_request"} in _events(record, "status")
    # the record says what the caller heard: the playbook's goodbye, not the unasked reply
    agent_texts = [t["text"] for t in record["turns"] if t["role"] == "agent"]
    assert agent_texts[-1] == PLAYBOOK_GOODBYE
    assert "never asked" not in json.dumps(record["turns"])


async def test_a_closing_the_model_spoke_is_the_only_goodbye(call_stack: LocalStack) -> None:
    sim = call_stack.simulator
    assert sim is not None
    since = len(sim.wire_log)
    result = await call_stack.place_call(parse_scenario(CLOSING_THEN_END))
    assert result.report.disconnected_at is not None
    record = await _record(call_stack, result.call_id)
    agent_texts = [t["text"] for t in record["turns"] if t["role"] == "agent"]
    assert agent_texts[-1] == "You're welcome. Take care, goodbye."
    assert PLAYBOOK_GOODBYE not in agent_texts
    assert "response.create" not in _client_events_after_call(sim, since, "end_call")
    assert {"status": "hung_up", "reason": "caller_request"} in _events(record, "status")


async def _logged(stack: LocalStack, call_id: str, message: str) -> dict[str, Any]:
    """The worker's log line for this call, once written (it follows the stored outcome)."""
    deadline = time.monotonic() + 15
    while True:
        lines = [json.loads(line) for line in stack.workers[0].log_path.read_text().splitlines()
                 if call_id in line and f'"{message}"' in line]
        if lines:
            return lines[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker never logged {message!r} for the call")
        await asyncio.sleep(0.1)


MALFORMED_TOOL_CALLS = """
name: malformed-tool-calls
turns:
  - caller: "My number is five five five."
    agent:
      - tool: record_field
        arguments: {field: phone, value: "555"}
        expect_output_contains: "number"
      - tool: record_field
        arguments: {field: shoe_size, value: "ten"}
        expect_output_contains: "I can only note these details"
      - say: "Sorry, could you repeat the whole number, with the area code?"
  - caller: "Five one two, five five five, zero one four two."
    agent:
      - tool: record_field
        arguments: {field: phone, value: "512 555 0142"}
      - say: "Thanks."
  - hangup: true
    pause_before_ms: 300
"""


async def test_malformed_tool_calls_get_a_spoken_error_and_keep_the_last_good_value(
        call_stack: LocalStack) -> None:
    result = await call_stack.place_call(parse_scenario(MALFORMED_TOOL_CALLS))
    sim = call_stack.simulator
    assert sim is not None
    assert not sim.expectation_failures  # the tool outputs were caller-hearable errors
    outputs = [c.output for c in sim.tool_calls_received if c.name == "record_field"][-3:]
    assert not any("Traceback" in o or "Error:" in o for o in outputs)
    # the call went on: the caller was answered after each line
    assert all(turn.agent_reply_started_at is not None for turn in result.report.turns)
    record = await _record(call_stack, result.call_id)
    assert record["outcome"]["fields"]["phone"] == "+15125550142"
    refused = [e for e in _events(record, "tool_call") if e["outcome"] == "refused"]
    assert len(refused) == 2
