"""The load benchmark's other processes, so their CPU is not counted against the worker:
`python -m benchmarks.load_processes simulator ...` plays the model for every call at once;
`python -m benchmarks.load_processes callers ...` places N simulated calls at once and writes
what each caller heard as JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from livekit import api, rtc

from realtime_simulator import parse_scenario
from realtime_simulator.concurrent_calls import ConcurrentRealtimeSimulator
from simulated_caller import SimulatedCaller
from simulated_caller.caller import SAMPLE_RATE

# a stall this long between two frames of agent audio is a gap the caller hears
GAP_S = 0.1


class GapCountingCaller(SimulatedCaller):
    """Also counts stalls in the agent audio the caller receives while the agent talks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gaps = 0
        self.longest_gap_ms = 0.0

    def _on_track_subscribed(self, track: rtc.Track, pub: rtc.RemoteTrackPublication,
                             participant: rtc.RemoteParticipant) -> None:
        super()._on_track_subscribed(track, pub, participant)
        if (track.kind == rtc.TrackKind.KIND_AUDIO
                and participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT):
            self._spawn(self._watch_gaps(track), "caller-gap-watch")

    async def _watch_gaps(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SAMPLE_RATE, num_channels=1)
        last: float | None = None
        try:
            async for _event in stream:
                now = time.monotonic()
                if last is not None and self._agent_active and now - last > GAP_S:
                    self.gaps += 1
                    self.longest_gap_ms = max(self.longest_gap_ms, (now - last) * 1000)
                last = now
        finally:
            await stream.aclose()


async def _serve_simulator(args: argparse.Namespace, scenario_text: str) -> None:
    scenario = parse_scenario(scenario_text)
    sim = ConcurrentRealtimeSimulator(scenario, api_key=args.api_key, port=args.port)
    await sim.start()
    print(json.dumps({"base_url": sim.base_url}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.stop()


async def _one_call(args: argparse.Namespace, scenario_text: str,
                    index: int) -> dict[str, Any]:
    from devstack.local_call import caller_lines

    scenario = parse_scenario(scenario_text)
    call_id = f"load{index}{uuid.uuid4().hex[:8]}"
    room = f"call-{call_id}"
    await asyncio.sleep(index * args.stagger)
    async with api.LiveKitAPI(args.http_url, args.api_key_lk, args.secret) as lkapi:
        await lkapi.room.create_room(api.CreateRoomRequest(name=room, empty_timeout=30))
        await lkapi.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(
            agent_name=args.agent_name, room=room,
            metadata=json.dumps({"call_id": call_id, "source": "load-bench"})))
    token = (api.AccessToken(args.api_key_lk, args.secret).with_identity(f"caller-{index}")
             .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True,
                                          can_subscribe=True)).to_jwt())
    caller = GapCountingCaller(args.ws_url, token, caller_lines(scenario))
    started = time.monotonic()
    error: str | None = None
    try:
        report = await caller.run(greeting_timeout=30.0)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        report = caller.report
    return {"call_id": call_id, "error": error, "gaps": caller.gaps,
            "longest_gap_ms": round(caller.longest_gap_ms, 1),
            "seconds": round(time.monotonic() - started, 1), "report": asdict(report)}


async def _place_calls(args: argparse.Namespace, scenario_text: str) -> list[dict[str, Any]]:
    results = await asyncio.gather(*(_one_call(args, scenario_text, i)
                                     for i in range(args.calls)), return_exceptions=True)
    return [r if isinstance(r, dict) else {"error": repr(r), "gaps": 0, "report": None}
            for r in results]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_processes")
    sub = parser.add_subparsers(dest="role", required=True)
    sim = sub.add_parser("simulator")
    sim.add_argument("--scenario", required=True)
    sim.add_argument("--api-key", required=True)
    sim.add_argument("--port", type=int, default=0)
    callers = sub.add_parser("callers")
    callers.add_argument("--scenario", required=True)
    callers.add_argument("--calls", type=int, required=True)
    callers.add_argument("--stagger", type=float, default=0.5)
    callers.add_argument("--ws-url", required=True)
    callers.add_argument("--http-url", required=True)
    callers.add_argument("--api-key-lk", required=True)
    callers.add_argument("--secret", required=True)
    callers.add_argument("--agent-name", required=True)
    callers.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    scenario_text = Path(args.scenario).read_text()
    with contextlib.suppress(KeyboardInterrupt):
        if args.role == "simulator":
            asyncio.run(_serve_simulator(args, scenario_text))
        else:
            results = asyncio.run(_place_calls(args, scenario_text))
            Path(args.out).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
