"""A tool's output goes to the model without waiting for its confirmation, and before the reply
(agent/tool_output_push.py), with the real plugin session against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from livekit.agents import llm
from livekit.plugins.openai.realtime import RealtimeSession

from agent.realtime_model import PhoneRealtimeModel
from agent.tool_output_push import only_adds_tool_outputs
from realtime_simulator import RealtimeSimulator, parse_scenario

pytestmark = pytest.mark.unit

SCENARIO = ('name: push\nturns:\n  - caller: "Hi."\n'
            '    agent:\n      - say: "Thanks, noted."\n  - hangup: true\n')


@pytest.fixture
async def session_and_simulator() -> AsyncIterator[tuple[RealtimeSession, RealtimeSimulator]]:
    sim = RealtimeSimulator(parse_scenario(SCENARIO), api_key="sk-simulated", stream_speed=50)
    await sim.start()
    http = aiohttp.ClientSession()
    model = PhoneRealtimeModel(base_url=sim.base_url, api_key="sk-simulated", http_session=http)
    session = model.session()
    try:
        yield session, sim
    finally:
        await session.aclose()
        await model.aclose()
        await http.close()
        await sim.stop()


def _call() -> llm.FunctionCall:
    return llm.FunctionCall(id="item_call1", call_id="call_1", name="record_field",
                            arguments='{"field": "problem", "value": "a leak"}')


def _output() -> llm.FunctionCallOutput:
    return llm.FunctionCallOutput(id="item_out1", call_id="call_1", name="record_field",
                                  output="Saved problem.", is_error=False)


async def _push_the_call(session: RealtimeSession) -> None:
    with_call = session.chat_ctx.copy()
    with_call.items.append(_call())
    await asyncio.wait_for(session.update_chat_ctx(with_call), 10)


def _with_the_output(session: RealtimeSession) -> llm.ChatContext:
    with_output = session.chat_ctx.copy()
    with_output.items.append(_output())
    return with_output


def _watch_confirmation(session: RealtimeSession, item_id: str) -> asyncio.Event:
    confirmed = asyncio.Event()

    def on_added(ev: llm.RemoteItemAddedEvent) -> None:
        if ev.item.id == item_id:
            confirmed.set()

    session.on("remote_item_added", on_added)
    return confirmed


async def test_a_tool_output_is_sent_without_waiting_and_before_the_reply(
        session_and_simulator: tuple[RealtimeSession, RealtimeSimulator]) -> None:
    session, sim = session_and_simulator
    await _push_the_call(session)
    # not a tool output: the plugin's way, confirmed on return
    assert "item_call1" in {item.id for item in session.chat_ctx.items}

    with_output = _with_the_output(session)
    assert only_adds_tool_outputs(session, with_output)
    confirmed = _watch_confirmation(session, "item_out1")
    await asyncio.wait_for(session.update_chat_ctx(with_output), 10)
    # returned before the server could confirm it ...
    assert "item_out1" not in {item.id for item in session.chat_ctx.items}
    generation = await asyncio.wait_for(session.generate_reply(), 10)
    assert generation is not None
    # ... and confirmed afterwards, ahead of the reply on the wire
    await asyncio.wait_for(confirmed.wait(), 10)
    sent = [event.event.get("type") for event in sim.wire_log if event.direction == "client"]
    output_at = next(i for i, event in enumerate(sim.wire_log)
                     if event.direction == "client"
                     and event.event.get("type") == "conversation.item.create"
                     and event.event.get("item", {}).get("type") == "function_call_output")
    reply_at = max(i for i, event in enumerate(sim.wire_log)
                   if event.direction == "client" and event.event.get("type") == "response.create")
    assert "response.create" in sent and output_at < reply_at


async def test_the_next_update_waits_for_the_outputs_confirmation(
        session_and_simulator: tuple[RealtimeSession, RealtimeSimulator]) -> None:
    session, _sim = session_and_simulator
    await _push_the_call(session)
    with_output = _with_the_output(session)
    await asyncio.wait_for(session.update_chat_ctx(with_output), 10)
    # a message right after: the plugin's lock holds it until the output is confirmed, so the
    # output is not sent twice and the message follows it
    with_message = with_output.copy()
    with_message.add_message(role="user", content="Also the tap drips.", id="item_msg1")
    await asyncio.wait_for(session.update_chat_ctx(with_message), 10)
    ids = [item.id for item in session.chat_ctx.items]
    assert ids.index("item_out1") < ids.index("item_msg1")
    assert ids.count("item_out1") == 1


def test_only_an_update_that_adds_tool_outputs_alone_skips_the_wait() -> None:
    class _Remote:
        def __init__(self, items: list[llm.ChatItem]) -> None:
            self.chat_ctx = llm.ChatContext(items)

    call, output = _call(), _output()
    message = llm.ChatMessage(id="item_m", role="user", content=["hi"])
    remote = _Remote([call])
    assert only_adds_tool_outputs(remote, llm.ChatContext([call, output]))  # type: ignore[arg-type]
    assert not only_adds_tool_outputs(remote, llm.ChatContext([call]))  # type: ignore[arg-type]
    assert not only_adds_tool_outputs(  # a message with it
        remote, llm.ChatContext([call, output, message]))  # type: ignore[arg-type]
    assert not only_adds_tool_outputs(  # a deletion with it
        remote, llm.ChatContext([output]))  # type: ignore[arg-type]
