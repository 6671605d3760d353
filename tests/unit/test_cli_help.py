"""`intake --help` is the same on every run: commands in a fixed order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agent.cli import LIVEKIT_WORKER_COMMANDS, build_parser

pytestmark = pytest.mark.unit


def _help(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-m", "agent", "--help"], env=env, check=True,
                          capture_output=True, text=True, timeout=60).stdout


def test_help_lists_worker_commands_first_in_a_fixed_order() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    names = list(actions[0].choices)  # type: ignore[arg-type]
    assert names[:len(LIVEKIT_WORKER_COMMANDS)] == list(LIVEKIT_WORKER_COMMANDS)
    assert names[:2] == ["dev", "start"]


def test_help_text_does_not_change_with_the_hash_seed() -> None:
    # set iteration order depends on PYTHONHASHSEED; a fixed order must not
    assert _help("1") == _help("2") == _help("3")
