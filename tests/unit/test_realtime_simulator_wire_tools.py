"""The simulator's wire protocol for tool calls: a function call round trip and an unmet
expectation, on the exact JSON a plain WebSocket client sees."""

from __future__ import annotations

import json
from unittest.mock import ANY

import pytest

from realtime_simulator import RealtimeSimulator
from realtime_simulator.wire_client import RealtimeWireClient
from tests import realtime_wire_support as wire_support
from tests.realtime_wire_support import (
    CALLER_1,
    REPLY_2,
    by_type,
    caller_audio,
    configure,
    joined_transcript,
)

pytestmark = pytest.mark.unit

# the shared fixtures, by name (pytest finds fixtures among a module's globals)
sim = wire_support.sim
client = wire_support.client


# ---- tool calls ------------------------------------------------------------------------


async def test_function_call_round_trip_then_continuation(
    sim: RealtimeSimulator, client: RealtimeWireClient
) -> None:
    await configure(client)
    await client.append_audio(caller_audio(CALLER_1))
    events = await client.recv_until("response.done")
    response_id = events[-1]["response"]["id"]
    call_added = by_type(events, "response.output_item.added")[1]
    call_item_id = call_added["item"]["id"]
    call_id = call_added["item"]["call_id"]
    assert call_added == {
        "type": "response.output_item.added",
        "event_id": ANY,
        "response_id": response_id,
        "output_index": 1,
        "item": {
            "id": call_item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "call_id": call_id,
            "name": "record_field",
            "arguments": "",
        },
    }
    arguments = json.dumps({"field": "problem", "value": "water heater leak"})
    base = {
        "response_id": response_id,
        "item_id": call_item_id,
        "output_index": 1,
        "call_id": call_id,
    }
    deltas = by_type(events, "response.function_call_arguments.delta")
    assert all(d == {"type": d["type"], "event_id": ANY, **base, "delta": ANY} for d in deltas)
    assert "".join(d["delta"] for d in deltas) == arguments
    assert by_type(events, "response.function_call_arguments.done") == [
        {
            "type": "response.function_call_arguments.done",
            "event_id": ANY,
            **base,
            "name": "record_field",
            "arguments": arguments,
        }
    ]
    completed_call = {**call_added["item"], "status": "completed", "arguments": arguments}
    assert events[-1]["response"]["output"][1] == completed_call

    output_item = {
        "id": "item_out1",
        "type": "function_call_output",
        "call_id": call_id,
        "output": "recorded problem",
    }
    await client.send(
        {
            "type": "conversation.item.create",
            "event_id": "evt_out",
            "previous_item_id": call_item_id,
            "item": output_item,
        }
    )
    ack = await client.recv_until("conversation.item.done")
    assert ack == [
        {
            "type": "conversation.item.added",
            "event_id": ANY,
            "previous_item_id": call_item_id,
            "item": {**output_item, "object": "realtime.item", "status": "completed"},
        },
        {
            "type": "conversation.item.done",
            "event_id": ANY,
            "previous_item_id": call_item_id,
            "item": {**output_item, "object": "realtime.item", "status": "completed"},
        },
    ]
    await client.send(
        {
            "type": "response.create",
            "event_id": "evt_more",
            "response": {"metadata": {"client_event_id": "evt_more"}},
        }
    )
    more = await client.recv_until("response.done")
    assert more[0]["response"]["metadata"] == {"client_event_id": "evt_more"}
    assert joined_transcript(more) == REPLY_2
    assert by_type(more, "response.function_call_arguments.done") == []
    assert more[-1]["response"]["status"] == "completed"

    [record] = sim.tool_calls_received
    assert (record.call_id, record.name, record.arguments) == (call_id, "record_field", arguments)
    assert (record.output, record.turn_index, record.expectation_met) == (
        "recorded problem",
        0,
        True,
    )
    assert sim.expectation_failures == []
    assert [t.trigger for t in sim.turn_timings] == ["server_vad", "client"]
    assert sim.turn_timings[1].speech_stopped_at is None


async def test_unmet_tool_expectation_is_recorded_not_raised(
    sim: RealtimeSimulator, client: RealtimeWireClient
) -> None:
    await configure(client)
    await client.append_audio(caller_audio(CALLER_1))
    events = await client.recv_until("response.done")
    call_id = events[-1]["response"]["output"][1]["call_id"]
    await client.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": call_id, "output": "error"},
        }
    )
    await client.recv_until("conversation.item.done")
    assert [(r.expected_output_contains, r.expectation_met) for r in sim.expectation_failures] == [
        ("problem", False)
    ]
