"""python -m realtime_simulator --scenario FILE --port P --api-key K"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from .scenario import ScenarioError, load_scenario
from .server import RealtimeSimulator


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m realtime_simulator",
        description="Serve the OpenAI Realtime WebSocket protocol locally, scripted by a scenario.",
    )
    parser.add_argument("--scenario", required=True, help="scenario YAML file")
    parser.add_argument("--api-key", required=True, help="the key clients must send as Bearer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--stream-speed", type=float, default=None, help="override audio_stream_speed"
    )
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    sim = RealtimeSimulator(
        scenario,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        stream_speed=args.stream_speed,
    )
    await sim.start()
    print(sim.base_url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    raise SystemExit(main())
