"""The simulator's wire protocol, asserted on the exact JSON a plain WebSocket client sees:
the handshake, speech detection and scripted replies (tool calls and edges are in
_tools and _edges)."""

from __future__ import annotations

import base64
import json
from unittest.mock import ANY

import aiohttp
import pytest

from realtime_simulator import RealtimeSimulator, synthesize_pcm16
from realtime_simulator.speech import silence_pcm16
from realtime_simulator.wire_client import RealtimeWireClient
from tests import realtime_wire_support as wire_support
from tests.realtime_wire_support import (
    CALLER_1,
    KEY,
    RATE,
    REPLY_1,
    SERVER_VAD,
    by_type,
    caller_audio,
    configure,
    joined_audio,
    joined_transcript,
)

pytestmark = pytest.mark.unit

# the shared fixtures, by name (pytest finds fixtures among a module's globals)
sim = wire_support.sim
client = wire_support.client

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
