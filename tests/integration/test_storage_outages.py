"""Storage going down in the middle of a real call: the call goes on, and the record catches up
with every turn exactly once when the server is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller

from .test_call_spine import _record

pytestmark = pytest.mark.integration

THREE_LINES = """
name: three-lines
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    agent:
      - tool: record_field
        arguments: {field: problem, value: "water heater leaking in the basement"}
      - say: "I'm sorry to hear that. What's the address of the property?"
  - caller: "It's forty two Elm Street in Round Rock."
    agent:
      - tool: record_field
        arguments: {field: location, value: "42 Elm Street, Round Rock"}
      - say: "Thanks. And your name?"
  - caller: "Dana Smith."
    agent:
      - tool: record_field
        arguments: {field: name, value: "Dana Smith"}
      - say: "Thanks, Dana."
  - hangup: true
    pause_before_ms: 300
"""


@pytest.fixture(scope="module")
async def outage_stack() -> AsyncIterator[LocalStack]:
    placeholder = parse_scenario("name: placeholder\nturns:\n  - hangup: true\n")
    stack = LocalStack(scenario=placeholder, separate_livekit_redis=True)
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


def _check_record(record: dict[str, object]) -> None:
    turns = record["turns"]
    assert isinstance(turns, list)
    caller_lines = [t["text"] for t in turns if t["role"] == "caller"]
    for needle in ("water heater", "Elm Street", "Dana"):
        assert sum(needle in line for line in caller_lines) == 1, (needle, caller_lines)
    seqs = [t["seq"] for t in turns]
    assert seqs == sorted(set(seqs))
    outcome = record["outcome"]
    assert isinstance(outcome, dict)
    assert {"problem", "location", "name"} <= set(outcome["fields"])


async def test_redis_down_mid_call_the_call_goes_on_and_catches_up(
        outage_stack: LocalStack) -> None:
    redis = outage_stack.redis
    assert redis is not None

    async def outage(index: int, _caller: SimulatedCaller) -> None:
        if index == 1:
            await asyncio.to_thread(redis.stop)
        elif index == 2:
            await asyncio.to_thread(redis.start)  # back, and empty: nothing was saved

    try:
        result = await outage_stack.place_call(parse_scenario(THREE_LINES), before_line=outage)
    finally:
        if not redis.running():
            await asyncio.to_thread(redis.start)
    # the caller was answered on every line, outage or not
    assert all(t.agent_reply_started_at is not None for t in result.report.turns)
    _check_record(await _record(outage_stack, result.call_id, timeout=30))


async def test_postgres_down_events_wait_in_redis_then_land(outage_stack: LocalStack) -> None:
    postgres = outage_stack.postgres
    assert postgres is not None

    async def outage(index: int, _caller: SimulatedCaller) -> None:
        if index == 1:
            await asyncio.to_thread(postgres.stop)

    try:
        result = await outage_stack.place_call(parse_scenario(THREE_LINES), before_line=outage)
        assert all(t.agent_reply_started_at is not None for t in result.report.turns)
    finally:
        await asyncio.to_thread(postgres.start)
    _check_record(await _record(outage_stack, result.call_id, timeout=30))
