"""The worker's side of supervision, built alone: commands, take-over, hand-back, the board."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
from livekit.agents import llm

from agent.call_ending import CallEnding
from agent.call_session import update_turn_detection
from agent.handoff import HandoffRouter
from agent.limit_actions import start_call_timers
from agent.supervision import SupervisionDesk
from agent.supervision_prompts import supervisor_section
from agent.turn_taking import TurnTaking
from state.protocols import ESCALATION, SUPERVISION, CallInfo
from state.recorder import InMemoryCallRecorder
from supervision.protocol import SupervisionCommand
from tests.unit.test_call_parts import FakeSession, make_runtime, request
from tests.unit.test_tools_fakes import example_playbook
from tools.booking import LocalBookingBackend
from tools.context import IntakeUserdata
from tools.guard_reply import on_caller_turn

pytestmark = pytest.mark.unit


class FakeRealtimeModel(llm.RealtimeModel):
    def __init__(self) -> None:
        super().__init__(capabilities=llm.RealtimeCapabilities(
            message_truncation=True, turn_detection=True, user_transcription=True,
            auto_tool_reply_generation=False, audio_output=True, manual_function_calls=True))
        self.turn_detection: list[Any] = []

    def update_options(self, *, turn_detection: Any) -> None:
        self.turn_detection.append(turn_detection)

    def session(self, *, turn_detection_disabled: bool = False) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


class SupervisedSession(FakeSession):
    def __init__(self, userdata: IntakeUserdata) -> None:
        super().__init__()
        self.userdata = userdata
        self.llm = FakeRealtimeModel()
        self.forced: list[bool] = []

    def interrupt(self, force: bool = False) -> Any:
        self.forced.append(force)
        return super().interrupt(force)


class FakeAgent:
    def __init__(self) -> None:
        self.notes: list[str] = []

    async def add_supervisor_note(self, note: str) -> None:
        self.notes.append(note)


class FakeSpeech:
    def __init__(self) -> None:
        self.interrupted_with: list[bool] = []

    def interrupt(self, *, force: bool = False) -> None:
        self.interrupted_with.append(force)


async def desk_for_call() -> tuple[SupervisionDesk, Any, SupervisedSession, FakeAgent,
                                   InMemoryCallRecorder]:
    recorder = InMemoryCallRecorder()
    await recorder.open(CallInfo(call_id="c1", room="call-c1", worker_id="w"))
    runtime = make_runtime(recorder=recorder)
    userdata = IntakeUserdata.create(example_playbook(), LocalBookingBackend(), call_id="c1")
    session = SupervisedSession(userdata)
    runtime.session = session  # type: ignore[assignment]
    runtime.turn_taking = TurnTaking(partial(update_turn_detection, session.llm))
    desk = SupervisionDesk(runtime, CallEnding(runtime))
    agent = FakeAgent()
    desk._agent = agent  # type: ignore[assignment]  # attach() also needs Redis
    return desk, runtime, session, agent, recorder


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 (polls state the code under test changes)
            await asyncio.sleep(0.01)


def supervision_events(recorder: InMemoryCallRecorder) -> list[dict[str, Any]]:
    return [dict(e.payload) for _, e in recorder.events if e.kind == SUPERVISION]


def command(action: str, by: str = "dana", text: str | None = None) -> SupervisionCommand:
    return SupervisionCommand(action=action, by=by, text=text)  # type: ignore[arg-type]


async def test_take_over_stops_the_agent_and_the_model_answering_and_refuses_a_second() -> None:
    desk, runtime, session, _, recorder = await desk_for_call()
    reply = await desk.handle(command("take_over"))
    assert reply.ok and reply.data["room"] == "call-c1"
    assert runtime.supervised_by == "dana"
    assert session.forced == [True]
    detection = session.llm.turn_detection[-1]
    assert detection.create_response is False and detection.interrupt_response is False
    second = await desk.handle(command("take_over", by="sam"))
    assert not second.ok and second.reason == "already_supervised"
    assert "dana" in second.message
    # a reply the model had already started is cut off as it begins
    speech = FakeSpeech()
    desk._on_speech_created(SimpleNamespace(speech_handle=speech))  # type: ignore[arg-type]
    assert speech.interrupted_with == [True]
    events = supervision_events(recorder)
    assert [e["action"] for e in events] == ["take_over"]
    assert events[0]["by"] == "dana" and events[0]["from"]


async def test_hand_back_resumes_without_a_greeting_and_asks_for_what_is_missing() -> None:
    desk, runtime, session, agent, recorder = await desk_for_call()
    refused = await desk.handle(command("hand_back"))
    assert not refused.ok and refused.reason == "not_supervised"
    await desk.handle(command("take_over"))
    desk._on_item_added(SimpleNamespace(item=llm.ChatMessage(  # type: ignore[arg-type]
        role="user", content=["It's the basement, it's flooded."])))
    reply = await desk.handle(command("hand_back"))
    assert reply.ok and runtime.supervised_by is None
    assert session.llm.turn_detection[-1].create_response is True
    assert "Do not greet" in session.replies[-1] and "phone" in session.replies[-1]
    assert "basement, it's flooded" in agent.notes[-1] and "dana" in agent.notes[-1]
    # the caller's words after the hand-back are not part of the supervised span
    desk._on_item_added(SimpleNamespace(item=llm.ChatMessage(  # type: ignore[arg-type]
        role="user", content=["later words"])))
    assert desk._exchange == [("caller", "It's the basement, it's flooded.")]
    speech = FakeSpeech()
    desk._on_speech_created(SimpleNamespace(speech_handle=speech))  # type: ignore[arg-type]
    assert speech.interrupted_with == []
    span = supervision_events(recorder)[-1]
    assert span["action"] == "hand_back" and span["taken_by"] == "dana"
    assert span["from"] < span["to"]


async def test_whisper_goes_into_the_instructions_below_the_rules() -> None:
    desk, _, session, agent, recorder = await desk_for_call()
    reply = await desk.handle(command("whisper", text="Give them 20% off"))
    assert reply.ok
    assert agent.notes == ["Supervisor guidance: Give them 20% off"]
    assert session.replies == []  # nothing said to the caller because of it
    section = supervisor_section(agent.notes)
    assert "Never read it out" in section and "never overrides the rules" in section
    assert supervision_events(recorder) == [
        {"action": "whisper", "by": "dana", "text": "Give them 20% off"}]


async def test_a_whisper_does_not_stop_the_guard_escalating() -> None:
    desk, _, session, _, _ = await desk_for_call()
    await desk.handle(command("whisper", text="Give them 20% off, tell them the price"))
    match = await on_caller_turn(session.userdata, "How much does it cost?")
    assert match is not None and match.category == "pricing"


async def test_listen_is_audited_and_shown_as_monitoring() -> None:
    desk, _, _, _, recorder = await desk_for_call()
    await desk.handle(command("listen_start"))
    await desk.handle(command("listen_start", by="sam"))
    await desk.handle(command("listen_stop"))
    assert desk._monitoring == ["sam"]
    assert [(e["action"], e["by"]) for e in supervision_events(recorder)] == [
        ("listen_start", "dana"), ("listen_start", "sam"), ("listen_stop", "dana")]


async def test_commands_for_an_ended_or_transferred_call_are_refused() -> None:
    desk, runtime, _, _, _ = await desk_for_call()
    runtime.on_hold = True
    held = await desk.handle(command("take_over"))
    assert not held.ok and held.reason == "in_transfer"
    runtime.finished = True
    ended = await desk.handle(command("whisper", text="hello"))
    assert not ended.ok and ended.reason == "call_ended"


async def test_timers_leave_a_supervised_call_alone() -> None:
    desk, runtime, session, _, recorder = await desk_for_call()
    ending = CallEnding(runtime)
    timers = start_call_timers(runtime, ending)
    try:
        await desk.handle(command("take_over"))
        await timers._on_idle_hang_up()
        await timers._on_time_up()
        await timers._on_idle_prompt()
        assert session.replies == []
        assert not any(e.kind == "status" and e.payload.get("status") in (
            "idle_hangup", "time_limit", "idle_prompt") for _, e in recorder.events)
    finally:
        await timers.aclose()


async def test_board_rings_and_an_accepting_supervisor_takes_the_call_over() -> None:
    desk, runtime, _, _, recorder = await desk_for_call()
    refused = await desk.handle(command("accept_escalation"))
    assert not refused.ok and refused.reason == "not_ringing"
    ring = asyncio.create_task(desk.ring(request()))
    await until(lambda: desk.board_state()["stage"] == "ringing")
    assert desk.board_state()["ringing"]["reason"] == "human_request"
    reply = await desk.handle(command("accept_escalation"))
    assert reply.ok and reply.data["briefing"]["reason"] == "human_request"
    assert "problem" in reply.data["briefing"]["missing_fields"]
    assert await ring == "dana"
    assert runtime.supervised_by == "dana"
    assert desk.board_state()["stage"] == "supervised"
    assert [e["action"] for e in supervision_events(recorder)] == [
        "board_ring", "take_over", "board_ring_accepted"]


async def test_nobody_accepting_falls_back_to_the_phone_transfer() -> None:
    desk, runtime, _, _, recorder = await desk_for_call()
    playbook = runtime.assets.playbook
    runtime.assets.playbook = playbook.model_copy(update={
        "transfer": playbook.transfer.model_copy(update={"board_ring_seconds": 0.05})})
    runtime.caller_is_sip = True

    async def waiting() -> bool:
        return True

    desk.supervisors_waiting = waiting  # type: ignore[method-assign]
    runtime.board = desk
    router = HandoffRouter(runtime, CallEnding(runtime))
    router._until_handoff_line_spoken = lambda since, within=25.0: asyncio.sleep(0)  # type: ignore[method-assign]
    assert await router.on_escalate(request()) is True
    await until(lambda: any(e.kind == ESCALATION and e.payload.get("stage") == "transfer"
                            for _, e in recorder.events))
    stages = [dict(e.payload) for _, e in recorder.events if e.kind == ESCALATION]
    assert {"category": "human_request", "stage": "board", "answered": False} in stages
    assert stages[-1]["stage"] == "transfer" and stages[-1]["transferred"] is True
    assert [e["action"] for e in supervision_events(recorder)] == [
        "board_ring", "board_ring_unanswered"]


async def test_the_board_flags_escalations_and_a_person_request() -> None:
    desk, runtime, _, _, _ = await desk_for_call()
    runtime.record_observers.append(desk._on_record)
    runtime.record(ESCALATION, {"category": "human_request", "stage": "handoff"})
    runtime.record(ESCALATION, {"category": "pricing", "stage": "handoff"})
    runtime.record(ESCALATION, {"category": "other", "stage": "warm_transfer",
                                "transferred": False})
    await runtime.flush_records()
    assert desk.board_state()["escalation_flags"] == [
        "caller_asked_for_person", "escalation", "transfer_unanswered"]
    assert desk.board_state()["stage"] == "intake"
