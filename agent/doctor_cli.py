"""`intake doctor`: the checks the worker makes at start, without starting it.

Configuration (the same `load_settings` the worker runs, so the booking policy too), the
playbook, and the OpenAI models: each configured model must still be listed by the models
endpoint, and one that shuts down within 60 days gets a warning naming the date. Exit 0 when
nothing is wrong (warnings allowed), 2 otherwise.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

EXIT_PROBLEM = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check configuration, playbook and OpenAI models as the worker would")
    parser.add_argument("--production", action="store_true",
                        help="check as `intake start` does (default: INTAKE_ENV, else "
                        "development)")
    parser.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from agent.config import ConfigError, load_settings
    from agent.model_check import any_gone, check_models_blocking
    from agent.realtime_model import configured_models
    from tools.playbook import PlaybookError, load_playbook

    production = args.production or os.environ.get("INTAKE_ENV") == "production"
    try:
        settings = load_settings(production=production)
    except ConfigError as exc:
        print(f"error: {exc}")
        return EXIT_PROBLEM
    print(f"ok: configuration ({'production' if production else 'development'})")
    try:
        playbook = load_playbook(settings.playbook_path)
    except PlaybookError as exc:
        for line in exc.errors:
            print(f"error: {line}")
        return EXIT_PROBLEM
    print(f"ok: playbook {settings.playbook_path}: {playbook.summary()}")
    statuses = check_models_blocking(configured_models(settings),
                                     base_url=settings.openai_base_url,
                                     api_key=settings.openai_api_key or "")
    for status in statuses:
        print(status.line())
    return EXIT_PROBLEM if any_gone(statuses) else 0
