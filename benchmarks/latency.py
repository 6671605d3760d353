"""Latency measured in the room by the simulated caller, on the real local stack.

transport_floor_ms: one-way click latency between two probe participants (see
`transport_floor`). Each figure below is also given `over_floor`: minus the floor times the
WebRTC hops it contains (greeting 1: agent -> caller; the others 2: caller -> agent -> caller).

greeting_ms: the agent subscribing to the caller's audio -> the first agent audio heard (the
first loud frame); greeting_onset_ms: the same to the first agent sound at all (the greeting's
"Thanks" begins with ~80 ms of a quiet "th" under the loudness threshold).
response_total_ms: the caller's end of speech -> the first agent audio of the reply, all of it:
the turn-detection window (`turn_detection_window_ms`, the simulator's end-of-speech silence)
and the model's own time (`response_model_ms`, its think time before the first audio) included.
response_total_by_window_ms: response_total_ms per window (agent.turn_taking sizes it by the
agent's question: a confirmation waits less than a dictated address).
response_overhead_ms: the same minus the window and the scenario's scripted think time, which
are not ours (the simulator's own processing stays in); split where the simulator
saw it into inbound (caller's end of speech -> the simulator declares it, minus the window) and
outbound (the simulator's first audio sent -> heard by the caller), and outbound again at the
worker's stage mark (`INTAKE_STAGE_MARKS`, its log): `outbound_agent_ms` (the simulator's first
audio delta sent -> the worker queues the reply's first frame: the plugin, livekit-agents'
generation and playout) and `outbound_transport_ms` (that frame queued -> its first sound heard:
livekit's audio source, Opus, the SFU and the caller's jitter buffer). The inbound side is split
at the worker's other mark (`agent.inbound_marks`): `inbound_to_worker_ms` (the caller's end of
speech -> its last loud frame reaches the Realtime session: the WebRTC hop and the 20 ms input
frame), `inbound_worker_ms` (that frame -> its append queued for the model's socket) and
`inbound_to_model_ms` (queued -> the simulator received it: the socket and the simulator's
20 ms detection windows).
response_overhead_onset_ms: as response_overhead_ms, to the reply's first sound rather than its
first loud frame ("Thank you" opens with ~80 ms of a quiet "th").
barge_in_stop_ms: the caller's speech onset over agent audio -> the last agent audio heard, for
real interruptions and backchannels alike (both pause the agent at once).
false_barge_in_rate: backchannels after which the agent's line was not heard again.
missed_interruption_rate: real interruptions the agent talked on through.
goodbye_to_hangup_ms: the end of the caller's goodbye -> the agent hangs up (the room is gone);
`after_agent_goodbye_ms`: the end of the agent's goodbye audio -> the hang-up.
barge_in_decisions: what the worker decided at each pause (its log): interrupted, resumed, or
unconfirmed (the early onset cue that Silero did not confirm: a pause the caller's audio did not
warrant).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

from agent.barge_in import DEFAULT_BACKCHANNELS, Decision, is_backchannel
from agent.inbound_marks import CALLER_SPEECH_MARK
from agent.playout import FIRST_FRAME_MARK
from agent.session_events import BARGE_IN_DECISION_MARK
from benchmarks.stats import percentile, summarize
from benchmarks.transport_floor import measure_transport_floor
from devstack.local_call import CallResult, LocalStack
from devstack.paths import project_root

LATENCY_SCENARIO = project_root() / "scenarios" / "bench_latency.yaml"
FIGURES = ("greeting_ms", "greeting_onset_ms", "response_total_ms", "turn_detection_window_ms",
           "response_model_ms", "response_overhead_ms", "response_overhead_onset_ms",
           "response_inbound_ms", "inbound_to_worker_ms", "inbound_worker_ms",
           "inbound_to_model_ms", "response_outbound_ms", "outbound_agent_ms",
           "outbound_transport_ms",
           "barge_in_stop_ms", "goodbye_to_hangup_ms", "after_agent_goodbye_ms")
# WebRTC hops inside each figure, for its value over the transport floor
HOPS = {"greeting_ms": 1, "greeting_onset_ms": 1, "response_total_ms": 2,
        "response_overhead_ms": 2, "response_overhead_onset_ms": 2, "outbound_transport_ms": 1,
        "inbound_to_worker_ms": 1,
        "barge_in_stop_ms": 2, "goodbye_to_hangup_ms": 1, "after_agent_goodbye_ms": 0}
# response_total_ms again per turn-detection window (it follows the agent's question)
BY_WINDOW = "response_total_ms@"
# barge-in stop by the caller's line: how soon the VAD hears a line depends on how it begins
BY_LINE = "barge_in_stop_ms@"
# response overhead by the caller's line: a reply after a tool call, or the pre-rendered
# goodbye after end_call, takes a path of its own through livekit-agents
REPLY_BY_LINE = "response_overhead_ms@"
# agent audio heard this long after a backchannel ended means its line went on
RESUMED_AFTER_S = 0.1


def _worker_log_entries(log_dir: Path, message: str) -> Iterator[dict[str, Any]]:
    """Each JSON line the worker logged with `message`."""
    for path in log_dir.glob("worker-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if message in line:
                entry = json.loads(line)
                if entry.get("message") == message:
                    yield entry


def _worker_marks(log_dir: Path, message: str, *fields: str) -> list[tuple[float, ...]]:
    """The `fields` of each `message` line the worker logged (JSON lines), sorted."""
    return sorted(tuple(float(entry[f]) for f in fields)
                  for entry in _worker_log_entries(log_dir, message)
                  if all(f in entry for f in fields))


def barge_in_decisions(log_dir: Path) -> dict[str, int]:
    """How the worker decided each pause of barge-in (its `BARGE_IN_DECISION_MARK` lines)."""
    counts = dict.fromkeys(get_args(Decision), 0)
    for entry in _worker_log_entries(log_dir, BARGE_IN_DECISION_MARK):
        if entry.get("decision") in counts:
            counts[entry["decision"]] += 1
    return counts


def first_frame_marks(log_dir: Path) -> list[float]:
    """Wall-clock times the worker queued a line's first frame (its `FIRST_FRAME_MARK` lines)."""
    return [at for (at,) in _worker_marks(log_dir, FIRST_FRAME_MARK, "at")]


