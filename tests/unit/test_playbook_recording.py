"""`recording.enabled: false` turns recording off, and the playbook check refuses any text
that would still tell callers the call is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from tests.unit.test_tools_fakes import EXAMPLE_PLAYBOOK, example_playbook_text
from tools.playbook import PlaybookError, load_playbook

pytestmark = pytest.mark.unit

EXAMPLE = example_playbook_text()
NO_CONSENT = EXAMPLE.replace(
    "recording_consent:\n  required: true\n  text: This call is recorded so our team can review "
    "your request.\n", "recording_consent:\n  required: false\nrecording:\n  enabled: false\n")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_recording_is_on_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    assert load_playbook(EXAMPLE_PLAYBOOK).recording.enabled
    assert NO_CONSENT != EXAMPLE
    assert not load_playbook(_write(tmp_path, NO_CONSENT)).recording.enabled


def test_recording_off_with_a_recording_notice_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.replace("retention_days: 90", "retention_days: 90\nrecording:\n"
                           "  enabled: false")
    path = _write(tmp_path, text)
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    line = 1 + next(i for i, row in enumerate(text.splitlines(), 1)
                   if row.startswith("recording_consent"))  # its "required:" line
    assert caught.value.errors == [
        f"{path}:{line}: recording_consent.required: recording.enabled is false, so no consent "
        "to a recording can be asked for"]
    assert main(["playbook", "check", str(path)]) == 2
    assert "recording_consent.required" in capsys.readouterr().err


@pytest.mark.parametrize(("old", "new", "path"), [
    ("greeting: Thanks for calling Brightline Home Services.",
     "greeting: Thanks for calling Brightline. Calls are recorded.", "greeting"),
    ("ai_disclosure: I'm an AI assistant,", "ai_disclosure: I'm an AI assistant and we record "
     "every call,", "ai_disclosure"),
    ("    AI assistant, and I can take down the details for our team.",
     "    AI assistant, and this call is being recorded.", "outbound.opening"),
])
def test_any_text_still_claiming_a_recording_is_refused(tmp_path: Path, old: str, new: str,
                                                        path: str) -> None:
    assert old in NO_CONSENT
    text = NO_CONSENT.replace(old, new)
    file = _write(tmp_path, text)
    with pytest.raises(PlaybookError) as caught:
        load_playbook(file)
    [error] = caught.value.errors
    first_key = path.split(".")[0]
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith(first_key))
    if "." in path:
        sub = path.split(".")[1]
        line = next(i for i, row in enumerate(text.splitlines(), 1)
                    if i > line and row.strip().startswith(sub))
    assert error == (f"{file}:{line}: {path}: recording.enabled is false, but this text tells "
                     "callers the call is recorded")
