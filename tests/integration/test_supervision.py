"""Live supervision on the real stack: livekit-server, a worker process, the Realtime simulator,
Redis and Postgres. The console's side is called as the console will call it (commands over
Redis, tokens minted here); a Python participant plays the supervisor's microphone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from livekit import api
from pydantic import SecretStr

from audio.speech import render_speech_pcm16
from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller
from state.postgres_record import PostgresRecordStore, create_pool
from state.review import show_call
from supervision import (
    CommandRefusedError,
    LiveKitSettings,
    SupervisionClient,
    live_calls,
    mark_absent,
    mark_present,
    mint_takeover_token,
    transcript_feed,
)
from testbed.supervisor import HeardFrom, SupervisorVoice

pytestmark = pytest.mark.integration

SUPERVISOR = "dana"
WHISPER = "Ask whether the basement is flooded."
LONG_REPLY = ("Thank you. Round Rock is in our service area, and we can usually send a technician "
              "within a day or two. Before I book anything I need a few more details from you, "
              "starting with the date you need this done by, and then your budget.")
AFTER_HAND_BACK = "Thanks for holding on. What's the best phone number to reach you?"
# one clause: a pause in the middle would make it two utterances (two transcriptions)
SUPERVISOR_SAYS = "This is Dana from the service team and I can help you with that"
SUPERVISED = f"""
name: supervised
caller: {{number: "+15125550142"}}
supervisor_lines:
  - "{SUPERVISOR_SAYS}"
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    agent:
      - tool: record_field
        arguments: {{field: problem, value: "water heater leaking in the basement"}}
      - say: "I'm sorry to hear that. What's the address of the property?"
  - caller: "It's forty two Elm Street in Round Rock."
    agent:
      - say: "{LONG_REPLY}"
  - caller: "Okay, thank you Dana, that helps."
    agent:
      - say: "{AFTER_HAND_BACK}"
  - hangup: true
    pause_before_ms: 300
"""
ENDED = """
name: ended-by-supervisor
turns:
  - caller: "Hi, my water heater is leaking."
    agent:
      - say: "I'm sorry to hear that. What's the address of the property?"
  - caller: "It's forty two Elm Street."
    agent:
      - say: "Thanks. By what date do you need this done?"
  - hangup: true
"""


class _Stop(Exception):
    """Ends the simulated caller's script early (the supervisor ended the call)."""


async def _record(stack: LocalStack, call_id: str, timeout: float = 20.0) -> dict[str, Any]:
    assert stack.database_url is not None
    pool = await create_pool(stack.database_url, max_size=2)
    try:
        store = PostgresRecordStore(pool)
        deadline = time.monotonic() + timeout
        while True:
            record = await show_call(store, call_id)
            if record is not None and record.get("outcome"):
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no stored outcome for call {call_id}")
            await asyncio.sleep(0.25)
    finally:
        await pool.close()


async def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.02)


def _settings(stack: LocalStack) -> LiveKitSettings:
    assert stack.livekit is not None
    return LiveKitSettings(url=stack.livekit.url, http_url=stack.livekit.http_url,
                           api_key=stack.livekit.api_key,
                           api_secret=SecretStr(stack.livekit.api_secret),
                           agent_name=stack.agent_name)


@pytest.fixture
async def redis_client(call_stack: LocalStack) -> AsyncIterator[aioredis.Redis]:
    assert call_stack.redis_url is not None
    client = aioredis.Redis.from_url(call_stack.redis_url)
    yield client
    await client.aclose()


def _client_events(stack: LocalStack, since: int, kind: str) -> list[tuple[int, dict[str, Any]]]:
    assert stack.simulator is not None
    return [(i, w.event) for i, w in enumerate(stack.simulator.wire_log)
            if i >= since and w.direction == "client" and w.event.get("type") == kind]


def _server_events(stack: LocalStack, since: int, kind: str) -> list[int]:
    assert stack.simulator is not None
    return [i for i, w in enumerate(stack.simulator.wire_log)
            if i >= since and w.direction == "server" and w.event.get("type") == kind]


