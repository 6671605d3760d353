"""What the simulator observed, for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple


class WireEvent(NamedTuple):
    """One event on the wire; base64 audio payloads are replaced by their byte length."""

    direction: Literal["client", "server"]
    at: float
    """time.monotonic() when the event was received or sent."""
    event: dict[str, Any]


@dataclass
class TurnTiming:
    """One model response and the timing that led to it (times are time.monotonic())."""

    turn_index: int | None
    """Index into Scenario.turns; None for the greeting and for unscripted replies."""
    response_id: str
    trigger: Literal["server_vad", "client"]
    speech_stopped_at: float | None
    """When speech_stopped (or, without server VAD, committed) went out for the caller line
    this response is the first reply to; None for follow-ups after a tool call."""
    silence_window_ms: int | None
    """Silence the detector measured before it declared the caller's speech stopped."""
    reply_delay_ms: int
    created_at: float
    first_audio_at: float | None = None
    done_at: float | None = None
    status: str = "in_progress"


@dataclass
class ToolCallRecord:
    """A function_call_output the client sent back, matched to the call the script made."""

    call_id: str
    output: str
    received_at: float
    name: str | None = None
    arguments: str | None = None
    turn_index: int | None = None
    expected_output_contains: str | None = None
    expectation_met: bool | None = None
    """None when the script set no expectation (or the call id is unknown)."""
