"""Playbook loading and `intake playbook check`: every error with its line and field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.cli import main
from tests.unit.test_tools_fakes import EXAMPLE_PLAYBOOK, example_playbook_text
from tools.playbook import PlaybookError, load_playbook

pytestmark = pytest.mark.unit

EXAMPLE = example_playbook_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def errors_for(path: Path) -> list[str]:
    with pytest.raises(PlaybookError) as error:
        load_playbook(path)
    return error.value.errors


def test_example_playbook_is_valid() -> None:
    playbook = load_playbook(EXAMPLE_PLAYBOOK)
    assert list(playbook.fields) == ["problem", "location", "deadline", "budget",
                                     "decision_maker", "followup_channel", "name", "phone"]
    assert playbook.fields["budget"].enum_values == ["low", "medium", "high", "unknown"]
    assert playbook.fields["followup_channel"].enum_values == ["phone", "sms", "email"]
    assert [n for n, f in playbook.fields.items() if f.confirm] == ["deadline", "phone"]
    assert playbook.recording_consent.required
    assert playbook.transfer_number == "+15125550100"
    assert set(playbook.escalation) == {"pricing", "legal", "urgent", "human_request"}


def test_hours_are_spoken_and_checked_in_the_business_time_zone() -> None:
    hours = load_playbook(EXAMPLE_PLAYBOOK).business_hours
    assert hours.spoken() == ("We're open Monday to Friday 8 AM to 6 PM, Saturday 9 AM to 1 PM, "
                              "closed Sunday.")
    # 15:00 UTC on a Monday is 09:00 in Chicago; 13:00 UTC is 07:00
    assert hours.is_open(datetime(2025, 3, 3, 15, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2025, 3, 3, 13, 0, tzinfo=UTC))


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "business_name: x\nservices:\n  - [a, b\nfields: {}\n")
    (error,) = errors_for(path)
    assert error.startswith(f"{path}:4: (yaml): ")


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE + "retention_days: 30\n")
    (error,) = errors_for(path)
    assert "duplicate key" in error


def test_missing_wrong_type_and_bad_values_are_all_listed_with_lines(tmp_path: Path) -> None:
    text = (EXAMPLE
            .replace("business_name: Brightline Home Services\n", "")
            .replace("retention_days: 90", "retention_days: ninety")
            .replace("type: phone\n", "type: phone_number\n")
            .replace("time_zone: America/Chicago", "time_zone: Mars/Olympus")
            .replace('saturday: "09:00-13:00"', 'saturday: "13:00-09:00"')
            .replace('transfer_number: "+15125550100"', 'transfer_number: "555-0100"'))
    path = write(tmp_path, text)
    errors = errors_for(path)
    expected = {
        "retention_days": line_of(text, "retention_days:"),
        "fields.phone.type": line_of(text, "type: phone_number"),
        "business_hours.time_zone": line_of(text, "Mars/Olympus"),
        "business_hours.weekly.saturday": line_of(text, "saturday:"),
        "transfer_number": line_of(text, "transfer_number:"),
    }
    for field_path, line in expected.items():
        assert any(e.startswith(f"{path}:{line}: {field_path}: ") for e in errors), (
            field_path, errors)
    assert any(": business_name: Field required" in e for e in errors)
    assert len(errors) == 6


def test_type_specific_rules(tmp_path: Path) -> None:
    text = (EXAMPLE
            .replace("    choices:\n", "")
            .replace("      phone: [call, phone call, call me, ring]\n", "")
            .replace("      sms: [text, text message, texting, message]\n", "")
            .replace("      email: [e-mail, mail, email me]\n", "")
            .replace("        up_to: 2500", "        up_to: 100"))
    path = write(tmp_path, text)
    errors = errors_for(path)
    assert any(f":{line_of(text, '  followup_channel:')}: fields.followup_channel: an enum "
               "field needs `choices`" in e for e in errors), errors
    assert any("fields.budget: bucket `up_to` values must be strictly ascending" in e
               for e in errors)


def test_unknown_keys_are_errors(tmp_path: Path) -> None:
    text = EXAMPLE.replace("    confirm: true\n    ask: What's the best",
                           "    confirmed: true\n    ask: What's the best")
    path = write(tmp_path, text)
    (error,) = errors_for(path)
    assert error == (f"{path}:{line_of(text, 'confirmed: true')}: fields.phone.confirmed: "
                     "Extra inputs are not permitted")


def test_prices_in_speakable_text_are_rejected(tmp_path: Path) -> None:
    text = EXAMPLE.replace("description: leaks, clogged drains,",
                           "description: from $99, leaks, clogged drains,")
    path = write(tmp_path, text)
    (error,) = errors_for(path)
    assert f":{line_of(text, 'from $99')}: services.0.description: must not contain prices" in error


def test_unreadable_file(tmp_path: Path) -> None:
    (error,) = errors_for(tmp_path / "missing.yaml")
    assert "cannot read" in error


def test_cli_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playbook", "check", str(EXAMPLE_PLAYBOOK)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "Brightline Home Services: 8 fields (6 required)" in out


def test_cli_check_lists_every_error_and_exits_2(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.replace("retention_days: 90", "retention_days: -1").replace(
        "max_call_seconds: 600", "max_call_seconds: lots")
    path = write(tmp_path, text)
    assert main(["playbook", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line_of(text, 'retention_days')}: retention_days:" in err
    assert f"{path}:{line_of(text, 'max_call_seconds')}: call_limits.max_call_seconds:" in err
    assert "invalid (2 errors)" in err


def test_cli_try_prints_the_category_trigger_and_action(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), "pipes have burst upstairs"]) == 0
    assert capsys.readouterr().out == (
        'urgent: trigger "burst pipe" (heard "pipes have burst"), action transfer\n')
    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), "the toilet runs"]) == 0
    assert capsys.readouterr().out == "no escalation\n"


def test_cli_try_json_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), "can I sue him", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == {"category": "legal", "trigger": "can I sue",
                               "action": "follow_up", "overruled": None}
    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), "hello there", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"category": None, "trigger": None,
                                                   "action": None, "overruled": None}


def test_cli_try_says_when_the_examples_overruled_a_phrase(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The playbook's author sees why a phrase they wrote did not fire."""
    import json

    sentence = ("our old contract with the previous heating firm ended so we'd like someone new "
                "for the yearly service")
    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), sentence]) == 0
    assert capsys.readouterr().out == (
        'no escalation: legal trigger "contract" (heard "contract") matched, but the '
        "playbook's examples call the sentence ordinary\n")
    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), sentence, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "category": None, "trigger": None, "action": None,
        "overruled": {"category": "legal", "trigger": "contract"}}


def test_cli_try_reads_the_fourth_rounds_rules(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    sentence = "the pipe under the kitchen sink just broke"
    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), sentence]) == 0
    assert capsys.readouterr().out == (
        'urgent: trigger "burst pipe" (heard "pipe under the kitchen sink just broke"), '
        "action transfer\n")
    visit = "can you get me someone out here today"
    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), visit, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["category"] is None
    assert main(["playbook", "try", str(EXAMPLE_PLAYBOOK), "just get me a person", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "category": "human_request", "trigger": "give me a person", "action": "transfer",
        "overruled": None}


def test_cli_try_on_a_bad_playbook_lists_its_errors_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, EXAMPLE.replace("retention_days: 90", "retention_days: -1"))
    assert main(["playbook", "try", str(path), "a pipe burst", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "retention_days" in captured.err