async def test_whisper_take_over_and_hand_back(call_stack: LocalStack,
                                               redis_client: aioredis.Redis) -> None:
    sim = call_stack.simulator
    assert sim is not None
    client = SupervisionClient(redis_client)
    call_id = f"sup{int(time.time() * 1000) % 10**9}"
    marks: dict[str, Any] = {}
    heard: list[HeardFrom] = []

    async def before_line(index: int, caller: SimulatedCaller) -> None:
        report = caller.report
        if index == 0:
            await client.send(call_id, "listen_start", account=SUPERVISOR, role="supervisor")
        elif index == 1:
            # the reply to line 0 was heard to its end; then the supervisor whispers
            await _until(lambda: len(report.segments) >= 2
                         and report.segments[-1].ended_at is not None
                         and report.segments[-1].started_at > report.turns[0].speech_ended_at,
                         20, "no reply to the first line")
            marks["before_whisper"] = len(sim.wire_log)
            await client.send(call_id, "whisper", account=SUPERVISOR, role="supervisor",
                              text=WHISPER)
            marks["after_whisper"] = len(sim.wire_log)
        elif index == 2:
            # the long reply is playing: take the call over in the middle of it
            turn_end = report.turns[1].speech_ended_at
            await _until(lambda: bool(report.segments)
                         and report.segments[-1].started_at > turn_end
                         and time.monotonic() - report.segments[-1].started_at > 1.0,
                         20, "the long reply did not start")
            segment = report.segments[-1]
            marks["take_over_wire"] = len(sim.wire_log)
            # the session-wide log of transcription uploads, from this take-over on
            marks["take_over_uploads"] = len(sim.transcriptions)
            marks["take_over_at"] = time.monotonic()
            await client.send(call_id, "take_over", account=SUPERVISOR, role="supervisor")
            with pytest.raises(CommandRefusedError) as second:
                await client.send(call_id, "take_over", account="sam", role="supervisor")
            marks["second_take_over"] = second.value.reason
            await _until(lambda: segment.ended_at is not None, 5, "agent audio never stopped")
            marks["cut_segment"] = segment
            # the supervisor speaks on their own token; the caller hears them
            ear = HeardFrom(caller.room, "supervisor:")
            heard.append(ear)
            token = mint_takeover_token(_settings(call_stack), room=f"call-{call_id}",
                                        account=SUPERVISOR, role="supervisor")
            async with SupervisorVoice(token.url, token.token) as voice:
                await voice.say(SUPERVISOR_SAYS)
            marks["segments_before_caller"] = len(report.segments)
        elif index == 3:
            # the caller spoke under supervision; the agent stays silent, then gets it back
            spoke_at = report.turns[2].speech_started_at
            await asyncio.sleep(2.0)  # time in which an answering agent would have replied
            marks["silent"] = not any(s.started_at >= spoke_at for s in report.segments)
            marks["hand_back_wire"] = len(sim.wire_log)
            marks["hand_back_at"] = time.monotonic()
            await client.send(call_id, "hand_back", account=SUPERVISOR, role="supervisor")
            await caller.wait_for_agent_audio_after(marks["hand_back_at"], 15)
            await client.send(call_id, "listen_stop", account=SUPERVISOR, role="supervisor")

    try:
        result = await call_stack.place_call(parse_scenario(SUPERVISED), call_id=call_id,
                                             before_line=before_line)
    finally:
        for ear in heard:
            await ear.aclose()
    report = result.report

    # whisper: the model's instructions carried it before the next reply was made
    updates = [e for _, e in _client_events(call_stack, marks["before_whisper"],
                                            "session.update")
               if WHISPER in str(e.get("session", {}).get("instructions", ""))]
    assert updates, "the whisper never reached the model's instructions"
    created = _server_events(call_stack, marks["after_whisper"], "response.created")
    assert created
    before_reply = [e for i, e in _client_events(call_stack, 0, "session.update")
                    if i < created[0] and "instructions" in e.get("session", {})]
    assert WHISPER in before_reply[-1]["session"]["instructions"]
    assert "never overrides the rules" in before_reply[-1]["session"]["instructions"]
    # never said to the caller: it is in no transcript the caller's room received
    assert all("flooded" not in text for _, text in report.transcript)

    # take over: the reply was cut short, a second take-over refused
    cut = marks["cut_segment"]
    reply_seconds = len(render_speech_pcm16(LONG_REPLY, 24000, cache=True)) / 2 / 24000
    assert cut.ended_at - cut.started_at < reply_seconds - 1.0
    assert marks["second_take_over"] == "already_supervised"
    # the caller heard the supervisor, and no agent audio while supervised
    assert heard[0].loud_frames > 20
    assert marks["silent"]
    hand_back_wire = marks["hand_back_wire"]
    assert not [i for i in _server_events(call_stack, marks["take_over_wire"], "response.created")
                if i < hand_back_wire], "the model answered during the take-over"

    # hand back: the agent speaks again, asks for a missing field, does not greet again
    replies = [e for _, e in _client_events(call_stack, hand_back_wire, "response.create")]
    assert replies
    instructions = str(replies[0].get("response", {}).get("instructions", ""))
    assert "Do not greet" in instructions and "phone" in instructions
    # the model was told what the supervisor said (transcribed by the simulator's
    # /v1/audio/transcriptions from the supervisor's audio), as context under the rules
    assert f'Supervisor: "{SUPERVISOR_SAYS}"' in instructions
    assert "lifts none of the rules" in instructions
    told = [e for _, e in _client_events(call_stack, hand_back_wire, "session.update")
            if SUPERVISOR_SAYS in str(e.get("session", {}).get("instructions", ""))]
    assert told, "the hand-back's session.update lacks the supervisor's words"
    uploads = sim.transcriptions[marks["take_over_uploads"]:]
    heard_speech = [t for t in uploads if t.speech]
    assert [t.text for t in heard_speech] == [SUPERVISOR_SAYS]
    assert uploads and all(t.status == 200 and t.model == "gpt-transcribe" for t in uploads)
    # the record: the caller's words under supervision, and the actions in order
    record = await _record(call_stack, result.call_id)
    agent_turns = [t["text"] for t in record["turns"] if t["role"] == "agent"]
    # (the caller hangs up as the line ends, so its stored text may be cut at the last words)
    # the line asking for the phone (the hang-up may cut it: the heard prefix is stored)
    assert agent_turns[-1].startswith("Thanks for holding on.")
    assert AFTER_HAND_BACK.startswith(agent_turns[-1])
    assert sum("Thanks for calling Brightline" in t for t in agent_turns) == 1  # one greeting
    assert all("flooded" not in t for t in agent_turns)
    caller_turns = [t["text"] for t in record["turns"] if t["role"] == "caller"]
    assert any("thank you Dana" in t for t in caller_turns)
    # the supervisor's words are a turn of their own, before the caller's answer to them
    roles = [(t["role"], t["text"]) for t in record["turns"]]
    supervisor_turns = [i for i, (role, _) in enumerate(roles) if role == "supervisor"]
    assert [roles[i][1] for i in supervisor_turns] == [SUPERVISOR_SAYS]
    answer = next(i for i, (role, text) in enumerate(roles)
                  if role == "caller" and "thank you Dana" in text)
    assert supervisor_turns[0] < answer
    # and the live transcript (the console's feed from Redis) carried it as it was said
    fed = [item.event.payload async for item in transcript_feed(redis_client, call_id)
           if item.event.kind == "turn"]
    assert {"role": "supervisor", "text": SUPERVISOR_SAYS, "by": SUPERVISOR} in [
        {k: p.get(k) for k in ("role", "text", "by")} for p in fed]
    actions = [(e["payload"]["action"], e["payload"].get("by"))
               for e in record["events"] if e["kind"] == "supervision"]
    assert actions == [("listen_start", SUPERVISOR), ("whisper", SUPERVISOR),
                       ("take_over", SUPERVISOR), ("hand_back", SUPERVISOR),
                       ("listen_stop", SUPERVISOR)]
    hand_back = next(e["payload"] for e in record["events"]
                     if e["kind"] == "supervision" and e["payload"]["action"] == "hand_back")
    assert hand_back["taken_by"] == SUPERVISOR and hand_back["from"] < hand_back["to"]
    whisper = next(e["payload"] for e in record["events"]
                   if e["kind"] == "supervision" and e["payload"]["action"] == "whisper")
    assert whisper["text"] == WHISPER


