"""`intake playbook check FILE`: validate a playbook the way the worker does at start-up."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_INVALID = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("playbook", help="work with playbook files")
    commands = parser.add_subparsers(dest="playbook_command", metavar="SUBCOMMAND")
    check = commands.add_parser(
        "check", help="validate a playbook; exit 0 when valid, 2 listing every error"
    )
    check.add_argument("file", metavar="FILE", help="path to the playbook YAML")
    check.set_defaults(func=_check)
    parser.set_defaults(func=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_INVALID


def _check(args: argparse.Namespace) -> int:
    from tools.playbook import PlaybookError, load_playbook

    try:
        playbook = load_playbook(args.file)
    except PlaybookError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        count = len(exc.errors)
        print(f"{args.file}: invalid ({count} error{'s' if count != 1 else ''})", file=sys.stderr)
        return EXIT_INVALID
    print(f"{args.file}: ok: {playbook.summary()}")
    return 0
