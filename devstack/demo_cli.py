"""`intake demo`: the whole stack, one simulated call, the live transcript and the record, and
the operator console on that record (a demo account with a fresh random password).

After the call the console stays up until Ctrl-C when stdin is a terminal (a person is
watching) or with --keep-dashboard; otherwise (CI, pipes) the demo ends by itself."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from devstack.paths import project_root

DEFAULT_SCENARIO = project_root() / "scenarios" / "demo_water_heater.yaml"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="start the local stack, place one simulated call, print the record")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO,
                        help="scenario YAML (default: %(default)s)")
    parser.add_argument("--playbook", type=Path, default=None,
                        help="playbook YAML (default: INTAKE_PLAYBOOK or the example)")
    parser.add_argument("--keep-dashboard", action=argparse.BooleanOptionalAction, default=None,
                        help="keep the console up after the call until Ctrl-C (default: only "
                        "when stdin is a terminal)")
    parser.set_defaults(func=_run)


def keep_console(flag: bool | None, stdin: Any) -> bool:
    """Keep the console up after the call? As asked, else only when a person is at a
    terminal: with no terminal (CI, a pipe, no stdin) the demo must end by itself."""
    if flag is not None:
        return flag
    try:
        return bool(stdin is not None and stdin.isatty())
    except (ValueError, OSError):  # a closed stdin
        return False


def _fail(message: str) -> int:
    print(f"intake: {message}", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace) -> int:
    from devstack.services import ToolMissingError
    from realtime_simulator import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        return _fail(f"bad scenario file {args.scenario}:\n{exc}")
    playbook = args.playbook or (Path(os.environ["INTAKE_PLAYBOOK"])
                                 if os.environ.get("INTAKE_PLAYBOOK") else None)
    if playbook is not None and not playbook.is_file():
        return _fail(f"playbook file not found: {playbook}")
    try:
        return asyncio.run(_demo(scenario, playbook,
                                 keep_dashboard=keep_console(args.keep_dashboard, sys.stdin)))
    except ToolMissingError as exc:
        return _fail(str(exc))


async def _demo(scenario: Any, playbook: Path | None, *, keep_dashboard: bool = False) -> int:
    from devstack.demo_console import demo_console
    from devstack.local_call import LocalStack
    from state.review import show_call

    use_real_openai = bool(os.environ.get("OPENAI_API_KEY"))
    print(f"intake demo: scenario '{scenario.name}', model: "
          f"{'OpenAI Realtime API' if use_real_openai else 'local Realtime simulator'}")
    started = time.monotonic()

    def on_transcript(role: str, text: str) -> None:
        print(f"  [{time.monotonic() - started:6.2f}s] {role:>6}: {text}", flush=True)

    stack = LocalStack(scenario=scenario, playbook=playbook,
                       use_simulator=not use_real_openai,
                       redis_url=os.environ.get("INTAKE_REDIS_URL") or None,
                       database_url=os.environ.get("INTAKE_DATABASE_URL") or None)
    print("  starting livekit-server, Redis, Postgres, simulator and worker ...", flush=True)
    async with stack, demo_console(stack.database_url or "", playbook) as console:
        print(f"  stack up in {time.monotonic() - started:.1f}s; calling", flush=True)
        started = time.monotonic()
        result = await stack.place_call(on_transcript=on_transcript)
        # the worker stores the outcome as the job shuts down
        record = await _wait_for_record(stack.database_url or "", result.call_id, show_call)
        code = _print_record(record, result, stack)
        print(f"review this call in the console: {console.url}calls/{result.call_id}")
        if keep_dashboard:
            print("the console stays up; press Ctrl-C to stop the demo", flush=True)
            # Ctrl-C (or SIGTERM) stops the console, then the demo tears the stack down
            await console.running.stopped()
    return code


def _print_record(record: dict[str, Any] | None, result: Any, stack: Any) -> int:
    report = result.report
    print()
    print("call record (Postgres):")
    print(json.dumps(_summary(record), indent=2, default=str))
    greeting = report.greeting_ms
    print(f"greeting heard {greeting:.0f} ms after the agent subscribed to the caller"
          if greeting is not None else "no greeting heard")
    print(f"logs: {stack.log_dir}")
    if not os.environ.get("INTAKE_DATABASE_URL"):
        print("note: INTAKE_DATABASE_URL is not set, so this record was kept in a Postgres of "
              "the demo's own, now gone; scripts/bootstrap writes .env with the local one")
    if record is None or report.first_agent_audio_at is None:
        print("intake demo: the call did not complete; see the logs above", file=sys.stderr)
        return 1
    return 0


def _summary(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an operator reads first; `intake calls show ID --json` has the whole record."""
    if record is None:
        return None
    return {
        "call": record["call"],
        "turns": [f"{t['role']}: {t['text']}" for t in record["turns"]],
        "events": len(record["events"]),
        "outcome": record["outcome"],
    }


async def _wait_for_record(database_url: str, call_id: str, show_call: Any,
                           timeout: float = 20.0) -> dict[str, Any] | None:
    """The worker stores the outcome as its job shuts down; the writer moves it to Postgres."""
    from state.postgres_record import PostgresRecordStore, create_pool

    pool = await create_pool(database_url, max_size=2)
    try:
        store = PostgresRecordStore(pool)
        deadline = time.monotonic() + timeout
        record: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            record = await show_call(store, call_id)
            if record is not None and record.get("outcome"):
                return record
            await asyncio.sleep(0.25)
        return record
    finally:
        await pool.close()
