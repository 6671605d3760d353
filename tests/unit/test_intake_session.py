"""The tools inside a real AgentSession, driven by a scripted model (livekit-agents' base LLM)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions

from agent.instructions import build_instructions
from tests.unit.test_tools_fakes import make_call
from tools import INTAKE_TOOLS

pytestmark = pytest.mark.unit

_CALL_IDS = itertools.count(1)

# A script step sees the chat so far and returns either text or a tool call (name, args).
Step = Callable[[llm.ChatContext], "str | tuple[str, dict[str, Any]]"]


class ScriptedLLM(llm.LLM):
    """Answers each request with the next scripted step."""

    def __init__(self, steps: list[Step]) -> None:
        super().__init__()
        self._steps = list(steps)
        self.requests: list[llm.ChatContext] = []

    def chat(self, *, chat_ctx: llm.ChatContext, tools: list[llm.Tool] | None = None,
             conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
             parallel_tool_calls: Any = NOT_GIVEN, tool_choice: Any = NOT_GIVEN,
             extra_kwargs: Any = NOT_GIVEN) -> llm.LLMStream:
        self.requests.append(chat_ctx.copy())
        step = self._steps.pop(0) if self._steps else (lambda _ctx: "Okay.")
        return _ScriptedStream(self, step(chat_ctx), chat_ctx=chat_ctx, tools=tools or [],
                               conn_options=conn_options)


class _ScriptedStream(llm.LLMStream):
    def __init__(self, model: ScriptedLLM, reply: str | tuple[str, dict[str, Any]], *,
                 chat_ctx: llm.ChatContext, tools: list[llm.Tool],
                 conn_options: APIConnectOptions) -> None:
        super().__init__(model, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._reply = reply

    async def _run(self) -> None:
        if isinstance(self._reply, str):
            delta = llm.ChoiceDelta(role="assistant", content=self._reply)
        else:
            name, args = self._reply
            call = llm.FunctionToolCall(name=name, arguments=json.dumps(args),
                                        call_id=f"call_{next(_CALL_IDS)}")
            delta = llm.ChoiceDelta(role="assistant", tool_calls=[call])
        self._event_ch.send_nowait(llm.ChatChunk(id="scripted", delta=delta))


def tool(name: str, **args: Any) -> Step:
    return lambda _ctx: (name, args)


def say(text: str) -> Step:
    return lambda _ctx: text


def last_tool_output(ctx: llm.ChatContext) -> str:
    outputs = [item for item in ctx.items if item.type == "function_call_output"]
    return outputs[-1].output if outputs else ""


async def _session(steps: list[Step]) -> tuple[AgentSession[Any], Any, Any, Any]:
    ud, recorder, callbacks = make_call()
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM(steps), userdata=ud)
    agent = Agent(instructions=build_instructions(ud.playbook), tools=INTAKE_TOOLS)
    await session.start(agent)
    return session, ud, recorder, callbacks


async def test_record_field_is_called_and_read_back_returned() -> None:
    session, ud, recorder, _ = await _session([
        tool("record_field", field="phone", value="five one two five five five zero one zero zero"),
        lambda ctx: last_tool_output(ctx),  # the model says what the tool told it to read back
    ])
    try:
        result = await session.run(user_input="My number is 512 555 0100")
        result.expect.next_event().is_function_call(name="record_field",
                                                    arguments={"field": "phone"})
        output = result.expect.next_event().is_function_call_output(is_error=False)
        assert "five one two, five five five, zero one zero zero" in output.event().item.output
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    finally:
        await session.aclose()
    assert ud.checklist.slot("phone").value == "+15125550100"
    assert not ud.checklist.slot("phone").confirmed
    assert recorder.kinds("tool_call")[0]["name"] == "record_field"


async def test_bad_phone_becomes_a_tool_error_the_caller_can_hear() -> None:
    session, ud, _, _ = await _session([
        tool("record_field", field="phone", value="12"),
        lambda ctx: last_tool_output(ctx),
    ])
    try:
        result = await session.run(user_input="it's twelve")
        result.expect.next_event().is_function_call(name="record_field")
        result.expect.next_event().is_function_call_output(
            output="Sorry, could you repeat the number?", is_error=True)
        result.expect.next_event().is_message(role="assistant")
    finally:
        await session.aclose()
    assert ud.checklist.slot("phone").value is None


async def test_escalation_tool_calls_the_agent_callback() -> None:
    session, ud, recorder, callbacks = await _session([
        tool("escalate_to_human", reason="human_request"),
        say("Connecting you now."),
    ])
    try:
        result = await session.run(user_input="let me talk to a person")
        result.expect.next_event().is_function_call(name="escalate_to_human")
        result.expect.next_event().is_function_call_output(is_error=False)
    finally:
        await session.aclose()
    assert ud.escalated == {"human_request"}
    assert [r.category for r in callbacks.escalations] == ["human_request"]
    assert recorder.kinds("escalation")[0]["category"] == "human_request"
