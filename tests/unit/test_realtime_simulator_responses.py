"""The simulator's responses on their own: create, cancel, interruption and what one
response streams into the conversation."""

from __future__ import annotations

import asyncio
import json

import pytest

from realtime_simulator.client_errors import ClientError
from realtime_simulator.conversation import ConversationItems
from realtime_simulator.input_audio import CallerAudioMarks
from realtime_simulator.response_stream import CHUNK_MS
from realtime_simulator.responses import ResponseRunner
from realtime_simulator.session_config import SessionConfig

from .simulator_host_fake import FakeHost, SentEvents

pytestmark = pytest.mark.unit


class Rig:
    def __init__(self, *, speech_ms: int = 250, stream_speed: float = 1000.0) -> None:
        self.host = FakeHost(speech_ms=speech_ms, stream_speed=stream_speed)
        self.sent = SentEvents()
        self.items = ConversationItems()
        self.marks = CallerAudioMarks()
        self.runner = ResponseRunner(
            self.host,
            self.sent.send,
            session=SessionConfig("gpt-realtime"),
            items=self.items,
            marks=self.marks,
        )


async def test_the_greeting_streams_audio_and_transcript_into_the_conversation() -> None:
    rig = Rig(speech_ms=250)
    await asyncio.wait_for(rig.runner.on_response_create({"type": "response.create"}), 1)
    await asyncio.wait_for(rig.sent.wait_for("response.done"), 5)
    types = rig.sent.types()
    assert types[:4] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert types[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    deltas = rig.sent.of_type("response.output_audio.delta")
    assert len(deltas) == 250 // CHUNK_MS + 1
    transcript = "".join(
        e["delta"] for e in rig.sent.of_type("response.output_audio_transcript.delta")
    )
    assert transcript == "Acme Plumbing, how can I help?"
    done = rig.sent.of_type("response.done")[0]["response"]
    assert done["status"] == "completed"
    assert done["conversation_id"] == rig.items.conversation_id
    [item_id] = rig.items.ids()
    stored = rig.items.get(item_id)
    assert stored is not None and stored["status"] == "completed"
    assert stored["content"][0]["transcript"] == transcript
    assert rig.items.audio_ms(item_id) == 250
    [timing] = rig.host.timings
    assert timing.trigger == "client" and timing.status == "completed"
    assert timing.done_at is not None


async def test_a_tool_step_streams_a_function_call_and_tells_the_host() -> None:
    rig = Rig()
    rig.host.cursor.next_response()  # the greeting, not streamed here
    rig.host.cursor.on_caller_segment()
    rig.runner.start_response(rig.host.next_response(), trigger="server_vad", metadata=None)
    await asyncio.wait_for(rig.sent.wait_for("response.done"), 5)
    [(call_id, tool, turn_index, arguments)] = rig.host.tool_calls
    assert (tool, turn_index) == ("record_field", 0)
    assert json.loads(arguments) == {"field": "problem", "value": "leak"}
    args_done = rig.sent.of_type("response.function_call_arguments.done")[0]
    assert args_done["call_id"] == call_id
    pieces = rig.sent.of_type("response.function_call_arguments.delta")
    assert "".join(p["delta"] for p in pieces) == arguments
    output = rig.sent.of_type("response.done")[0]["response"]["output"]
    assert [o["type"] for o in output] == ["message", "function_call"]
    stored = rig.items.get(output[1]["id"])
    assert stored is not None and stored["arguments"] == arguments
    assert rig.items.ids() == [o["id"] for o in output]


async def test_only_one_response_at_a_time_and_cancel_ends_it() -> None:
    rig = Rig(speech_ms=5000, stream_speed=1.0)
    await rig.runner.on_response_create({"type": "response.create"})
    with pytest.raises(ClientError) as busy:
        await rig.runner.on_response_create({"type": "response.create"})
    assert busy.value.code == "conversation_already_has_active_response"
    with pytest.raises(ClientError) as wrong:
        await rig.runner.on_response_cancel({"response_id": "resp_other"})
    assert wrong.value.code == "response_cancel_not_active"
    await asyncio.wait_for(rig.runner.on_response_cancel({"type": "response.cancel"}), 2)
    done = rig.sent.of_type("response.done")[0]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    with pytest.raises(ClientError):
        await rig.runner.on_response_cancel({"type": "response.cancel"})


async def test_caller_speech_interrupts_and_the_message_stays_incomplete() -> None:
    rig = Rig(speech_ms=5000, stream_speed=1.0)
    await rig.runner.on_response_create({"type": "response.create"})
    await asyncio.wait_for(rig.sent.wait_for("response.output_audio.delta"), 2)
    await asyncio.wait_for(rig.runner.interrupt_for_caller(), 2)
    types = rig.sent.types()
    assert "response.output_audio.done" not in types
    done = rig.sent.of_type("response.done")[0]["response"]
    assert done["status_details"]["reason"] == "turn_detected"
    assert done["output"][0]["status"] == "incomplete"
    [item_id] = rig.items.ids()
    heard = rig.items.audio_ms(item_id)
    assert heard is not None and 0 < heard < 5000
    await rig.runner.interrupt_for_caller()  # nothing active: nothing sent
    assert rig.sent.types() == types


async def test_close_stops_the_stream_without_response_done() -> None:
    rig = Rig(speech_ms=5000, stream_speed=1.0)
    await rig.runner.on_response_create({"type": "response.create"})
    await asyncio.wait_for(rig.sent.wait_for("response.output_audio.delta"), 2)
    await asyncio.wait_for(rig.runner.close(), 2)
    assert rig.sent.of_type("response.done") == []


async def test_a_first_reply_reports_the_caller_stop_that_led_to_it() -> None:
    rig = Rig()
    rig.host.cursor.next_response()
    rig.host.cursor.on_caller_segment()
    rig.marks.last_stop_at = 12.5
    rig.marks.last_silence_ms = 480
    rig.marks.input_audio_ms = 2000
    rig.runner.start_response(rig.host.next_response(), trigger="server_vad", metadata=None)
    await asyncio.wait_for(rig.sent.wait_for("response.done"), 5)
    [timing] = rig.host.timings
    assert (timing.speech_stopped_at, timing.silence_window_ms) == (12.5, 480)
    usage = rig.sent.of_type("response.done")[0]["response"]["usage"]
    assert usage["input_tokens"] == 2000 // 50
