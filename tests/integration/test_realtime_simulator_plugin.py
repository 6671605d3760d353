"""The real livekit-plugins-openai RealtimeModel, unchanged, against the simulator."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from livekit import rtc
from livekit.agents import llm
from livekit.plugins.openai import realtime
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from realtime_simulator import RealtimeSimulator, parse_scenario, synthesize_pcm16
from realtime_simulator.speech import silence_pcm16

# needs no outside servers: the simulator runs in-process
pytestmark = pytest.mark.unit

API_KEY = "sk-simulated"
SAMPLE_RATE = 48000
FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms, as a LiveKit audio track delivers them

SCENARIO = """
name: plugin-round-trip
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    agent:
      - say: "I'm sorry to hear that."
      - tool: record_field
        arguments: {field: problem, value: water heater leak}
        expect_output_contains: problem
      - say: "Noted. What is the address?"
  - hangup: true
"""


def _frames(pcm: bytes) -> list[rtc.AudioFrame]:
    step = FRAME_SAMPLES * 2
    pcm += b"\x00" * (-len(pcm) % step)
    return [
        rtc.AudioFrame(
            data=pcm[i : i + step],
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            samples_per_channel=FRAME_SAMPLES,
        )
        for i in range(0, len(pcm), step)
    ]


async def _drain(gen: llm.GenerationCreatedEvent) -> tuple[str, int, list[llm.FunctionCall]]:
    """Read a generation the way the agent session does: text, audio bytes, function calls."""
    text = ""
    audio_bytes = 0
    async for message in gen.message_stream:

        async def read_text(m: llm.MessageGeneration = message) -> str:
            return "".join([t async for t in m.text_stream])

        async def read_audio(m: llm.MessageGeneration = message) -> int:
            return sum([len(f.data) * 2 async for f in m.audio_stream])

        got_text, got_audio = await asyncio.gather(read_text(), read_audio())
        text += got_text
        audio_bytes += got_audio
    calls = [fc async for fc in gen.function_stream]
    return text, audio_bytes, calls


async def test_plugin_hears_caller_speaks_reply_and_calls_tool() -> None:
    sim = RealtimeSimulator(parse_scenario(SCENARIO), api_key=API_KEY, stream_speed=50)
    await sim.start()
    http = aiohttp.ClientSession()
    model = realtime.RealtimeModel(
        base_url=sim.base_url,
        api_key=API_KEY,
        http_session=http,
        turn_detection=ServerVad(
            type="server_vad",
            threshold=0.5,
            prefix_padding_ms=300,
            silence_duration_ms=400,
            create_response=True,
            interrupt_response=True,
        ),
    )
    session = model.session()
    generations: asyncio.Queue[llm.GenerationCreatedEvent] = asyncio.Queue()
    transcripts: list[str] = []
    session.on("generation_created", generations.put_nowait)
    session.on(
        "input_audio_transcription_completed",
        lambda ev: transcripts.append(ev.transcript) if ev.is_final else None,
    )
    try:
        speech = synthesize_pcm16("Hi, my water heater is leaking in the basement.", SAMPLE_RATE)
        for frame in _frames(speech + silence_pcm16(800, SAMPLE_RATE)):
            session.push_audio(frame)

        first = await asyncio.wait_for(generations.get(), 10)
        text, audio_bytes, calls = await asyncio.wait_for(_drain(first), 10)
        assert text == "I'm sorry to hear that."
        assert audio_bytes > 0
        assert [(c.name, json.loads(c.arguments)) for c in calls] == [
            ("record_field", {"field": "problem", "value": "water heater leak"})
        ]
        assert transcripts == ["Hi, my water heater is leaking in the basement."]

        # what the agent session does after running the tool: send its output, ask for more
        chat_ctx = session.chat_ctx.copy()
        chat_ctx.items.append(
            llm.FunctionCallOutput(
                call_id=calls[0].call_id,
                name="record_field",
                output="recorded problem",
                is_error=False,
            )
        )
        await session.update_chat_ctx(chat_ctx)
        second = await asyncio.wait_for(session.generate_reply(), 10)
        assert second.user_initiated
        text, audio_bytes, calls = await asyncio.wait_for(_drain(second), 10)
        assert text == "Noted. What is the address?"
        assert audio_bytes > 0
        assert calls == []

        assert [(r.name, r.output, r.expectation_met) for r in sim.tool_calls_received] == [
            ("record_field", "recorded problem", True)
        ]
        assert sim.connections == 1
        assert sim.events("server", "error") == []
    finally:
        await session.aclose()
        await model.aclose()
        await http.close()
        await sim.stop()
