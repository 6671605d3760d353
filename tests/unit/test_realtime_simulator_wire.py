"""The simulator's wire protocol, asserted on the exact JSON a plain WebSocket client sees."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY

import aiohttp
import pytest

from realtime_simulator import RealtimeSimulator, parse_scenario, synthesize_pcm16
from realtime_simulator.speech import silence_pcm16
from realtime_simulator.wire_client import RealtimeWireClient

pytestmark = pytest.mark.unit

KEY = "sk-test"
RATE = 24000
CALLER_1 = "Hi, my water heater is leaking in the basement."
CALLER_2 = "It is forty two Elm Street."
REPLY_1 = "I'm sorry to hear that."
REPLY_2 = "Noted. What is the address?"
REPLY_3 = "Thank you, a plumber will call you back within the hour to arrange a visit."

SCENARIO = f"""
name: wire
greeting:
  - say: "Acme Plumbing, how can I help?"
turns:
  - caller: "{CALLER_1}"
    reply_delay_ms: 20
    agent:
      - say: "{REPLY_1}"
      - tool: record_field
        arguments: {{field: problem, value: water heater leak}}
        expect_output_contains: problem
      - say: "{REPLY_2}"
  - caller: "{CALLER_2}"
    agent:
      - say: "{REPLY_3}"
  - hangup: true
