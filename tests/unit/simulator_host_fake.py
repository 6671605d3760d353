"""A ConnectionHost for testing the Realtime simulator's connection parts one at a time:
a real ScriptCursor over a small scenario, silence for speech, and lists of what it saw."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from realtime_simulator import parse_scenario
from realtime_simulator.connection_host import ConnectionHost
from realtime_simulator.out_of_band import OutOfBandRecord
from realtime_simulator.records import TurnTiming
from realtime_simulator.scenario import ToolStep
from realtime_simulator.script import ResponsePlan, ScriptCursor
from realtime_simulator.wire import BYTES_PER_MS

SCENARIO = """
name: parts
greeting:
  - say: "Acme Plumbing, how can I help?"
turns:
  - caller: "My water heater is leaking."
    agent:
      - say: "I am sorry to hear that."
      - tool: record_field
        arguments: {field: problem, value: leak}
      - say: "What is the address?"
  - caller: "Forty two Elm Street."
    agent:
      - say: "Thank you."
"""


class FakeHost:
    """Each spoken text is speech_ms of silence, so streamed audio lengths are exact."""

    def __init__(self, *, speech_ms: int = 250, stream_speed: float = 1000.0) -> None:
        self.cursor = ScriptCursor(parse_scenario(SCENARIO))
        self.stream_speed = stream_speed
        self.speech_ms = speech_ms
        self.wire: list[tuple[str, dict[str, Any]]] = []
        self.timings: list[TurnTiming] = []
        self.out_of_band: list[OutOfBandRecord] = []
        self.tool_calls: list[tuple[str, str, int | None, str]] = []
        self.tool_outputs: list[tuple[str, str]] = []

    def record_wire_event(
        self, direction: Literal["client", "server"], event: dict[str, Any]
    ) -> None:
        self.wire.append((direction, event))

    def on_caller_segment(self) -> tuple[int | None, str | None]:
        return self.cursor.on_caller_segment()

    def next_response(self) -> ResponsePlan:
        return self.cursor.next_response()

    def record_turn_timing(self, timing: TurnTiming) -> None:
        self.timings.append(timing)

    def on_tool_called(
        self, call_id: str, step: ToolStep, turn_index: int | None, arguments: str
    ) -> None:
        self.tool_calls.append((call_id, step.tool, turn_index, arguments))

    def on_tool_output(self, call_id: str, output: str) -> None:
        self.tool_outputs.append((call_id, output))

    def out_of_band_speech(self, text: str) -> str:
        return text

    def record_out_of_band(self, record: OutOfBandRecord) -> None:
        self.out_of_band.append(record)

    async def speech_pcm(self, texts: tuple[str, ...], *, cache: bool = True) -> bytes:
        return b"\x00" * (self.speech_ms * BYTES_PER_MS * len(texts))


class SentEvents:
    """Collects what a part sends; ``send`` is the SendEvent to hand it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._sent = asyncio.Event()

    async def send(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._sent.set()

    async def wait_for(self, type_: str) -> None:
        """Until an event of this type has been sent."""
        while not self.of_type(type_):
            self._sent.clear()
            await self._sent.wait()

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]


def _is_host(host: FakeHost) -> ConnectionHost:
    return host  # mypy checks FakeHost against the Protocol