def caller_speech_marks(log_dir: Path) -> list[tuple[float, float]]:
    """(frame in, append queued) wall-clock times of each caller turn's last loud frame at the
    worker (its `CALLER_SPEECH_MARK` lines)."""
    return [(frame_in, sent) for frame_in, sent
            in _worker_marks(log_dir, CALLER_SPEECH_MARK, "frame_in_at", "sent_at")]


# a caller's last loud frame reaches the worker within this long of the caller's end of speech
INBOUND_MATCH_S = (-0.05, 0.4)


def _split_inbound(out: dict[str, list[float]], marks: list[tuple[float, float]],
                   wall_offset: float, speech_ended_at: float, model_heard_at: float) -> None:
    """Split one turn's inbound time at the worker's mark (monotonic -> wall: `wall_offset`)."""
    ended, heard = speech_ended_at + wall_offset, model_heard_at + wall_offset
    low, high = ended + INBOUND_MATCH_S[0], min(ended + INBOUND_MATCH_S[1], heard)
    found = [m for m in marks if low <= m[0] <= high]
    if not found:
        return
    frame_in, sent = found[-1]
    out["inbound_to_worker_ms"].append((frame_in - ended) * 1000)
    out["inbound_worker_ms"].append((sent - frame_in) * 1000)
    out["inbound_to_model_ms"].append((heard - sent) * 1000)


def _split_outbound(out: dict[str, list[float]], marks: list[float], wall_offset: float,
                    sent_at: float, heard_at: float) -> None:
    """Split one reply's outbound time at the worker's mark (monotonic -> wall: `wall_offset`)."""
    sent, heard = sent_at + wall_offset, heard_at + wall_offset
    queued = next((m for m in marks if sent <= m <= heard), None)
    if queued is not None:
        out["outbound_agent_ms"].append((queued - sent) * 1000)
        out["outbound_transport_ms"].append((heard - queued) * 1000)


