"""`intake bench latency|store`: reproducible figures, printed as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any


def register(subparsers: Any) -> None:
    bench = subparsers.add_parser("bench", help="benchmarks (JSON on stdout)")
    sub = bench.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    latency = sub.add_parser("latency", help="greeting, response overhead and barge-in latency")
    latency.add_argument("--calls", type=int, default=10)
    latency.add_argument("--json", action="store_true", help="print JSON only (the default)")
    latency.set_defaults(func=_latency)
    store = sub.add_parser("store", help="hot-path event recording and Postgres throughput")
    store.add_argument("--events", type=int, default=5000)
    store.add_argument("--json", action="store_true", help="print JSON only (the default)")
    store.set_defaults(func=_store)


def _latency(args: argparse.Namespace) -> int:
    from benchmarks.latency import run_latency_benchmark

    if args.calls < 1:
        from agent.cli import CommandError

        raise CommandError("--calls must be at least 1")
    result = asyncio.run(run_latency_benchmark(args.calls))
    print(json.dumps(result))
    return 0 if result["failed_calls"] == 0 else 1


def _store(args: argparse.Namespace) -> int:
    from benchmarks.store_bench import run_store_benchmark_with_local_servers

    result = asyncio.run(run_store_benchmark_with_local_servers(args.events))
    print(json.dumps(result))
    return 0
