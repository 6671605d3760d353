"""`intake playbook check FILE`: validate a playbook the way the worker does at start-up.
`intake playbook try FILE "caller sentence" [--json]`: what the escalation guard would do."""

from __future__ import annotations

import argparse
import json
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
    try_ = commands.add_parser(
        "try", help="the escalation the guard would fire for a caller sentence, if any")
    try_.add_argument("file", metavar="FILE", help="path to the playbook YAML")
    try_.add_argument("sentence", metavar="SENTENCE", help="what a caller might say")
    try_.add_argument("--json", action="store_true",
                      help='one line: {"category": ..., "trigger": ..., "action": ...}')
    try_.set_defaults(func=_try)
    parser.set_defaults(func=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_INVALID


def _load(path: str) -> Any:
    """The playbook, or None after listing its errors on stderr."""
    from tools.playbook import PlaybookError, load_playbook

    try:
        return load_playbook(path)
    except PlaybookError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        count = len(exc.errors)
        print(f"{path}: invalid ({count} error{'s' if count != 1 else ''})", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    playbook = _load(args.file)
    if playbook is None:
        return EXIT_INVALID
    print(f"{args.file}: ok: {playbook.summary()}")
    return 0


def _try(args: argparse.Namespace) -> int:
    from tools.escalation import EscalationGuard

    playbook = _load(args.file)
    if playbook is None:
        return EXIT_INVALID
    match = EscalationGuard.from_playbook(playbook).check(args.sentence)
    # a phrase that matched but the examples overruled: say so, or the playbook's author
    # wonders why their new phrase does nothing
    overruled = None if match is not None else EscalationGuard.from_playbook(
        playbook, overrule=False).check(args.sentence)
    if overruled is not None and overruled.probability is not None:
        overruled = None  # the model's own match, not a phrase's
    if args.json:
        print(json.dumps({
            "category": match.category if match else None,
            "trigger": match.phrase if match else None,
            "action": playbook.escalation[match.category].action if match else None,
            "overruled": ({"category": overruled.category, "trigger": overruled.phrase}
                          if overruled else None),
        }))
    elif overruled is not None:
        print(f"no escalation: {overruled.category} trigger \"{overruled.phrase}\" (heard "
              f"\"{overruled.heard}\") matched, but the playbook's examples call the sentence "
              "ordinary")
    elif match is None:
        print("no escalation")
    else:
        action = playbook.escalation[match.category].action
        found = (f"learned from {match.phrase} (p={match.probability:.2f})"
                 if match.probability is not None
                 else f"trigger \"{match.phrase}\" (heard \"{match.heard}\")")
        print(f"{match.category}: {found}, action {action}")
    return 0
