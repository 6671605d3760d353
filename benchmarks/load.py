"""`intake bench load`: how many concurrent calls one worker holds, and what each one costs.

The local stack runs as separate processes: livekit-server, Redis, Postgres, one worker
(`intake start`), the Realtime simulator (every call at once) and, per step, one process of
simulated callers. Only the worker's process tree (main process, forkserver, job processes) is
measured, from /proc: CPU cores over the window where every call of the step is live, and PSS
(proportional set size: shared pages divided among the processes sharing them, unlike RSS).

Each call: the greeting, several turns with a tool call and a barge-in, lasting at least
`hold_seconds`. The headline is the largest step with no failed call, no gap heard and p95
figures within 20% of the single-call step.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.proc_stats import TreeCpuMeter, process_tree, tree_pss_mb
from benchmarks.stats import summarize
from devstack.local_call import SIM_API_KEY, LocalStack
from devstack.paths import project_root
from devstack.processes import ManagedProcess

# the server-VAD silence window, fixed for the bench (INTAKE_TURN_SILENCE_MS) so that each
# response figure can subtract it; calls normally size it by the question (agent.turn_taking)
SERVER_VAD_SILENCE_MS = 500
P95_TOLERANCE = 1.2
# CPU counts only while every call of the step is live: after the last greeting, before
# the first hang-up
WINDOW_START_S = 12.0
WINDOW_END_MARGIN_S = 8.0


def load_scenario_text(hold_seconds: int) -> str:
    """A call of at least `hold_seconds`: a tool call, a barge-in, then ordinary turns."""
    turns = [
        _turn("Hi, my water heater is leaking in the basement.",
              tool=("problem", "water heater leaking in the basement"),
              say="I'm sorry to hear that. What's the address of the property?"),
        _turn("It's forty two Elm Street in Round Rock.",
              say=("Thank you. Round Rock is in our service area, and we can usually send a "
                   "technician within a day or two. Before I book anything I need a few more "
                   "details from you, starting with the date you need this done by.")),
        _turn("Sorry, can I stop you there?", barge_in_ms=1200, say="Of course. Go ahead."),
    ]
    filler = [("By Friday if you can.", "Friday works. Anything else I should know?"),
              ("The tank is about ten years old.", "Thanks, that helps the technician."),
              ("There is a bit of water on the floor.", "Understood. Please keep clear of it.")]
    # a turn takes about six seconds: the caller's line, a pause, the agent's reply
    for index in range(max(0, hold_seconds // 6 - len(turns))):
        line, say = filler[index % len(filler)]
        turns.append(_turn(line, say=say))
    turns.append("  - hangup: true\n    pause_before_ms: 500\n")
    return ("name: bench-load\ncaller: {number: \"+15125550142\"}\n"
            "fallback_reply: \"Sorry, could you say that again?\"\nturns:\n" + "".join(turns))


def _turn(caller: str, *, say: str, tool: tuple[str, str] | None = None,
          barge_in_ms: int | None = None) -> str:
    text = f"  - caller: \"{caller}\"\n    pause_before_ms: 1500\n"
    if barge_in_ms is not None:
        text = f"  - caller: \"{caller}\"\n    barge_in_after_ms: {barge_in_ms}\n"
    text += "    agent:\n"
    if tool is not None:
        text += (f"      - tool: record_field\n        arguments: {{field: {tool[0]}, "
                 f"value: \"{tool[1]}\"}}\n")
    return text + f"      - say: \"{say}\"\n"


def call_figures(call: dict[str, Any]) -> dict[str, list[float]]:
    report = call.get("report") or {}
    figures: dict[str, list[float]] = {"greeting_ms": [], "response_ms": [],
                                       "barge_in_stop_ms": []}
    start = report.get("agent_subscribed_at") or report.get("agent_track_subscribed_at")
    if start is not None and report.get("first_agent_audio_at") is not None:
        figures["greeting_ms"].append((report["first_agent_audio_at"] - start) * 1000)
    for turn in report.get("turns") or []:
        if turn["barged_in"]:
            if turn.get("agent_stopped_at") is not None:
                figures["barge_in_stop_ms"].append(
                    (turn["agent_stopped_at"] - turn["speech_started_at"]) * 1000)
        elif turn.get("agent_reply_started_at") is not None:
            figures["response_ms"].append(
                (turn["agent_reply_started_at"] - turn["speech_ended_at"]) * 1000
                - SERVER_VAD_SILENCE_MS)
    return figures


def call_failed(call: dict[str, Any]) -> bool:
    report = call.get("report")
    if call.get("error") or report is None or report.get("errors"):
        return True
    turns = report.get("turns") or []
    return not turns or any(t.get("agent_reply_started_at") is None and not t["barged_in"]
                            for t in turns)


async def _run_step(stack: LocalStack, worker: ManagedProcess, scenario_path: Path,
                    calls: int, hold_seconds: int, log_dir: Path) -> dict[str, Any]:
    assert stack.livekit is not None
    idle_pss = tree_pss_mb(worker.pid)
    out = log_dir / f"callers-{calls}.json"
    callers = ManagedProcess(
        f"callers-{calls}",
        [sys.executable, "-m", "benchmarks.load_processes", "callers",
         "--scenario", str(scenario_path), "--calls", str(calls),
         "--ws-url", stack.livekit.url, "--http-url", stack.livekit.http_url,
         "--api-key-lk", stack.livekit.api_key, "--secret", stack.livekit.api_secret,
         "--agent-name", stack.agent_name, "--out", str(out)],
        log_path=log_dir / f"callers-{calls}.log", cwd=project_root())
    callers.start()
    await asyncio.sleep(WINDOW_START_S)
    meter = TreeCpuMeter(worker.pid)
    meter.start()
    peak_pss = tree_pss_mb(worker.pid)
    job_processes = 0
    window_end = time.monotonic() + max(5.0, hold_seconds - WINDOW_START_S - WINDOW_END_MARGIN_S)
    while time.monotonic() < window_end and callers.running():
        await asyncio.sleep(1.0)
        meter.sample()
        peak_pss = max(peak_pss, tree_pss_mb(worker.pid))
        job_processes = max(job_processes, len(process_tree(worker.pid)))
    cores = meter.cores()
    while callers.running():  # noqa: ASYNC110 (a child process)
        await asyncio.sleep(0.5)
    results: list[dict[str, Any]] = json.loads(out.read_text()) if out.exists() else []
    figures: dict[str, list[float]] = {"greeting_ms": [], "response_ms": [],
                                       "barge_in_stop_ms": []}
    for call in results:
        for key, values in call_figures(call).items():
            figures[key].extend(values)
    failed = sum(call_failed(c) for c in results) + max(0, calls - len(results))
    return {
        "concurrent_calls": calls,
        "worker_cores": round(cores, 3),
        "cores_per_call": round(cores / calls, 4),
        "worker_pss_mb": round(peak_pss, 1),
        "pss_per_call_mb": round((peak_pss - idle_pss) / calls, 1),
        "worker_processes": job_processes,
        **{key: summarize(values) for key, values in figures.items()},
        "gaps_heard": sum(int(c.get("gaps") or 0) for c in results),
        "longest_gap_ms": max((float(c.get("longest_gap_ms") or 0) for c in results),
                              default=0.0),
        "failed_calls": failed,
        "call_seconds_p50": summarize([float(c["seconds"]) for c in results
                                       if c.get("seconds")])["p50"],
    }


def headline(steps: list[dict[str, Any]]) -> dict[str, Any]:
    single = steps[0]
    best: dict[str, Any] | None = None
    for step in steps:
        if step["failed_calls"] or step["gaps_heard"]:
            break
        within = all(
            step[key]["p95"] is not None and single[key]["p95"] is not None
            and step[key]["p95"] <= single[key]["p95"] * P95_TOLERANCE
            for key in ("greeting_ms", "response_ms", "barge_in_stop_ms"))
        if not within:
            break
        best = step
    if best is None:
        return {"max_concurrent_calls": 0}
    return {"max_concurrent_calls": best["concurrent_calls"],
            "cores_per_call": best["cores_per_call"],
            "pss_per_call_mb": best["pss_per_call_mb"]}


def step_sizes(max_calls: int, step: int) -> list[int]:
    sizes = [1]
    size = step
    while size <= max_calls:
        if size > 1:
            sizes.append(size)
        size += step
    return sizes


async def run_load_benchmark(max_calls: int, step: int, hold_seconds: int,
                             worker_env: dict[str, str] | None = None) -> dict[str, Any]:
    log_dir = Path(tempfile.mkdtemp(prefix="intake-bench-load-"))
    scenario_path = log_dir / "scenario.yaml"
    scenario_path.write_text(load_scenario_text(hold_seconds))
    simulator = ManagedProcess(
        "simulator", [sys.executable, "-m", "benchmarks.load_processes", "simulator",
                      "--scenario", str(scenario_path), "--api-key", SIM_API_KEY],
        log_path=log_dir / "simulator.log", cwd=project_root())
    simulator.start()
    try:
        base_url = await _simulator_url(simulator)
        env = {"OPENAI_API_KEY": SIM_API_KEY, "OPENAI_BASE_URL": base_url,
               "INTAKE_IDLE_PROCESSES": str(min(max_calls, 4)),
               "INTAKE_TURN_SILENCE_MS": str(SERVER_VAD_SILENCE_MS), **(worker_env or {})}
        stack = LocalStack(scenario=None, use_simulator=False, log_dir=log_dir,
                           idle_processes=min(max_calls, 4), worker_env=env)
        async with stack:
            worker = stack.workers[0]
            await asyncio.sleep(5.0)  # idle processes warm up
            steps = [await _run_step(stack, worker, scenario_path, size, hold_seconds, log_dir)
                     for size in step_sizes(max_calls, step)]
    finally:
        simulator.stop()
    return {"hold_seconds": hold_seconds, "steps": steps, "headline": headline(steps),
            "targets": {"cores_per_call": 0.02, "pss_per_call_mb": 60},
            "machine": {"cpus": os.cpu_count(), "shared": True},
            "logs": str(log_dir)}


async def _simulator_url(simulator: ManagedProcess, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in simulator.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and "base_url" in line:
                return str(json.loads(line)["base_url"])
        if not simulator.running():
            raise RuntimeError(f"the simulator exited:\n{simulator.tail()}")
        await asyncio.sleep(0.2)
    raise TimeoutError("the simulator did not start")
