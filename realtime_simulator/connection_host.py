"""What a connection's parts depend on: the simulator that accepted it (the shared script,
the observation records, rendered speech) and the socket's send. The server implements
ConnectionHost; the connection modules know this interface only, never the server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from .out_of_band import OutOfBandRecord
from .records import TurnTiming
from .scenario import ToolStep
from .script import ResponsePlan

SendEvent = Callable[[dict[str, Any]], Awaitable[None]]
"""Sends one server event to the client and logs it."""


class ConnectionHost(Protocol):
    """The simulator as one Realtime connection sees it."""

    @property
    def stream_speed(self) -> float:
        """Audio is streamed this many times faster than real time."""
        ...

    def record_wire_event(
        self, direction: Literal["client", "server"], event: dict[str, Any]
    ) -> None:
        """Log one event received from or sent to the client."""
        ...

    def on_caller_segment(self) -> tuple[int | None, str | None]:
        """A caller speech segment was committed: (turn index, caller text) from the script,
        or (None, None) past its end."""
        ...

    def next_response(self) -> ResponsePlan:
        """Take what the model says in its next response from the script."""
        ...

    def record_turn_timing(self, timing: TurnTiming) -> None:
        """A response was created; its timing is filled in as it streams."""
        ...

    def on_tool_called(
        self, call_id: str, step: ToolStep, turn_index: int | None, arguments: str
    ) -> None:
        """The model called a tool; its output may arrive later under call_id."""
        ...

    def on_tool_output(self, call_id: str, output: str) -> None:
        """The client sent a function_call_output item."""
        ...

    def out_of_band_speech(self, text: str) -> str:
        """What the model says when an out-of-band response asks it to speak ``text``."""
        ...

    def record_out_of_band(self, record: OutOfBandRecord) -> None:
        """An out-of-band response finished streaming."""
        ...

    async def speech_pcm(self, texts: tuple[str, ...], *, cache: bool = True) -> bytes:
        """PCM16 mono audio at the wire's sample rate saying each text in turn; `cache`
        False for text a client sent (it may carry caller data)."""
        ...
