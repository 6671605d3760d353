"""The simulator's session config, turn-detection parsing and input audio buffer, on their own."""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np
import pytest

from realtime_simulator.client_errors import ClientError
from realtime_simulator.conversation import ConversationItems
from realtime_simulator.input_audio import (
    CallerAudioMarks,
    InputAudioBuffer,
    TurnDetection,
    turn_detection_from,
)
from realtime_simulator.script import ResponsePlan
from realtime_simulator.session_config import SessionConfig
from realtime_simulator.wire import SAMPLE_RATE

from .simulator_host_fake import FakeHost, SentEvents

pytestmark = pytest.mark.unit


def tone(ms: int) -> bytes:
    """A loud 300 Hz tone: speech as far as an energy detector can tell."""
    t = np.arange(SAMPLE_RATE * ms // 1000) / SAMPLE_RATE
    return (np.sin(2 * np.pi * 300 * t) * 8000).astype("<i2").tobytes()


def silence(ms: int) -> bytes:
    return b"\x00\x00" * (SAMPLE_RATE * ms // 1000)


def append(pcm: bytes) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}


class FakeResponder:
    def __init__(self) -> None:
        self.interrupts = 0
        self.started: list[tuple[ResponsePlan, str]] = []

    async def interrupt_for_caller(self) -> None:
        self.interrupts += 1

    def start_response(
        self, plan: ResponsePlan, *, trigger: Literal["server_vad", "client"], metadata: Any
    ) -> None:
        self.started.append((plan, trigger))


class Rig:
    def __init__(self, session_update: dict[str, Any] | None = None) -> None:
        self.host = FakeHost()
        self.sent = SentEvents()
        self.session = SessionConfig("gpt-realtime")
        if session_update is not None:
            self.session.apply_update(session_update)
        self.items = ConversationItems()
        self.responder = FakeResponder()
        self.marks = CallerAudioMarks()
        self.buffer = InputAudioBuffer(
            self.host,
            self.sent.send,
            session=self.session,
            items=self.items,
            responder=self.responder,
            marks=self.marks,
        )


# ---- turn detection config --------------------------------------------------------------


def test_no_turn_detection_object_turns_detection_off() -> None:
    assert turn_detection_from(None) == TurnDetection(enabled=False)


def test_server_vad_fields_and_their_defaults() -> None:
    assert turn_detection_from({"type": "server_vad"}) == TurnDetection(enabled=True)
    parsed = turn_detection_from(
        {
            "type": "server_vad",
            "threshold": 0.8,
            "prefix_padding_ms": 100.0,
            "silence_duration_ms": 250,
            "create_response": False,
            "interrupt_response": False,
        }
    )
    assert parsed == TurnDetection(
        enabled=True,
        threshold=0.8,
        prefix_padding_ms=100,
        silence_duration_ms=250,
        create_response=False,
        interrupt_response=False,
    )
    assert turn_detection_from({"type": "server_vad", "threshold": "loud"}).threshold == 0.5


@pytest.mark.parametrize(
    ("eagerness", "silence_ms"), [("low", 1000), ("medium", 600), (None, 600), ("high", 300)]
)
def test_semantic_vad_eagerness_becomes_a_silence_window(
    eagerness: str | None, silence_ms: int
) -> None:
    parsed = turn_detection_from({"type": "semantic_vad", "eagerness": eagerness})
    assert parsed.enabled
    assert parsed.silence_duration_ms == silence_ms


# ---- session config ---------------------------------------------------------------------


def test_flat_turn_detection_moves_under_audio_input() -> None:
    session = SessionConfig("gpt-realtime")
    session.apply_update({"turn_detection": {"type": "semantic_vad", "eagerness": "high"}})
    assert session.turn_detection == {"type": "semantic_vad", "eagerness": "high"}
    assert "turn_detection" not in session.view()


@pytest.mark.parametrize(
    ("update", "param"),
    [
        (None, "session"),
        ({"type": "transcription"}, "session.type"),
        ({"audio": {"input": {"turn_detection": {"type": "push"}}}}, None),
        ({"audio": {"output": {"format": {"type": "audio/pcmu"}}}}, "session.audio.output.format"),
        (
            {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
            "session.audio.input.format",
        ),
    ],
)
def test_a_rejected_update_changes_nothing(update: Any, param: str | None) -> None:
    session = SessionConfig("gpt-realtime")
    before = session.view()
    with pytest.raises(ClientError) as caught:
        session.apply_update(update)
    if param is not None:
        assert caught.value.param == param
    assert session.view() == before


def test_view_is_a_copy() -> None:
    session = SessionConfig("gpt-realtime")
    session.view()["audio"]["input"]["turn_detection"] = None
    assert session.turn_detection is not None


# ---- input audio buffer -----------------------------------------------------------------


async def test_a_spoken_segment_is_detected_committed_and_answered() -> None:
    rig = Rig()
    await rig.buffer.on_append(append(silence(400) + tone(600) + silence(900)))
    assert rig.sent.types() == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    started, stopped, committed = rig.sent.events[:3]
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    assert committed["previous_item_id"] is None
    assert rig.items.ids() == [committed["item_id"]]
    assert rig.responder.interrupts == 1
    [(plan, trigger)] = rig.responder.started
    assert trigger == "server_vad"
    assert plan.turn_index == 0
    assert rig.marks.input_audio_ms == 1900
    assert rig.marks.last_stop_at is not None
    assert rig.marks.last_silence_ms is not None


async def test_turn_detection_flags_are_obeyed() -> None:
    rig = Rig(
        {
            "turn_detection": {
                "type": "server_vad",
                "create_response": False,
                "interrupt_response": False,
            }
        }
    )
    await rig.buffer.on_append(append(silence(400) + tone(600) + silence(900)))
    assert "input_audio_buffer.committed" in rig.sent.types()
    assert rig.responder.interrupts == 0
    assert rig.responder.started == []


async def test_without_turn_detection_the_client_commits() -> None:
    rig = Rig({"audio": {"input": {"turn_detection": None, "transcription": {"model": "x"}}}})
    await rig.buffer.on_append(append(silence(100) + tone(600) + silence(900)))
    assert rig.sent.events == []
    await rig.buffer.on_commit({"type": "input_audio_buffer.commit"})
    assert rig.sent.types() == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.completed",
    ]
    transcribed = rig.sent.events[-1]
    assert transcribed["transcript"] == "My water heater is leaking."
    assert transcribed["usage"] == {"type": "duration", "seconds": 1.6}
    assert rig.marks.last_silence_ms is None
    assert rig.responder.started == []


async def test_a_commit_needs_100_ms_and_clear_empties_the_buffer() -> None:
    rig = Rig({"turn_detection": None})
    await rig.buffer.on_append(append(silence(200)))
    await rig.buffer.on_clear({"type": "input_audio_buffer.clear"})
    await rig.buffer.on_append(append(silence(90)))
    with pytest.raises(ClientError) as caught:
        await rig.buffer.on_commit({"type": "input_audio_buffer.commit"})
    assert caught.value.code == "input_audio_buffer_commit_empty"
    assert rig.sent.types() == ["input_audio_buffer.cleared"]


async def test_a_silent_commit_takes_no_caller_line_from_the_script() -> None:
    rig = Rig({"turn_detection": None})
    await rig.buffer.on_append(append(silence(300)))
    await rig.buffer.on_commit({"type": "input_audio_buffer.commit"})
    assert rig.host.cursor.current_turn is None
    assert rig.host.cursor.unscripted_segments == 0


@pytest.mark.parametrize(
    ("audio", "code"),
    [
        (None, "missing_required_parameter"),
        ("not base64!", "invalid_value"),
        (base64.b64encode(b"\x00\x00\x00").decode(), "invalid_value"),
    ],
)
async def test_bad_audio_is_rejected(audio: Any, code: str) -> None:
    rig = Rig()
    with pytest.raises(ClientError) as caught:
        await rig.buffer.on_append({"type": "input_audio_buffer.append", "audio": audio})
    assert caught.value.code == code
    assert rig.marks.input_audio_ms == 0