def measure_call(result: CallResult, marks: list[float] | None = None,
                 wall_offset: float = 0.0,
                 inbound_marks: list[tuple[float, float]] | None = None,
                 ) -> dict[str, list[float]]:
    report = result.report
    out: dict[str, list[float]] = {key: [] for key in FIGURES}
    out.update(backchannels=[], backchannels_cancelled=[], interruptions=[],
               interruptions_missed=[])
    if report.greeting_ms is not None:
        out["greeting_ms"].append(report.greeting_ms)
    if report.greeting_onset_ms is not None:
        out["greeting_onset_ms"].append(report.greeting_onset_ms)
    first_replies = {t.turn_index: t for t in result.sim_turn_timings
                     if t.turn_index is not None and t.speech_stopped_at is not None}
    turns = report.turns
    for position, turn in enumerate(turns):
        next_start = (turns[position + 1].speech_started_at if position + 1 < len(turns)
                      else float("inf"))
        if turn.barged_in:
            if turn.agent_stopped_at is not None:
                stop_ms = (turn.agent_stopped_at - turn.speech_started_at) * 1000
                out["barge_in_stop_ms"].append(stop_ms)
                out.setdefault(f"{BY_LINE}{turn.text}", []).append(stop_ms)
            heard_after = any(
                (s.ended_at is None or s.ended_at > turn.speech_ended_at + RESUMED_AFTER_S)
                and s.started_at < next_start for s in report.segments)
            if is_backchannel(turn.text, DEFAULT_BACKCHANNELS):
                out["backchannels"].append(1)
                out["backchannels_cancelled"].append(0 if heard_after else 1)
                continue
            out["interruptions"].append(1)
            # talked on through: agent audio kept going until after the caller had finished
            stopped = (turn.agent_stopped_at is not None
                       and turn.agent_stopped_at <= turn.speech_ended_at)
            out["interruptions_missed"].append(0 if stopped else 1)
        timing = first_replies.get(turn.index)
        if turn.agent_reply_started_at is None or timing is None:
            continue
        window = timing.silence_window_ms or 0
        total = (turn.agent_reply_started_at - turn.speech_ended_at) * 1000
        model = float(timing.reply_delay_ms)
        if timing.speech_stopped_at is not None and timing.first_audio_at is not None:
            model = (timing.first_audio_at - timing.speech_stopped_at) * 1000
            out["response_inbound_ms"].append(
                (timing.speech_stopped_at - turn.speech_ended_at) * 1000 - window)
            if inbound_marks:
                # the simulator heard the last loud audio a window before it declared the stop
                _split_inbound(out, inbound_marks, wall_offset, turn.speech_ended_at,
                               timing.speech_stopped_at - window / 1000)
            out["response_outbound_ms"].append(
                (turn.agent_reply_started_at - timing.first_audio_at) * 1000)
            if marks:
                _split_outbound(out, marks, wall_offset, timing.first_audio_at,
                                turn.agent_reply_sound_at or turn.agent_reply_started_at)
        out["response_total_ms"].append(total)
        out.setdefault(f"{BY_WINDOW}{window}", []).append(total)
        out["turn_detection_window_ms"].append(window)
        out["response_model_ms"].append(model)
        # the simulator's own processing stays in: only its scripted waits are not ours
        out["response_overhead_ms"].append(total - window - timing.reply_delay_ms)
        out.setdefault(f"{REPLY_BY_LINE}{turn.text}", []).append(
            total - window - timing.reply_delay_ms)
        if turn.agent_reply_sound_at is not None:
            onset = (turn.agent_reply_sound_at - turn.speech_ended_at) * 1000
            out["response_overhead_onset_ms"].append(onset - window - timing.reply_delay_ms)
    if report.disconnected_at is not None and turns:
        goodbye = turns[-1]
        out["goodbye_to_hangup_ms"].append(
            (report.disconnected_at - goodbye.speech_ended_at) * 1000)
        last_audio = max((s.ended_at for s in report.segments if s.ended_at is not None),
                         default=None)
        if last_audio is not None and last_audio >= goodbye.speech_ended_at:
            out["after_agent_goodbye_ms"].append((report.disconnected_at - last_audio) * 1000)
    return out


