"""`intake bench ...`: latency, load, store, guard, dashboard, recording, vad, supervision (JSON).

Failures print one line on stderr (`intake: ...`) and return a non-zero exit code; this module
does not import the CLI that loads it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _fail(message: str, exit_code: int = 2) -> int:
    print(f"intake: {message}", file=sys.stderr)
    return exit_code


def register(subparsers: Any) -> None:
    bench = subparsers.add_parser("bench", help="benchmarks (JSON on stdout)")
    sub = bench.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    latency = sub.add_parser("latency", help="greeting, response overhead and barge-in latency")
    latency.add_argument("--calls", type=_at_least_one, default=10)
    latency.add_argument("--json", action="store_true", help="print JSON only (the default)")
    latency.add_argument("--samples", action="store_true",
                         help="also print every sample of each figure (to pool runs)")
    latency.set_defaults(func=_latency)
    load = sub.add_parser("load", help="concurrent calls on one worker: CPU, PSS, latency")
    load.add_argument("--max-calls", type=_at_least_one, default=12)
    load.add_argument("--step", type=_at_least_one, default=4)
    load.add_argument("--hold-seconds", type=_at_least_one, default=60,
                      help="how long each call lasts (at least)")
    load.add_argument("--worker-env", action="append", default=[], metavar="KEY=VALUE",
                      help="a worker setting to try (e.g. INTAKE_INPUT_AUTO_GAIN=0)")
    load.add_argument("--json", action="store_true", help="print JSON only (the default)")
    load.set_defaults(func=_load)
    store = sub.add_parser("store", help="hot-path event recording and Postgres throughput")
    store.add_argument("--events", type=int, default=5000)
    store.add_argument("--json", action="store_true", help="print JSON only (the default)")
    store.set_defaults(func=_store)
    guard = sub.add_parser("guard", help="escalation guard precision, recall and cost per turn")
    guard.add_argument("--playbook", default=None, help="playbook YAML (default: the example)")
    guard.add_argument("--data", default=None,
                       help="labelled sentences split dev/held-out (default: the shipped set)")
    guard.add_argument("--fresh", default=None,
                       help="labelled sentences of the fresh split (default: the shipped set)")
    guard.add_argument("--show-misses", action="store_true",
                       help="also list every sentence the guard got wrong")
    guard.add_argument("--json", action="store_true", help="print JSON only (the default)")
    guard.set_defaults(func=_guard)
    console = sub.add_parser("dashboard", help="console list and call page server time with "
                             "10,000 stored calls")
    console.add_argument("--calls", type=_at_least_one, default=10_000)
    console.add_argument("--requests", type=_at_least_one, default=200)
    console.add_argument("--json", action="store_true", help="print JSON only (the default)")
    console.set_defaults(func=_dashboard)
    recording = sub.add_parser("recording", help="CPU per call of the stereo call recording")
    recording.add_argument("--calls", type=int, default=5, help="offline calls to encode")
    recording.add_argument("--seconds", type=float, default=60.0, help="length of each call")
    recording.add_argument("--live-seconds", type=float, default=15.0,
                           help="seconds per live-room run (0: skip the live room)")
    recording.add_argument("--json", action="store_true", help="print JSON only (the default)")
    recording.set_defaults(func=_recording)
    vad = sub.add_parser("vad", help="CPU per call of the caller's local Silero VAD")
    vad.add_argument("--seconds", type=float, default=30.0, help="caller audio per run")
    vad.add_argument("--rounds", type=_at_least_one, default=2,
                     help="runs with the VAD and without, alternated")
    vad.add_argument("--json", action="store_true", help="print JSON only (the default)")
    vad.set_defaults(func=_vad)
    supervision = sub.add_parser("supervision",
                                 help="take-over stop latency and live transcript lag")
    supervision.add_argument("--calls", type=_at_least_one, default=5)
    supervision.add_argument("--json", action="store_true", help="print JSON only (the default)")
    supervision.set_defaults(func=_supervision)


def _latency(args: argparse.Namespace) -> int:
    from benchmarks.latency import run_latency_benchmark

    result = asyncio.run(run_latency_benchmark(args.calls, samples_out=args.samples))
    print(json.dumps(result))
    return 0 if result["failed_calls"] == 0 else 1


def _load(args: argparse.Namespace) -> int:
    from benchmarks.load import run_load_benchmark

    env = {}
    for item in args.worker_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return _fail(f"--worker-env wants KEY=VALUE, got {item!r}")
        env[key] = value
    result = asyncio.run(run_load_benchmark(args.max_calls, args.step, args.hold_seconds, env))
    print(json.dumps(result))
    return 0 if all(s["failed_calls"] == 0 for s in result["steps"]) else 1


def _store(args: argparse.Namespace) -> int:
    from benchmarks.store_bench import run_store_benchmark_with_local_servers

    result = asyncio.run(run_store_benchmark_with_local_servers(args.events))
    print(json.dumps(result))
    return 0


def _recording(args: argparse.Namespace) -> int:
    from benchmarks.recording_bench import run_recording_benchmark

    if args.calls < 1 or args.seconds <= 0 or args.live_seconds < 0:
        return _fail("--calls must be at least 1, --seconds positive, --live-seconds >= 0")
    result = asyncio.run(run_recording_benchmark(args.calls, args.seconds, args.live_seconds))
    print(json.dumps(result))
    return 0


def _vad(args: argparse.Namespace) -> int:
    from benchmarks.vad_bench import run_vad_benchmark

    if args.seconds <= 0:
        return _fail("--seconds must be positive")
    result = asyncio.run(run_vad_benchmark(args.seconds, args.rounds))
    print(json.dumps(result))
    return 0 if result["speech_events"] > 0 else 1


def _guard(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmarks.guard_bench import DATA_FILE, FRESH_FILE, DataError, run_guard_benchmark
    from devstack.paths import project_root
    from tools.playbook import PlaybookError

    playbook = Path(args.playbook or project_root() / "playbooks" / "home_services.yaml")
    try:
        result = run_guard_benchmark(playbook, Path(args.data) if args.data else DATA_FILE,
                                     Path(args.fresh) if args.fresh else FRESH_FILE,
                                     show_misses=args.show_misses)
    except PlaybookError as exc:
        return _fail(f"invalid playbook: {exc.errors[0]}")
    except (OSError, DataError) as exc:
        return _fail(f"cannot read the sentences: {exc}")
    print(json.dumps(result))
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from benchmarks.console_bench import run_console_benchmark_with_local_postgres

    result = asyncio.run(run_console_benchmark_with_local_postgres(
        calls=args.calls, requests=args.requests))
    print(json.dumps(result))
    return 0


def _supervision(args: argparse.Namespace) -> int:
    from benchmarks.supervision_bench import run_supervision_benchmark

    result = asyncio.run(run_supervision_benchmark(args.calls))
    print(json.dumps(result))
    return 0 if result["failed_calls"] == 0 else 1
