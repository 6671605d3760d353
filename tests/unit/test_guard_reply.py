"""GuardResponder: the guard's escalation is acted on whatever the model does, without cutting
the model's reply (and so its tool calls) short. A stand-in session records what it was asked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from livekit.agents.voice import SpeechHandle

from tests.unit.test_tools_fakes import ctx, make_call
from tools.context import IntakeUserdata
from tools.guard_reply import GuardResponder, on_caller_turn
from tools.intake_tools import record_field

pytestmark = pytest.mark.unit

FRAMES: list[Any] = ["frame-1", "frame-2"]  # only passed through


class StandInSession:
    def __init__(self, ud: IntakeUserdata) -> None:
        self.userdata = ud
        self.said: list[tuple[str, bool]] = []
        self.replies: list[str] = []
        self.interrupted = 0
        self.handlers: dict[str, list[Callable[[Any], None]]] = {}

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        self.handlers.setdefault(event, []).append(handler)

    def off(self, event: str, handler: Callable[[Any], None]) -> None:
        self.handlers[event].remove(handler)

    def emit(self, event: str, payload: Any) -> None:
        for handler in list(self.handlers.get(event, [])):
            handler(payload)

    def say(self, text: str, *, audio: Any, allow_interruptions: bool) -> SpeechHandle:
        self.said.append((text, allow_interruptions))
        handle = SpeechHandle.create(allow_interruptions=allow_interruptions)
        asyncio.get_running_loop().call_later(0.05, handle._mark_done)  # played out
        return handle

    def generate_reply(self, *, instructions: str, **_: Any) -> SpeechHandle:
        self.replies.append(instructions)
        return SpeechHandle.create()

    def interrupt(self) -> None:
        self.interrupted += 1

    def model_reply(self) -> SpeechHandle:
        handle = SpeechHandle.create()
        self.emit("speech_created", SimpleNamespace(source="generate_reply",
                                                    speech_handle=handle))
        return handle


def _responder(ud: IntakeUserdata) -> tuple[GuardResponder, StandInSession]:
    session = StandInSession(ud)
    playbook = ud.playbook
    frames = {t.say: FRAMES for t in playbook.escalation.values()}
    return GuardResponder(cast(Any, session), frames), session


async def test_a_follow_up_with_no_tool_call_is_said_then_the_model_is_steered_back() -> None:
    ud, _, callbacks = make_call()
    responder, session = _responder(ud)
    match = await on_caller_turn(ud, "what do you guys charge for that")
    assert match is not None
    reply = await responder.act(match)
    say = ud.playbook.escalation["pricing"].say
    assert session.said == [(say, False)]  # pre-rendered, not interruptible
    assert session.interrupted == 0  # the model's own reply was not cut short
    (instructions,) = session.replies
    assert say in instructions and "prices" in instructions and "What's going on" in instructions
    assert reply.action == "follow_up" and callbacks.escalations[0].source == "guard"


async def test_the_model_s_tool_call_on_that_turn_runs_and_its_output_carries_the_note() -> None:
    ud, _, _ = make_call()
    responder, session = _responder(ud)
    match = await on_caller_turn(ud, "my faucet drips, how much would that cost?")
    assert match is not None
    model = session.model_reply()  # the model's reply to the same turn, with a tool call
    acting = asyncio.create_task(responder.act(match))
    await asyncio.sleep(0)  # the line starts: the worker acts right after the guard fired
    out = await record_field(ctx(ud), field="problem", value="faucet drips")
    assert out.startswith("Noted problem.")
    assert ud.playbook.escalation["pricing"].say in out  # the model hears what was said
    session.emit("function_tools_executed", SimpleNamespace())
    await asyncio.wait_for(acting, 5)
    model._mark_done()
    assert session.replies == []  # the tool reply steers the model; no second reply
    assert ud.checklist.slot("problem").value == "faucet drips"


async def test_a_transfer_waits_for_the_line_and_the_turn_s_tools() -> None:
    ud, _, callbacks = make_call()
    responder, session = _responder(ud)
    match = await on_caller_turn(ud, "water is pouring through the ceiling at 42 Elm Street")
    assert match is not None and match.category == "urgent"
    (request,) = callbacks.escalations
    assert request.handoff_ready is not None and not request.handoff_ready.is_set()
    model = session.model_reply()
    ud.tools_running = 1  # the model's record_field is running
    acting = asyncio.create_task(responder.act(match))
    await asyncio.sleep(0.3)
    assert session.said and not request.handoff_ready.is_set()
    ud.tools_running = 0
    model._mark_done()
    await asyncio.wait_for(acting, 5)
    assert request.handoff_ready.is_set()
    assert session.replies == []  # a transfer is not steered back to the intake


async def test_tool_outputs_on_later_turns_carry_no_note() -> None:
    ud, _, _ = make_call()
    responder, _session = _responder(ud)
    match = await on_caller_turn(ud, "is it going to be expensive")
    assert match is not None
    await responder.act(match)
    await on_caller_turn(ud, "It's at 42 Elm Street")
    out = await record_field(ctx(ud), field="location", value="42 Elm Street")
    assert "was just told" not in out


async def test_the_line_starts_before_the_escalation_is_stored() -> None:
    """A store that takes a moment (Redis under load) must not let the model's reply play
    first: the caller answered that reply over the guard's line (eval bank, noisy-line-car)."""
    from tools.guard_reply import check_caller_turn, record_guard_match

    ud, _, _ = make_call()
    responder, session = _responder(ud)
    release = asyncio.Event()
    stored: list[str] = []

    class SlowRecorder:
        async def record(self, kind: str, payload: dict[str, Any]) -> None:
            await release.wait()
            stored.append(kind)

    ud.recorder = cast(Any, SlowRecorder())
    match = check_caller_turn(ud, "water is pouring through the ceiling")
    assert match is not None and match.category == "urgent"
    started = responder.start_line(match)
    storing = asyncio.create_task(record_guard_match(ud, match))
    await asyncio.sleep(0.01)
    assert [text for text, _ in session.said] == [ud.playbook.escalation["urgent"].say]
    assert not stored and started.handle is not None
    release.set()
    await storing
    assert stored and "urgent" in ud.escalated
    acting = asyncio.create_task(responder.act(match, started))
    ud.handoff_ready["urgent"].set()
    await asyncio.wait_for(acting, 5)
    assert len(session.said) == 1  # act() did not say the line a second time
