"""`intake demo` keeps the console up only for a person at a terminal, or when asked."""

from __future__ import annotations

import argparse
import io

import pytest

from devstack import demo_cli

pytestmark = pytest.mark.unit


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo_cli.register(parser.add_subparsers())
    return parser.parse_args(["demo", *argv])


def test_no_terminal_means_the_demo_ends_by_itself() -> None:
    args = _parse()
    assert args.keep_dashboard is None
    assert demo_cli.keep_console(args.keep_dashboard, io.StringIO()) is False
    assert demo_cli.keep_console(args.keep_dashboard, None) is False
    closed = io.StringIO()
    closed.close()
    assert demo_cli.keep_console(None, closed) is False


def test_a_terminal_or_the_flag_keeps_the_console() -> None:
    assert demo_cli.keep_console(_parse().keep_dashboard, _Tty()) is True
    assert demo_cli.keep_console(_parse("--keep-dashboard").keep_dashboard, io.StringIO())
    assert not demo_cli.keep_console(_parse("--no-keep-dashboard").keep_dashboard, _Tty())