async def test_end_call_ends_it_for_everyone_and_later_commands_are_refused(
        call_stack: LocalStack, redis_client: aioredis.Redis) -> None:
    client = SupervisionClient(redis_client)
    call_id = f"end{int(time.time() * 1000) % 10**9}"
    seen: dict[str, Any] = {}

    async def before_line(index: int, _caller: SimulatedCaller) -> None:
        if index != 1:
            return
        calls = {c.call_id: c for c in await live_calls(redis_client)}
        seen["board"] = calls.get(call_id)
        await client.send(call_id, "end_call", account=SUPERVISOR, role="supervisor")
        async with call_stack.api() as lkapi:
            # an upper bound on waiting: the goodbye plays, the recording and the outcome are
            # stored, then the room goes (on a loaded 2-core machine that can pass 15 s)
            deadline = time.monotonic() + 40
            while (await lkapi.room.list_rooms(api.ListRoomsRequest(
                    names=[f"call-{call_id}"]))).rooms:
                assert time.monotonic() < deadline, "the room outlived end_call"
                await asyncio.sleep(0.2)
        raise _Stop

    with pytest.raises(_Stop):
        await call_stack.place_call(parse_scenario(ENDED), call_id=call_id,
                                    before_line=before_line)
    board = seen["board"]
    assert board is not None and board.stage == "intake"
    assert "location" in board.missing_fields
    record = await _record(call_stack, call_id)
    assert [e["payload"]["action"] for e in record["events"] if e["kind"] == "supervision"] == [
        "end_call"]
    statuses = [e["payload"] for e in record["events"] if e["kind"] == "status"]
    assert {"status": "hung_up", "reason": "supervisor_ended"} in statuses
    # the feed of an ended call ends; commands for it are refused
    items = [item async for item in transcript_feed(redis_client, call_id)]
    assert any(i.event.kind == "turn" for i in items)
    with pytest.raises(CommandRefusedError) as refused:
        await client.send(call_id, "whisper", account=SUPERVISOR, role="supervisor",
                          text="hello")
    assert refused.value.reason in ("call_ended", "no_worker")
    with pytest.raises(CommandRefusedError) as operator:
        await client.send(call_id, "take_over", account="olive", role="operator")
    assert operator.value.reason == "not_allowed"


