"""Supervision figures on the real local stack, measured where people would notice them.

take_over_stop_ms: the console sending `take_over` (SupervisionClient.send) -> the last agent
audio the simulated caller hears. The command is sent while the agent is in the middle of a
long reply; each caller line gives one sample (take over, then hand straight back).
transcript_lag_ms: the caller's end of speech -> that caller turn read from the live feed
(`supervision.board.transcript_feed`, what the console's SSE endpoint relays). Both clocks are
`time.monotonic()` in this one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from benchmarks.stats import summarize
from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller
from supervision.board import transcript_feed
from supervision.commands import SupervisionClient

LONG_REPLY = ("Thank you. We can usually send a technician within a day or two. Before I book "
              "anything I need a few more details from you, starting with the date you need "
              "this done by, and then your budget and the best way to reach you.")
LINES = ("Hi, my water heater is leaking in the basement.",
         "It's forty two Elm Street in Round Rock.",
         "I need it done by next Friday.",
         "My budget is about five hundred dollars.")
BENCH_SCENARIO = "name: bench-supervision\nturns:\n" + "".join(
    f'  - caller: "{line}"\n    agent:\n      - say: "{LONG_REPLY}"\n' for line in LINES
) + "  - hangup: true\n    pause_before_ms: 300\n"
SUPERVISOR = "bench-supervisor"
# how far into the agent's reply the take-over is sent
INTO_REPLY_S = 0.8


async def _wait(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark call stalled")
        await asyncio.sleep(0.005)


async def _one_call(stack: LocalStack, redis: aioredis.Redis
                    ) -> tuple[list[float], list[float]]:
    client = SupervisionClient(redis)
    call_id = f"bench{uuid.uuid4().hex[:10]}"
    stops: list[float] = []
    feed_caller_turns: list[float] = []
    feed_tasks: list[asyncio.Task[None]] = []

    async def read_feed() -> None:
        async for item in transcript_feed(redis, call_id, kinds=frozenset({"turn"})):
            if item.event.payload.get("role") == "caller":
                feed_caller_turns.append(item.received_at)

    async def after_greeting() -> None:
        feed_tasks.append(asyncio.create_task(read_feed(), name="bench-feed"))

    async def before_line(index: int, caller: SimulatedCaller) -> None:
        if index == 0:
            return
        report = caller.report
        turn_end = report.turns[index - 1].speech_ended_at
        await _wait(lambda: bool(report.segments) and report.segments[-1].started_at > turn_end
                    and time.monotonic() - report.segments[-1].started_at > INTO_REPLY_S, 20)
        segment = report.segments[-1]
        sent_at = time.monotonic()
        await client.send(call_id, "take_over", account=SUPERVISOR, role="supervisor")
        await _wait(lambda: segment.ended_at is not None, 10)
        assert segment.ended_at is not None
        stops.append((segment.ended_at - sent_at) * 1000)
        await client.send(call_id, "hand_back", account=SUPERVISOR, role="supervisor")

    try:
        result = await stack.place_call(parse_scenario(BENCH_SCENARIO), call_id=call_id,
                                        after_greeting=after_greeting, before_line=before_line)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*feed_tasks), 15)
    finally:
        for task in feed_tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    spoken = [t.speech_ended_at for t in result.report.turns]
    lags = [(seen - ended) * 1000 for ended, seen in zip(spoken, feed_caller_turns, strict=False)]
    return stops, lags


async def run_supervision_benchmark(calls: int) -> dict[str, Any]:
    stops: list[float] = []
    lags: list[float] = []
    failures = 0
    async with LocalStack(scenario=parse_scenario(BENCH_SCENARIO), idle_processes=1) as stack:
        assert stack.redis_url is not None
        redis = aioredis.Redis.from_url(stack.redis_url)
        try:
            for _ in range(calls):
                try:
                    call_stops, call_lags = await _one_call(stack, redis)
                except (TimeoutError, AssertionError):
                    failures += 1
                    continue
                stops.extend(call_stops)
                lags.extend(call_lags)
        finally:
            await redis.aclose()
    return {
        "calls": calls,
        "failed_calls": failures,
        "take_over_stop_ms": summarize(stops),
        "transcript_lag_ms": summarize(lags),
        "targets_ms": {"take_over_stop_p95": 250, "transcript_lag_p95": 1000},
    }
