"""`intake`: one CLI for everything a user does.

`dev`, `start`, `console`, `connect` and `download-files` are LiveKit's worker CLI, unchanged, so
`intake dev` is the worker in LiveKit dev mode (the same as `python -m agent dev`). Our own
subcommands sit beside them; each lives with the package it drives and registers itself here.
The CLI is the composition root, so it is the one place that may reach every package.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# a tuple, not a set: `intake --help` lists commands in this order on every run
LIVEKIT_WORKER_COMMANDS = ("dev", "start", "console", "connect", "download-files")

# modules exposing `register(subparsers)`; each keeps heavy imports inside its handlers
COMMAND_MODULES = (
    "agent.playbook_cli",
    "agent.doctor_cli",
    "agent.outbound_cli",
    "devstack.demo_cli",
    "benchmarks.cli",
    "state.cli",
    "sip.cli",
    "dashboard.cli",
    "evals.cli",
)


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 1 (or `exit_code`)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake",
        description="Phone intake voice agent. Worker commands (LiveKit's CLI): "
        + ", ".join(LIVEKIT_WORKER_COMMANDS) + ".",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in LIVEKIT_WORKER_COMMANDS:
        subparsers.add_parser(name, help=f"LiveKit worker CLI (see `intake {name} --help`)",
                              add_help=False)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a package that has not grown its commands yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from agent.env_file import load_env_file

    load_env_file()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in LIVEKIT_WORKER_COMMANDS:
        from agent.metrics_dir import prepare_metrics_dir, remove_metrics_dir

        # before livekit (and so prometheus_client) is imported: job processes' metrics
        metrics_dir = prepare_metrics_dir() if args_list[0] in {"dev", "start"} else None
        try:
            from agent.worker import run_worker_cli

            run_worker_cli(args_list)
        finally:
            remove_metrics_dir(metrics_dir)
        return 0
    parser = build_parser()
    args = parser.parse_args(args_list)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        result: int = handler(args)
    except CommandError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    raise SystemExit(main())