"""

SERVER_VAD = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 400,
    "create_response": True,
    "interrupt_response": True,
}


def caller_audio(text: str, *, lead_ms: int = 500, tail_ms: int = 800) -> bytes:
    return (
        silence_pcm16(lead_ms, RATE) + synthesize_pcm16(text, RATE) + silence_pcm16(tail_ms, RATE)
    )


@pytest.fixture
async def sim() -> AsyncIterator[RealtimeSimulator]:
    simulator = RealtimeSimulator(parse_scenario(SCENARIO), api_key=KEY, stream_speed=100)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: RealtimeSimulator) -> AsyncIterator[RealtimeWireClient]:
    async with RealtimeWireClient(sim.ws_url, KEY) as c:
        created = await c.recv()
        assert created["type"] == "session.created"
        yield c


async def configure(
    c: RealtimeWireClient, turn_detection: dict[str, Any] | None = SERVER_VAD
) -> dict[str, Any]:
    await c.send(
        {
            "type": "session.update",
            "event_id": "evt_cfg",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {
                        "transcription": {"model": "gpt-4o-mini-transcribe"},
                        "turn_detection": turn_detection,
                    }
                },
            },
        }
    )
    return await c.recv()


def by_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


def joined_audio(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        base64.b64decode(e["delta"]) for e in by_type(events, "response.output_audio.delta")
    )


def joined_transcript(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in by_type(events, "response.output_audio_transcript.delta"))


# ---- handshake and auth ----------------------------------------------------------------


async def test_session_created_then_update_answered_with_merged_session(
    sim: RealtimeSimulator,
) -> None:
    async with RealtimeWireClient(sim.ws_url, KEY, model="gpt-realtime-mini") as c:
        created = await c.recv()
        assert created == {
            "type": "session.created",
            "event_id": ANY,
            "session": {
                "type": "realtime",
                "object": "realtime.session",
                "id": ANY,
                "model": "gpt-realtime-mini",
                "output_modalities": ["audio"],
                "instructions": "",
                "tools": [],
                "tool_choice": "auto",
                "max_output_tokens": "inf",
                "tracing": None,
                "truncation": "auto",
                "prompt": None,
                "expires_at": 0,
                "include": None,
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": None,
                        "noise_reduction": None,
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.5,
                            "prefix_padding_ms": 300,
                            "silence_duration_ms": 500,
                            "idle_timeout_ms": None,
                            "create_response": True,
                            "interrupt_response": True,
                        },
                    },
                    "output": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "voice": "marin",
                        "speed": 1.0,
                    },
                },
            },
        }
        assert created["event_id"].startswith("event_")
        await c.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "instructions": "Be brief.",
                    "audio": {"output": {"voice": "cedar"}, "input": {"turn_detection": None}},
                    "tools": [{"type": "function", "name": "record_field", "parameters": {}}],
                },
            }
        )
        updated = await c.recv()
        expected = json.loads(json.dumps(created["session"]))
        expected["instructions"] = "Be brief."
        expected["audio"]["output"]["voice"] = "cedar"
        expected["audio"]["input"]["turn_detection"] = None
        expected["tools"] = [{"type": "function", "name": "record_field", "parameters": {}}]
        assert updated == {"type": "session.updated", "event_id": ANY, "session": expected}
    assert sim.connections == 1


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}])
async def test_bad_or_missing_key_is_refused_with_401(
    sim: RealtimeSimulator, headers: dict[str, str]
) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{sim.ws_url}?model=gpt-realtime", headers=headers)
        assert refused.value.status == 401
        async with http.get(sim.ws_url, headers=headers) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "invalid_api_key"
    assert sim.connections == 0


# ---- speech detection ------------------------------------------------------------------


async def test_speech_then_silence_gives_started_stopped_committed_and_transcript(
    client: RealtimeWireClient,
) -> None:
    await configure(client, {**SERVER_VAD, "create_response": False})
    speech = synthesize_pcm16(CALLER_1, RATE)
    speech_ms = len(speech) * 1000 // (RATE * 2)
    await client.append_audio(caller_audio(CALLER_1))
    events = await client.recv_until("conversation.item.input_audio_transcription.completed")
    started, stopped, committed, added, done, transcribed = events
    item_id = started["item_id"]
    assert item_id.startswith("item_")
    assert started == {
        "type": "input_audio_buffer.speech_started",
        "event_id": ANY,
        "audio_start_ms": ANY,
        "item_id": item_id,
    }
    # speech begins after 500 ms of silence; the event reaches back by prefix_padding_ms
    assert 200 <= started["audio_start_ms"] < 300
    assert stopped == {
        "type": "input_audio_buffer.speech_stopped",
        "event_id": ANY,
        "audio_end_ms": ANY,
        "item_id": item_id,
    }
    assert 500 + speech_ms - 400 <= stopped["audio_end_ms"] <= 500 + speech_ms
    assert committed == {
        "type": "input_audio_buffer.committed",
        "event_id": ANY,
        "previous_item_id": None,
        "item_id": item_id,
    }
    user_item = {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    assert added == {
        "type": "conversation.item.added",
        "event_id": ANY,
        "previous_item_id": None,
        "item": user_item,
    }
    assert done == {**added, "type": "conversation.item.done", "event_id": ANY}
    assert transcribed == {
        "type": "conversation.item.input_audio_transcription.completed",
        "event_id": ANY,
        "item_id": item_id,
        "content_index": 0,
        "transcript": CALLER_1,
        "usage": {"type": "duration", "seconds": ANY},
    }


async def test_silence_and_clicks_are_not_speech(
    sim: RealtimeSimulator, client: RealtimeWireClient
) -> None:
    await configure(client)
    click = (b"\xff\x7f" * 240) + silence_pcm16(500, RATE)  # one 10 ms full-scale burst
    await client.append_audio(silence_pcm16(1000, RATE) + click)
    await client.send({"type": "input_audio_buffer.clear", "event_id": "evt_clear"})
    assert await client.recv() == {"type": "input_audio_buffer.cleared", "event_id": ANY}
    assert sim.events("server", "input_audio_buffer.speech_started") == []


# ---- scripted replies ------------------------------------------------------------------


async def test_caller_turn_gets_scripted_reply_with_audio_and_transcript(
    sim: RealtimeSimulator, client: RealtimeWireClient
) -> None:
    await configure(client)
    await client.append_audio(caller_audio(CALLER_1))
    before = await client.recv_until("input_audio_buffer.committed")
    user_item_id = before[-1]["item_id"]
    events = await client.recv_until("response.done")
    events = [e for e in events if not e["type"].startswith("conversation.item.input_audio")]
    assert [e["type"] for e in events[:2]] == ["conversation.item.added", "conversation.item.done"]
    reply = events[2:]

    created = reply[0]
    response_id = created["response"]["id"]
    assert created == {
        "type": "response.created",
        "event_id": ANY,
        "response": {
            "object": "realtime.response",
            "id": response_id,
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": ANY,
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": ANY},
            "usage": None,
            "metadata": None,
        },
    }
    message_added = reply[1]
    item_id = message_added["item"]["id"]
    assert message_added == {
        "type": "response.output_item.added",
        "event_id": ANY,
        "response_id": response_id,
        "output_index": 0,
        "item": {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        },
    }
    assert reply[2] == {
        "type": "conversation.item.added",
        "event_id": ANY,
        "previous_item_id": user_item_id,
        "item": message_added["item"],
    }
    part = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
    assert reply[3] == {
        "type": "response.content_part.added",
        "event_id": ANY,
        **part,
        "part": {"type": "audio", "transcript": ""},
    }
    for delta in by_type(reply, "response.output_audio.delta"):
        assert delta == {
            "type": "response.output_audio.delta",
            "event_id": ANY,
            **part,
            "delta": ANY,
        }
        assert len(base64.b64decode(delta["delta"])) <= 4800  # 100 ms chunks
    assert joined_audio(reply) == synthesize_pcm16(REPLY_1, RATE)
    assert joined_transcript(reply) == REPLY_1
    assert by_type(reply, "response.output_audio_transcript.done") == [
        {
            "type": "response.output_audio_transcript.done",
            "event_id": ANY,
            **part,
            "transcript": REPLY_1,
        }
    ]
    done_message = {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_audio", "transcript": REPLY_1}],
    }
    assert by_type(reply, "response.output_item.done")[0] == {
        "type": "response.output_item.done",
        "event_id": ANY,
        "response_id": response_id,
        "output_index": 0,
        "item": done_message,
    }
    response_done = reply[-1]
    assert response_done["response"]["status"] == "completed"
    assert response_done["response"]["status_details"] is None
    assert response_done["response"]["output"][0] == done_message
    usage = response_done["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert set(usage["output_token_details"]) == {"text_tokens", "audio_tokens"}

    [timing] = sim.turn_timings
    assert timing.turn_index == 0
    assert timing.response_id == response_id
    assert timing.trigger == "server_vad"
    assert timing.reply_delay_ms == 20
    assert timing.silence_window_ms == 400
    assert timing.speech_stopped_at is not None and timing.first_audio_at is not None
    assert timing.speech_stopped_at <= timing.created_at <= timing.first_audio_at
    appended = sim.events("client", "input_audio_buffer.append")
    assert appended[0]["audio"] == 4800  # payloads are logged as their byte length


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


async def test_greeting_then_fallback_for_unscripted_response_create(
    client: RealtimeWireClient,
) -> None:
    await configure(client)
    await client.send({"type": "response.create"})
    greeting = await client.recv_until("response.done")
    assert joined_transcript(greeting) == "Acme Plumbing, how can I help?"
    await client.send({"type": "response.create", "response": {"instructions": "say more"}})
    empty = await client.recv_until("response.done")
    # no fallback_reply in this scenario: an empty, completed response
    assert [e["type"] for e in empty] == ["response.created", "response.done"]
    assert empty[-1]["response"]["status"] == "completed"
    assert empty[-1]["response"]["output"] == []


async def test_manual_turns_commit_and_response_create(client: RealtimeWireClient) -> None:
    await configure(client, None)
    await client.append_audio(caller_audio(CALLER_1))
    await client.send({"type": "input_audio_buffer.commit", "event_id": "evt_commit"})
    events = await client.recv_until("conversation.item.input_audio_transcription.completed")
    assert events[0] == {
        "type": "input_audio_buffer.committed",
        "event_id": ANY,
        "previous_item_id": None,
        "item_id": ANY,
    }
    assert events[-1]["transcript"] == CALLER_1
    await client.send({"type": "response.create"})
    reply = await client.recv_until("response.done")
    assert joined_transcript(reply) == REPLY_1
    # server VAD is off: no speech events were sent
    assert not [e for e in client.received if e["type"].startswith("input_audio_buffer.speech")]


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
