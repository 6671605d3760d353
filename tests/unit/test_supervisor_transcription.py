"""The supervisor's speech during a take-over: transcribed into the record and the hand-back
note (against the simulator's transcription endpoint), and a failing endpoint costs nothing."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from livekit import rtc
from livekit.agents import llm

from agent.config import WorkerSettings
from agent.supervision_prompts import MAX_EXCHANGE, hand_back_note, supervisor_section
from agent.supervisor_transcription import SupervisorTranscriber, build_supervisor_stt
from realtime_simulator import RealtimeSimulator, parse_scenario, synthesize_pcm16
from state.protocols import TURN
from tests.unit.test_supervision_desk import command, desk_for_call

pytestmark = pytest.mark.unit

KEY = "sk-test"
RATE = 16000
SAID = "We can send someone on Thursday morning."
SCENARIO = f'name: s\nsupervisor_lines:\n  - "{SAID}"\nturns:\n  - hangup: true\n'


def settings_for(base_url: str, key: str, model: str = "gpt-transcribe") -> WorkerSettings:
    return WorkerSettings(
        livekit_url="ws://127.0.0.1:7880", livekit_api_key="k", livekit_api_secret="s" * 32,
        agent_name="a", playbook_path=Path("p.yaml"), openai_api_key=key,
        openai_base_url=base_url, realtime_model="gpt-realtime-2.1", realtime_voice="marin",
        redis_url=None, database_url=None, business_api_base=None, production=False,
        supervisor_transcription_model=model)


def speech_frame(text: str = "Hello there.") -> rtc.AudioFrame:
    pcm = synthesize_pcm16(text, RATE)
    return rtc.AudioFrame(pcm, RATE, 1, len(pcm) // 2)


class FakeRoom:
    """What the transcriber asks of the room when no supervisor has published yet."""

    def __init__(self) -> None:
        self.name = "call-c1"
        self.handlers: dict[str, Any] = {}
        self.remote_participants: dict[str, Any] = {}

    def on(self, event: str, handler: Any) -> None:
        self.handlers[event] = handler

    def off(self, event: str, handler: Any) -> None:
        assert self.handlers.pop(event) == handler


@pytest.fixture
async def sim() -> AsyncIterator[RealtimeSimulator]:
    async with RealtimeSimulator(parse_scenario(SCENARIO), api_key=KEY) as simulator:
        yield simulator


# --- the hand-back note -------------------------------------------------------------------------

def test_the_hand_back_note_gives_the_exchange_in_order_under_the_rules() -> None:
    note = hand_back_note("dana", [("supervisor", "Hi, this is Dana."),
                                   ("caller", "Can you come Thursday?"),
                                   ("supervisor", "Yes, Thursday morning works.")],
                          supervisor_transcribed=True)
    assert ('Supervisor: "Hi, this is Dana." / Caller: "Can you come Thursday?" / '
            'Supervisor: "Yes, Thursday morning works."') in note
    assert "dana" in note and "lifts none of the rules" in note
    # in the instructions it sits in the section the rules outrank
    assert "never overrides the rules" in supervisor_section([note])


def test_without_transcription_the_note_says_so_and_keeps_the_caller() -> None:
    note = hand_back_note("dana", [("caller", "Okay, thanks.")], supervisor_transcribed=False)
    assert "were not transcribed" in note and 'Caller: "Okay, thanks."' in note
    empty = hand_back_note("dana", [], supervisor_transcribed=True)
    assert "nothing transcribed" in empty


def test_a_long_take_over_keeps_the_latest_lines() -> None:
    exchange = [("caller", f"line {i}") for i in range(MAX_EXCHANGE + 5)]
    note = hand_back_note("dana", exchange, supervisor_transcribed=True)
    assert '"line 4"' not in note and f'"line {MAX_EXCHANGE + 4}"' in note


def test_off_unless_a_model_is_configured() -> None:
    assert build_supervisor_stt(settings_for("http://127.0.0.1:9/v1", KEY, model="")) is None


# --- the desk: take over, the supervisor speaks, hand back ----------------------------------------

async def test_what_the_supervisor_says_is_a_turn_and_reaches_the_hand_back_note(
        sim: RealtimeSimulator) -> None:
    desk, runtime, session, agent, recorder = await desk_for_call()
    runtime.assets.settings = settings_for(sim.base_url, KEY)
    runtime.assets.vad = object()  # no supervisor track is published in this test
    room = FakeRoom()
    runtime.ctx.room = room
    await desk.handle(command("take_over"))
    transcriber = desk._transcriber
    await asyncio.sleep(0)  # its task subscribes to the room
    assert transcriber is not None and "track_published" in room.handlers
    await transcriber._recognize(speech_frame())  # one utterance, as the VAD cuts it
    desk._on_item_added(SimpleNamespace(item=llm.ChatMessage(  # type: ignore[arg-type]
        role="user", content=["Thursday is great."])))
    await desk.handle(command("hand_back"))
    assert desk._transcriber is None and room.handlers == {}  # stopped, listeners gone
    assert f'Supervisor: "{SAID}" / Caller: "Thursday is great."' in agent.notes[-1]
    assert "Do not greet" in session.replies[-1]
    await runtime.flush_records()
    turns = [dict(e.payload) for _, e in recorder.events if e.kind == TURN]
    assert turns == [{"role": "supervisor", "text": SAID, "by": "dana", "interrupted": False}]
    assert sim.transcriptions[0].speech
    assert not [t for t in runtime.tasks if not t.done()]


async def test_with_transcription_off_the_take_over_works_as_before() -> None:
    desk, _, _, agent, _ = await desk_for_call()
    await desk.handle(command("take_over"))
    assert desk._transcriber is None
    await desk.handle(command("hand_back"))
    assert "were not transcribed" in agent.notes[-1]


# --- failures: logged with a fixed message, the utterance lost, nothing else --------------------

async def _transcriber_at(base_url: str) -> tuple[SupervisorTranscriber, list[str]]:
    built = build_supervisor_stt(settings_for(base_url, KEY))
    assert built is not None
    heard: list[str] = []

    async def on_text(text: str) -> None:
        heard.append(text)

    room: Any = FakeRoom()
    return SupervisorTranscriber(room, object(), *built, "dana", on_text,  # type: ignore[arg-type]
                                 {"call_id": "c1"}), heard


async def test_a_dead_endpoint_is_logged_and_costs_only_the_utterance(
        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    transcriber, heard = await _transcriber_at(f"http://127.0.0.1:{port}/v1")
    with caplog.at_level(logging.WARNING, logger="intake.supervision"):
        await transcriber._recognize(speech_frame())
        await transcriber._recognize(speech_frame())
    await transcriber._client.close()
    assert heard == [] and transcriber.failures == 2
    messages = [r.getMessage() for r in caplog.records if r.name == "intake.supervision"]
    assert messages == ["supervisor speech not transcribed"] * 2


async def test_a_bad_reply_is_logged_and_the_next_utterance_still_transcribed(
        caplog: pytest.LogCaptureFixture) -> None:
    replies = ["garbage", "ok"]

    async def transcribe(request: web.Request) -> web.Response:
        await request.read()
        if replies.pop(0) == "garbage":
            return web.Response(text="<html>proxy error</html>", content_type="text/html")
        return web.json_response({"text": "second try"})

    app = web.Application()
    app.router.add_post("/v1/audio/transcriptions", transcribe)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        transcriber, heard = await _transcriber_at(f"http://127.0.0.1:{port}/v1")
        with caplog.at_level(logging.WARNING, logger="intake.supervision"):
            await transcriber._recognize(speech_frame())
            await transcriber._recognize(speech_frame())
        await transcriber._client.close()
    finally:
        await runner.cleanup()
    assert heard == ["second try"] and transcriber.failures == 1
    assert [r.getMessage() for r in caplog.records if r.name == "intake.supervision"] == [
        "supervisor speech not transcribed"]