ASKS_FOR_PERSON = """
name: asks-for-a-person
turns:
  - caller: "Can I talk to a real person please?"
    agent:
      - say: "Of course, let me get someone for you."
  - caller: "Thanks, I'll wait."
    agent:
      - say: "Thanks for waiting."
  - hangup: true
"""


async def test_an_escalation_rings_the_board_and_a_supervisor_accepts(
        call_stack: LocalStack, redis_client: aioredis.Redis) -> None:
    client = SupervisionClient(redis_client)
    call_id = f"ring{int(time.time() * 1000) % 10**9}"
    seen: dict[str, Any] = {}
    # a board page renews its presence every few seconds; the test holds it for the call
    await mark_present(redis_client, SUPERVISOR, ttl_s=180)

    async def before_line(index: int, _caller: SimulatedCaller) -> None:
        if index == 2:
            await client.send(call_id, "hand_back", account=SUPERVISOR, role="supervisor")
        if index != 1:
            return
        deadline = time.monotonic() + 15
        while True:
            calls = {c.call_id: c for c in await live_calls(redis_client)}
            board = calls.get(call_id)
            if board is not None and board.ringing is not None:
                break
            assert time.monotonic() < deadline, "the board never rang"
            await asyncio.sleep(0.1)
        seen["ringing"] = board
        reply = await client.send(call_id, "accept_escalation", account=SUPERVISOR,
                                  role="supervisor")
        seen["briefing"] = reply.data["briefing"]
        with pytest.raises(CommandRefusedError) as again:
            await client.send(call_id, "accept_escalation", account="sam", role="supervisor")
        seen["again"] = again.value.reason

    try:
        await call_stack.place_call(parse_scenario(ASKS_FOR_PERSON), call_id=call_id,
                                    before_line=before_line)
    finally:
        await mark_absent(redis_client, SUPERVISOR)
    board = seen["ringing"]
    assert board.stage == "ringing" and "caller_asked_for_person" in board.escalation_flags
    assert seen["briefing"]["reason"] == "human_request"
    assert "problem" in seen["briefing"]["missing_fields"]
    assert seen["again"] in ("not_ringing", "already_supervised")
    record = await _record(call_stack, call_id)
    actions = [e["payload"]["action"] for e in record["events"] if e["kind"] == "supervision"]
    assert actions == ["board_ring", "take_over", "board_ring_accepted", "hand_back"]
    stages = [e["payload"] for e in record["events"] if e["kind"] == "escalation"]
    assert {"category": "human_request", "stage": "board", "answered": True} in stages
    assert not any(s.get("stage") in ("hold", "warm_transfer", "transfer") for s in stages)