def _rate(flags: list[float]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def _window_of(key: str) -> float:
    return float(key.removeprefix(BY_WINDOW)) if key.startswith(BY_WINDOW) else 0.0


def summarize_run(samples: dict[str, list[float]], floor: list[float]) -> dict[str, Any]:
    floor_ms = percentile(floor, 50) if floor else None
    figures: dict[str, Any] = {}
    for key in FIGURES:
        hops = HOPS.get(key)
        figures[key] = (_with_floor(samples[key], hops, floor_ms) if hops is not None
                        else dict(summarize(samples[key])))
    return {
        "transport_floor_ms": round(floor_ms, 1) if floor_ms is not None else None,
        "transport_floor": summarize(floor),
        **figures,
        "backchannels": len(samples["backchannels"]),
        "interruptions": len(samples["interruptions"]),
        "response_total_by_window_ms": {
            key.removeprefix(BY_WINDOW): summarize(values)
            for key, values in sorted(samples.items(), key=lambda kv: _window_of(kv[0]))
            if key.startswith(BY_WINDOW)},
        "response_overhead_by_line_ms": {
            key.removeprefix(REPLY_BY_LINE): _with_floor(values, HOPS["response_overhead_ms"],
                                                         floor_ms)
            for key, values in samples.items() if key.startswith(REPLY_BY_LINE)},
        "barge_in_stop_by_line_ms": {
            key.removeprefix(BY_LINE): _with_floor(values, HOPS["barge_in_stop_ms"], floor_ms)
            for key, values in samples.items() if key.startswith(BY_LINE)},
        "false_barge_in_rate": _rate(samples["backchannels_cancelled"]),
        "missed_interruption_rate": _rate(samples["interruptions_missed"]),
    }


def _with_floor(values: list[float], hops: int, floor_ms: float | None) -> dict[str, Any]:
    figure: dict[str, Any] = dict(summarize(values))
    if floor_ms is not None and values:
        figure["over_floor"] = summarize([v - hops * floor_ms for v in values])
    return figure


async def run_latency_benchmark(calls: int, scenario_path: Path = LATENCY_SCENARIO, *,
                                samples_out: bool = False) -> dict[str, Any]:
    """`samples_out`: also every sample of each figure, so runs can be pooled and compared."""
    from realtime_simulator import load_scenario

    scenario = load_scenario(scenario_path)
    samples: dict[str, list[float]] = {}
    failures = 0
    results: list[CallResult] = []
    os.environ["INTAKE_STAGE_MARKS"] = "1"  # the worker logs when it queues each line
    wall_offset = time.time() - time.monotonic()
    async with LocalStack(scenario=scenario, idle_processes=2) as stack:
        assert stack.livekit is not None
        floor = await measure_transport_floor(stack.livekit.url, stack.livekit.api_key,
                                              stack.livekit.api_secret)
        for _ in range(calls):
            try:
                result = await stack.place_call()
            except TimeoutError:
                failures += 1
                continue
            results.append(result)
            if result.report.errors:
                failures += 1
        marks = first_frame_marks(stack.log_dir)
        inbound = caller_speech_marks(stack.log_dir)
        decisions = barge_in_decisions(stack.log_dir)
    for result in results:
        for key, values in measure_call(result, marks, wall_offset, inbound).items():
            samples.setdefault(key, []).extend(values)
    for key in (*FIGURES, "backchannels", "backchannels_cancelled", "interruptions",
                "interruptions_missed"):
        samples.setdefault(key, [])
    summary: dict[str, Any] = {
        "calls": calls,
        "failed_calls": failures,
        **summarize_run(samples, floor),
        # each pause: interrupted, resumed, or unconfirmed (the early cue, no speech after it)
        "barge_in_decisions": decisions,
        "targets_ms": {"greeting_p95_over_floor": 100, "barge_in_stop_p95_over_floor": 100,
                       "response_overhead_p95": 100, "goodbye_to_hangup_p95": 1500,
                       "false_barge_in_rate": 0.1, "missed_interruption_rate": 0.0},
    }
    if samples_out:
        summary["samples_ms"] = every_sample(samples, floor)
    return summary


def every_sample(samples: dict[str, list[float]], floor: list[float]) -> dict[str, list[float]]:
    """Each figure's samples as measured (ms), and the floor's, for pooling several runs."""
    every = {key: [round(v, 2) for v in samples.get(key, [])] for key in FIGURES}
    every["transport_floor"] = [round(v, 2) for v in floor]
    return every
