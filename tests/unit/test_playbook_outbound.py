"""The playbook's `outbound` block: defaults, and every bad value named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from tests.unit.test_tools_fakes import EXAMPLE_PLAYBOOK, example_playbook_text
from tools.playbook import PlaybookError, load_playbook

pytestmark = pytest.mark.unit

EXAMPLE = example_playbook_text()


def without_outbound_block(text: str) -> str:
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("outbound:"))
    end = next(i for i in range(start + 1, len(lines))
               if lines[i].strip() and not lines[i].startswith((" ", "#")))
    return "".join(lines[:start] + lines[end:])


def with_outbound(tmp_path: Path, block: str) -> tuple[Path, str]:
    text = without_outbound_block(EXAMPLE) + "\noutbound:\n" + block
    path = tmp_path / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, needle: str) -> int:
    return max(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def errors_for(path: Path) -> list[str]:
    with pytest.raises(PlaybookError) as error:
        load_playbook(path)
    return error.value.errors


def test_the_example_block() -> None:
    outbound = load_playbook(EXAMPLE_PLAYBOOK).outbound
    assert outbound.ring_timeout_seconds == 30
    assert outbound.calling_hours is not None
    assert outbound.calling_hours.saturday == "10:00-13:00"
    assert outbound.voicemail_message is not None
    assert outbound.voicemail_message.startswith("Hi, this is Brightline Home Services")


def test_without_the_block_calls_follow_the_business_hours(tmp_path: Path) -> None:
    path = tmp_path / "playbook.yaml"
    path.write_text(without_outbound_block(EXAMPLE), encoding="utf-8")
    playbook = load_playbook(path)
    assert playbook.outbound.calling_hours is None
    assert playbook.calling_hours.weekly == playbook.business_hours.weekly
    assert playbook.calling_hours.time_zone == "America/Chicago"
    assert playbook.outbound.ring_timeout_seconds == 30


def test_bad_values_are_listed_with_their_lines(tmp_path: Path) -> None:
    path, text = with_outbound(tmp_path, (
        "  calling_hours:\n"
        "    monday: 9-5\n"
        "  voicemail_message: Hi {name}, call Brightline back.\n"
        "  callback_number: '555-0100'\n"
        "  ring_timeout_seconds: 3\n"
    ))
    errors = errors_for(path)
    expected = {
        "outbound.calling_hours.monday": (line_of(text, "monday: 9-5"), "expected 'HH:MM-HH:MM'"),
        "outbound.voicemail_message": (line_of(text, "voicemail_message:"),
                                       "no placeholders or brackets"),
        "outbound.callback_number": (line_of(text, "callback_number:"), "E.164"),
        "outbound.ring_timeout_seconds": (line_of(text, "ring_timeout_seconds: 3"),
                                          "greater than or equal to 10"),
    }
    for field_path, (line, message) in expected.items():
        assert any(e.startswith(f"{path}:{line}: {field_path}: ") and message in e
                   for e in errors), (field_path, errors)


def test_calling_hours_closed_every_day_are_an_error(tmp_path: Path) -> None:
    path, text = with_outbound(tmp_path, "  calling_hours:\n    sunday: closed\n")
    (error,) = errors_for(path)
    assert error == (f"{path}:{line_of(text, 'calling_hours:')}: outbound.calling_hours: "
                     "calling_hours must be open on at least one day")


def test_long_or_priced_voicemail_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    path, text = with_outbound(tmp_path, (
        f"  voicemail_message: {'Please call us back. ' * 20}\n"
        "  opening: Hi, this is Brightline, an AI assistant, with a $50 coupon.\n"
        "  dial_hours: always\n"
    ))
    errors = errors_for(path)
    assert any(f":{line_of(text, 'voicemail_message:')}: outbound.voicemail_message: "
               "String should have at most 300 characters" in e for e in errors), errors
    assert any(f":{line_of(text, 'opening:')}: outbound.opening: must not contain prices" in e
               for e in errors), errors
    assert any(f":{line_of(text, 'dial_hours:')}: outbound.dial_hours: Extra inputs" in e
               for e in errors), errors


def test_cli_check_reports_outbound_errors_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, text = with_outbound(tmp_path, "  ring_timeout_seconds: 500\n")
    assert main(["playbook", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f"{path}:{line_of(text, 'ring_timeout_seconds')}: outbound.ring_timeout_seconds: "
            in err)
