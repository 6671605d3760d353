"""Barge-in on the real stack (livekit-server, a worker, the Realtime simulator, Postgres): an
interruption stops the agent and the record keeps only what the caller heard, with the model's
item truncated on the wire; a backchannel pauses the agent, which then finishes its line."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from state.postgres_record import PostgresRecordStore, create_pool
from state.review import show_call

pytestmark = pytest.mark.integration

LONG_REPLY = ("Thank you. Round Rock is in our service area, and we can usually send a technician "
              "within a day or two. Before I book anything I need a few more details from you, "
              "starting with the date you need this done by, and then your budget.")


def scenario(barge_line: str, barge_reply: str | None, *, barge_in: bool = True) -> str:
    reply = f'\n    agent:\n      - say: "{barge_reply}"' if barge_reply else "\n    agent: []"
    when = "barge_in_after_ms: 1500" if barge_in else "pause_before_ms: 600"
    return f"""
name: barge-in
turns:
  - caller: "It's forty two Elm Street in Round Rock."
    agent:
      - say: "{LONG_REPLY}"
  - caller: "{barge_line}"
    {when}{reply}
  - hangup: true
    pause_before_ms: 1200
"""


async def _agent_turns(stack: LocalStack, call_id: str, timeout: float = 20.0
                       ) -> list[dict[str, Any]]:
    assert stack.database_url is not None
    pool = await create_pool(stack.database_url, max_size=2)
    try:
        store = PostgresRecordStore(pool)
        deadline = time.monotonic() + timeout
        while True:
            record = await show_call(store, call_id)
            if record is not None and record.get("outcome"):
                return [t for t in record["turns"] if t["role"] == "agent"]
            if time.monotonic() > deadline:
                raise AssertionError(f"no stored outcome for call {call_id}")
            await asyncio.sleep(0.25)
    finally:
        await pool.close()


async def test_an_interruption_is_stored_as_the_heard_prefix(call_stack: LocalStack) -> None:
    result = await call_stack.place_call(parse_scenario(
        scenario("Sorry, can I stop you there?", "Of course. Go ahead.")))
    turn = next(t for t in result.report.turns if t.barged_in)
    assert turn.agent_stopped_at is not None

    turns = await _agent_turns(call_stack, result.call_id)
    cut = next(t for t in turns if t["text"] and LONG_REPLY.startswith(t["text"]))
    assert cut["interrupted"] is True
    heard_words = cut["text"].split()
    assert 0 < len(heard_words) < len(LONG_REPLY.split())  # a prefix, not the whole line
    # the caller's interruption got its own reply
    assert any("Go ahead" in t["text"] and not t["interrupted"] for t in turns)

    sim = call_stack.simulator
    assert sim is not None
    truncates = [w.event for w in sim.wire_log if w.direction == "client"
                 and w.event.get("type") == "conversation.item.truncate"]
    assert truncates and all(e["audio_end_ms"] > 0 for e in truncates)


async def test_a_backchannel_pauses_then_the_line_is_finished(call_stack: LocalStack) -> None:
    sim = call_stack.simulator
    assert sim is not None
    # the session's simulator keeps the wire of every call: only this call's part counts
    first_event = len(sim.wire_log)
    result = await call_stack.place_call(parse_scenario(scenario("Mm-hm.", None)))
    turn = next(t for t in result.report.turns if t.barged_in)
    # the agent's line went on after the caller's "mm-hm"
    assert any(s.started_at >= turn.speech_started_at or
               (s.ended_at is not None and s.ended_at > turn.speech_ended_at)
               for s in result.report.segments)

    turns = await _agent_turns(call_stack, result.call_id)
    line = next(t for t in turns if "Round Rock is in our service area" in t["text"])
    assert line["interrupted"] is False
    assert line["text"].endswith("your budget.")  # the end of the line was said
    sent = [w.event.get("type") for w in sim.wire_log[first_event:] if w.direction == "client"]
    assert "response.create" in sent or "input_audio_buffer.append" in sent  # this call's wire
    assert "conversation.item.truncate" not in sent

    # and nothing of it was lost: the line was heard in full, as on a call with no backchannel
    # (livekit's own pause dropped the 170-250 ms of audio it had queued). The pause requeues
    # what livekit's source *estimates* it held (agent/playout.py); under the full suite's CPU
    # load the native queue can hold more than the estimate, and one CI run lost 0.11 s
    plain = await call_stack.place_call(parse_scenario(scenario("Mm-hm.", None, barge_in=False)))
    lost = plain.report.agent_audio_heard_s - result.report.agent_audio_heard_s
    assert lost < 0.15, (plain.report.agent_audio_heard_s, result.report.agent_audio_heard_s)
