"""The simulator's wire protocol at its edges: barge-in and cancel, conversation items,
malformed input, stopping, reconnection and the models endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from unittest.mock import ANY

import aiohttp
import pytest

from realtime_simulator import RealtimeSimulator, parse_scenario
from realtime_simulator.wire_client import RealtimeWireClient
from tests import realtime_wire_support as wire_support
from tests.realtime_wire_support import (
    CALLER_1,
    CALLER_2,
    KEY,
    REPLY_1,
    REPLY_3,
    by_type,
    caller_audio,
    configure,
    joined_transcript,
)

pytestmark = pytest.mark.unit

# the shared fixtures, by name (pytest finds fixtures among a module's globals)
sim = wire_support.sim
client = wire_support.client

# ---- barge-in and cancel ---------------------------------------------------------------


BARGE_IN_SCENARIO = f"""
name: barge-in
greeting:
  - say: "{REPLY_3}"
turns:
  - caller: "{CALLER_1}"
    agent:
      - say: "{REPLY_3}"
  - caller: "{CALLER_2}"
    barge_in_after_ms: 300
    agent:
      - say: "{REPLY_1}"
"""


@pytest.fixture
async def realtime_client() -> AsyncIterator[RealtimeWireClient]:
    """A client of a simulator that streams audio at real time, so responses stay in flight."""
    simulator = RealtimeSimulator(parse_scenario(BARGE_IN_SCENARIO), api_key=KEY, stream_speed=1)
    await simulator.start()
    try:
        async with RealtimeWireClient(simulator.ws_url, KEY) as c:
            await c.recv()
            yield c
    finally:
        await simulator.stop()


async def test_barge_in_cancels_streaming_response(realtime_client: RealtimeWireClient) -> None:
    client = realtime_client
    await configure(client)
    await client.append_audio(caller_audio(CALLER_1))
    first_delta = (await client.recv_until("response.output_audio.delta"))[-1]
    response_id = first_delta["response_id"]
    item_id = first_delta["item_id"]

    await client.append_audio(caller_audio(CALLER_2, lead_ms=0))
    events = await client.recv_until("response.done")
    types = [e["type"] for e in events]
    started = types.index("input_audio_buffer.speech_started")
    assert types[started + 1 :] == [
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    cut_item = events[-1]["response"]["output"][0]
    assert cut_item["id"] == item_id
    assert cut_item["status"] == "incomplete"
    assert REPLY_3.startswith(cut_item["content"][0]["transcript"])
    assert events[-1] == {
        "type": "response.done",
        "event_id": ANY,
        "response": {
            "object": "realtime.response",
            "id": response_id,
            "status": "cancelled",
            "status_details": {"type": "cancelled", "reason": "turn_detected"},
            "output": [cut_item],
            "conversation_id": ANY,
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": ANY,
            "usage": ANY,
            "metadata": None,
        },
    }
    # the interrupting line is the next caller turn, answered once the caller stops
    after = await client.recv_until("response.done")
    assert (
        by_type(after, "conversation.item.input_audio_transcription.completed")[0]["transcript"]
        == CALLER_2
    )
    assert joined_transcript(after) == REPLY_1
    assert after[-1]["response"]["status"] == "completed"


async def test_client_cancel_ends_response_as_cancelled(
    realtime_client: RealtimeWireClient,
) -> None:
    client = realtime_client
    await configure(client)
    await client.send({"type": "response.create"})
    response_id = (await client.recv_until("response.output_audio.delta"))[-1]["response_id"]
    await client.send({"type": "response.cancel", "response_id": response_id})
    done = (await client.recv_until("response.done"))[-1]
    assert done["response"]["id"] == response_id
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}


async def test_response_cancel_without_active_response_is_an_error(
    client: RealtimeWireClient,
) -> None:
    await client.send({"type": "response.cancel", "event_id": "evt_cancel"})
    assert await client.recv() == {
        "type": "error",
        "event_id": ANY,
        "error": {
            "type": "invalid_request_error",
            "code": "response_cancel_not_active",
            "message": "Cancellation failed: no active response found.",
            "param": None,
            "event_id": "evt_cancel",
        },
    }


# ---- conversation items ----------------------------------------------------------------


async def test_item_create_truncate_delete_acks(client: RealtimeWireClient) -> None:
    await configure(client)
    await client.send({"type": "response.create"})
    greeting = await client.recv_until("response.done")
    item_id = greeting[-1]["response"]["output"][0]["id"]
    await client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 300,
        }
    )
    assert await client.recv() == {
        "type": "conversation.item.truncated",
        "event_id": ANY,
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": 300,
    }
    text_item = {
        "id": "item_note",
        "type": "message",
        "role": "system",
        "content": [{"type": "input_text", "text": "Caller is a landlord."}],
    }
    await client.send(
        {"type": "conversation.item.create", "previous_item_id": "root", "item": text_item}
    )
    added = await client.recv()
    assert added == {
        "type": "conversation.item.added",
        "event_id": ANY,
        "previous_item_id": None,
        "item": {**text_item, "object": "realtime.item", "status": "completed"},
    }
    await client.recv()  # conversation.item.done
    await client.send(
        {"type": "conversation.item.create", "event_id": "evt_dup", "item": text_item}
    )
    dup = await client.recv()
    assert dup["error"]["code"] == "item_create_duplicate_item_id"
    assert dup["error"]["event_id"] == "evt_dup"
    await client.send({"type": "conversation.item.delete", "item_id": "item_note"})
    assert await client.recv() == {
        "type": "conversation.item.deleted",
        "event_id": ANY,
        "item_id": "item_note",
    }
    await client.send({"type": "conversation.item.delete", "item_id": "item_note"})
    assert (await client.recv())["error"]["code"] == "item_not_found"


# ---- malformed input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "param"),
    [
        ("{not json", "invalid_json", None),
        ("[1, 2]", "invalid_json", None),
        (json.dumps({"event_id": "evt_x"}), "missing_required_parameter", "type"),
        (json.dumps({"type": "response.explode", "event_id": "evt_x"}), "invalid_value", "type"),
        (
            json.dumps({"type": "conversation.item.truncate", "event_id": "evt_x"}),
            "missing_required_parameter",
            "item_id",
        ),
        (
            json.dumps({"type": "input_audio_buffer.append", "event_id": "evt_x"}),
            "missing_required_parameter",
            "audio",
        ),
        (
            json.dumps({"type": "input_audio_buffer.append", "audio": "@@not base64@@"}),
            "invalid_value",
            "audio",
        ),
        (
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"audio": {"input": {"turn_detection": {"type": "push_to_talk"}}}},
                }
            ),
            "invalid_value",
            "session.audio.input.turn_detection.type",
        ),
        (
            json.dumps({"type": "conversation.item.create", "item": {"type": "message"}}),
            "invalid_value",
            "item.role",
        ),
        (
            json.dumps({"type": "input_audio_buffer.commit"}),
            "input_audio_buffer_commit_empty",
            None,
        ),
    ],
)
async def test_malformed_input_gets_error_event_and_socket_stays_open(
    client: RealtimeWireClient, raw: str, code: str, param: str | None
) -> None:
    await client.send_raw(raw)
    error = await client.recv()
    sent = json.loads(raw) if raw.startswith('{"') else {}
    assert error == {
        "type": "error",
        "event_id": ANY,
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": ANY,
            "param": param,
            "event_id": sent.get("event_id"),
        },
    }
    assert error["error"]["message"]
    # still connected and still serving
    await client.send({"type": "input_audio_buffer.clear"})
    assert (await client.recv())["type"] == "input_audio_buffer.cleared"


async def test_stop_closes_connected_clients(sim: RealtimeSimulator) -> None:
    async with RealtimeWireClient(sim.ws_url, KEY) as c:
        await c.recv()
        await sim.stop()
        msg = await c.ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_stop_mid_response_leaves_no_tasks_behind() -> None:
    before = asyncio.all_tasks()
    simulator = RealtimeSimulator(parse_scenario(BARGE_IN_SCENARIO), api_key=KEY, stream_speed=1)
    await simulator.start()
    async with RealtimeWireClient(simulator.ws_url, KEY) as c:
        await c.recv()
        await c.send({"type": "response.create"})
        await c.recv_until("response.output_audio.delta")
        await simulator.stop()
    await asyncio.sleep(0)
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    assert leaked == []


async def test_script_progress_survives_reconnection(sim: RealtimeSimulator) -> None:
    async with RealtimeWireClient(sim.ws_url, KEY) as first:
        await first.recv()
        await configure(first)
        await first.append_audio(caller_audio(CALLER_1))
        await first.recv_until("response.done")
    async with RealtimeWireClient(sim.ws_url, KEY) as second:
        await second.recv()
        await configure(second)
        await second.append_audio(caller_audio(CALLER_2))
        events = await second.recv_until("response.done")
        assert joined_transcript(events) == REPLY_3
    assert sim.connections == 2
    assert [t.turn_index for t in sim.turn_timings] == [0, 1]


# ---- the models endpoint and the fields current models take ------------------------------


async def test_the_simulator_lists_models_with_shutdown_dates(sim: RealtimeSimulator) -> None:
    from datetime import date

    from agent.model_check import check_models

    models = {"gpt-realtime-2.1": "realtime", "gpt-realtime": "realtime"}
    statuses = await check_models(models, base_url=sim.base_url, api_key=KEY,
                                  today=date(2026, 12, 1))
    assert [s.verdict for s in statuses] == ["ok", "retiring"]
    del sim.models["gpt-realtime-2.1"]  # withdrawn while the simulator runs
    statuses = await check_models(models, base_url=sim.base_url, api_key=KEY,
                                  today=date(2026, 12, 1))
    assert statuses[0].verdict == "gone"


async def test_a_reasoning_model_takes_an_effort_and_refuses_a_wrong_one(
    sim: RealtimeSimulator,
) -> None:
    async with RealtimeWireClient(sim.ws_url, KEY, model="gpt-realtime-2.1") as c:
        created = await c.recv()
        assert created["session"]["reasoning"] == {"effort": "low"}
        await c.send({"type": "session.update",
                      "session": {"type": "realtime", "reasoning": {"effort": "minimal"}}})
        updated = await c.recv()
        assert updated["type"] == "session.updated"
        assert updated["session"]["reasoning"] == {"effort": "minimal"}
        await c.send({"type": "session.update",
                      "session": {"type": "realtime", "reasoning": {"effort": "max"}}})
        refused = await c.recv()
        assert refused["type"] == "error"
        assert refused["error"]["param"] == "session.reasoning.effort"
