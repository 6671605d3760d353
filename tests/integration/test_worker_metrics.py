"""A real call through a real worker moves its Prometheus metrics, and the worker's health and
readiness endpoints answer on its own HTTP port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from devstack.local_call import LocalStack
from devstack.metrics_scrape import Samples, scrape
from devstack.paths import project_root
from realtime_simulator import load_scenario
from simulated_caller import SimulatedCaller

pytestmark = pytest.mark.integration


async def _get_json(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def _scrape_until(url: str, done: Callable[[Samples], bool],
                        timeout: float = 15.0) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        samples = await scrape(url)
        if done(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.1)


async def test_a_call_moves_counters_and_histograms(call_stack: LocalStack) -> None:
    base = call_stack.worker_http_url()
    scenario = load_scenario(project_root() / "scenarios" / "bench_latency.yaml")
    before = await scrape(base)
    during: dict[str, Any] = {}

    async def look_mid_call(index: int, _caller: SimulatedCaller) -> None:
        if index == 1:
            samples = await scrape(base)
            during["active"] = samples.total("intake_calls_active")
            during["ready"] = await _get_json(f"{base}/readyz")

    await call_stack.place_call(scenario, before_line=look_mid_call)
    # the job counts its end before its process exits, and the worker drops the job from
    # its active ones a moment later: wait for both
    ended_before = before.total("intake_calls_ended_total")
    after = await _scrape_until(base, lambda s: (
        s.total("intake_calls_ended_total") > ended_before
        and s.total("intake_calls_active") == 0))

    def moved(name: str, **labels: str) -> float:
        return after.total(name, **labels) - before.total(name, **labels)

    assert during["active"] == 1
    status, body = during["ready"]
    assert status == 200 and body["ready"] is True
    assert body["checks"]["redis"] == "up" and body["checks"]["postgres"] == "up"
    assert moved("intake_calls_started_total", resumed="false") == 1
    assert moved("intake_calls_ended_total") == 1
    assert moved("intake_tool_calls_total", tool="record_field", outcome="ok") == 1
    assert moved("intake_tool_duration_seconds_count", tool="record_field") == 1
    # three caller turns answered, one of them over the agent
    assert moved("intake_response_latency_seconds_count") >= 2
    assert moved("intake_barge_in_stop_seconds_count") >= 1
    # the caller talked over the agent: the pause was decided one way or the other
    assert sum(moved("intake_barge_in_decisions_total", decision=decision)
               for decision in ("interrupted", "resumed", "unconfirmed")) >= 1
    assert after.total("intake_storage_up", store="redis") == 1
    assert after.total("intake_storage_up", store="postgres") == 1
    assert after.total("intake_calls_active") == 0
    # calls, tools and latencies were counted in the job process: they reached the worker's
    # endpoint through the multiprocess folder; livekit-agents' own metrics are there too
    assert after.has("lk_agents_proc_initialize_duration_seconds_count")
    # nothing about the caller in any label
    assert "5550142" not in after.text


async def test_liveness_answers_and_readiness_explains(call_stack: LocalStack) -> None:
    base = call_stack.worker_http_url()
    status, body = await _get_json(f"{base}/healthz")
    assert status == 200 and body == {"live": True}
    status, body = await _get_json(f"{base}/readyz")
    assert status == 200
    assert body["checks"]["livekit"] == "registered"
    assert body["checks"]["draining"] is False
