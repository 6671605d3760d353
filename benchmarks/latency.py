"""Latency measured in the room by the simulated caller, on the real local stack.

greeting_ms: the agent subscribing to the caller's audio -> the first agent audio the caller
hears. response_overhead_ms: the caller's end of speech -> the first agent audio of the reply,
minus what the simulator itself waited (its end-of-speech silence window and the scenario's
reply delay, both reported by the simulator per reply). barge_in_stop_ms: the caller's speech
onset over agent audio -> the last agent audio the caller hears.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.stats import summarize
from devstack.local_call import CallResult, LocalStack
from devstack.paths import project_root

LATENCY_SCENARIO = project_root() / "scenarios" / "bench_latency.yaml"


def measure_call(result: CallResult) -> dict[str, list[float]]:
    """Figures of one call. The response overhead is also split where the simulator saw it:
    inbound (caller's end of speech -> simulator declares it, minus its silence window),
    model (the simulator's own time to first audio, minus the scripted delay) and outbound
    (first audio sent -> first audio heard by the caller)."""
    report = result.report
    greeting: list[float] = []
    overhead: list[float] = []
    barge: list[float] = []
    inbound: list[float] = []
    model: list[float] = []
    outbound: list[float] = []
    if report.greeting_ms is not None:
        greeting.append(report.greeting_ms)
    first_replies = {t.turn_index: t for t in result.sim_turn_timings
                     if t.turn_index is not None and t.speech_stopped_at is not None}
    for turn in report.turns:
        if turn.barged_in:
            if turn.agent_stopped_at is not None:
                barge.append((turn.agent_stopped_at - turn.speech_started_at) * 1000)
            continue
        timing = first_replies.get(turn.index)
        if turn.agent_reply_started_at is None or timing is None:
            continue
        waited = (timing.silence_window_ms or 0) + timing.reply_delay_ms
        overhead.append((turn.agent_reply_started_at - turn.speech_ended_at) * 1000 - waited)
        if timing.speech_stopped_at is not None and timing.first_audio_at is not None:
            inbound.append((timing.speech_stopped_at - turn.speech_ended_at) * 1000
                           - (timing.silence_window_ms or 0))
            model.append((timing.first_audio_at - timing.speech_stopped_at) * 1000
                         - timing.reply_delay_ms)
            outbound.append((turn.agent_reply_started_at - timing.first_audio_at) * 1000)
    return {"greeting_ms": greeting, "response_overhead_ms": overhead, "barge_in_stop_ms": barge,
            "response_inbound_ms": inbound, "response_model_ms": model,
            "response_outbound_ms": outbound}


async def run_latency_benchmark(calls: int, scenario_path: Path = LATENCY_SCENARIO
                                ) -> dict[str, Any]:
    from realtime_simulator import load_scenario

    scenario = load_scenario(scenario_path)
    samples: dict[str, list[float]] = {
        "greeting_ms": [], "response_overhead_ms": [], "barge_in_stop_ms": [],
        "response_inbound_ms": [], "response_model_ms": [], "response_outbound_ms": []}
    failures = 0
    async with LocalStack(scenario=scenario, idle_processes=2) as stack:
        for _ in range(calls):
            try:
                result = await stack.place_call()
            except TimeoutError:
                failures += 1
                continue
            for key, values in measure_call(result).items():
                samples[key].extend(values)
    return {
        "calls": calls,
        "failed_calls": failures,
        **{key: summarize(values) for key, values in samples.items()},
        "targets_ms": {"greeting_p95": 500, "barge_in_stop_p95": 200,
                       "response_overhead_p95": 100},
    }
