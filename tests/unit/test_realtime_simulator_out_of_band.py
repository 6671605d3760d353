"""The simulator's out-of-band responses (`conversation: "none"`): the input's user text is
spoken verbatim, outside the default conversation and the scenario script."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_simulator import RealtimeSimulator, parse_scenario, synthesize_pcm16
from realtime_simulator.wire_client import RealtimeWireClient
from tests.realtime_wire_support import (
    KEY,
    RATE,
    SCENARIO,
    by_type,
    client,  # noqa: F401 (fixture)
    configure,
    joined_audio,
    joined_transcript,
    sim,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.unit

LINE = "Thanks for calling Acme Plumbing. This call may be recorded."


def out_of_band(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "response.create",
        "response": {
            "conversation": "none",
            "output_modalities": ["audio"],
            "metadata": {"intake_render": "line_1"},
            "input": [{"type": "message", "role": "user",
                       "content": [{"type": "input_text", "text": text}]}],
            **extra,
        },
    }


async def test_an_out_of_band_response_speaks_its_input_verbatim_outside_the_conversation(
        sim: RealtimeSimulator, client: RealtimeWireClient) -> None:  # noqa: F811
    await configure(client, turn_detection=None)
    await client.send(out_of_band(LINE))
    events = await client.recv_until("response.done")

    created = by_type(events, "response.created")[0]["response"]
    assert created["conversation_id"] is None
    assert created["metadata"] == {"intake_render": "line_1"}
    assert joined_audio(events) == synthesize_pcm16(LINE, RATE)  # the same espeak voice
    assert joined_transcript(events) == LINE
    assert by_type(events, "response.output_audio_transcript.done")[0]["transcript"] == LINE
    done = by_type(events, "response.done")[0]["response"]
    assert done["status"] == "completed" and done["conversation_id"] is None
    assert done["output"][0]["content"][0]["transcript"] == LINE
    # the output items are not added to the default conversation
    assert by_type(events, "conversation.item.added") == []
    assert by_type(events, "conversation.item.done") == []
    item_id = done["output"][0]["id"]
    await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
    assert (await client.recv())["type"] == "error"
    # recorded for tests, and never a turn of the call
    assert [(r.text, r.spoken) for r in sim.out_of_band] == [(LINE, LINE)]
    assert sim.out_of_band[0].pcm == synthesize_pcm16(LINE, RATE)
    assert sim.turn_timings == []


async def test_an_out_of_band_response_leaves_the_script_where_it_was(
        sim: RealtimeSimulator, client: RealtimeWireClient) -> None:  # noqa: F811
    await configure(client, turn_detection=None)
    await client.send(out_of_band(LINE))
    await client.recv_until("response.done")
    # the first scripted response is still the greeting
    await client.send({"type": "response.create"})
    events = await client.recv_until("response.done")
    assert joined_transcript(events) == "Acme Plumbing, how can I help?"
    assert by_type(events, "response.created")[0]["response"]["conversation_id"]


async def test_a_simulator_told_to_paraphrase_does_so_once_then_reads_verbatim() -> None:
    simulator = RealtimeSimulator(parse_scenario(SCENARIO), api_key=KEY, stream_speed=100,
                                  paraphrase_renders=1)
    async with simulator, RealtimeWireClient(simulator.ws_url, KEY) as c:
        await c.recv()
        await c.send(out_of_band(LINE))
        first = await c.recv_until("response.done")
        await c.send(out_of_band(LINE))
        second = await c.recv_until("response.done")
    assert joined_transcript(first) != LINE
    assert joined_transcript(second) == LINE


async def test_a_bad_conversation_value_is_a_client_error(
        client: RealtimeWireClient) -> None:  # noqa: F811
    await client.send({"type": "response.create", "response": {"conversation": "other"}})
    error = await client.recv()
    assert error["type"] == "error"
    assert error["error"]["param"] == "response.conversation"
