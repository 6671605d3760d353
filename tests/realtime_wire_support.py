"""What the Realtime simulator's wire tests share: the scenario, a simulator and a connected
plain WebSocket client (fixtures), and helpers to read the events they get."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from realtime_simulator import RealtimeSimulator, parse_scenario, synthesize_pcm16
from realtime_simulator.speech import silence_pcm16
from realtime_simulator.wire_client import RealtimeWireClient

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
