"""`intake eval` refuses bad arguments with one line and exit 2, before starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("argv", "message"), [
    (["eval", "/nonexistent/bank"], "bank folder not found"),
    (["eval", "--parallel", "0"], "--parallel takes 1 to 8"),
    (["eval", "a", "b"], "takes one BANK folder"),
    (["eval", "add-call", "only-id"], "usage: intake eval add-call CALL_ID BANK"),
])
def test_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_case_and_bad_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--case", "no-such-case"]) == 2
    assert "no such case in the bank: no-such-case" in capsys.readouterr().err
    baseline = tmp_path / "b.json"
    baseline.write_text("[1, 2]")
    assert main(["eval", "--baseline", str(baseline)]) == 2
    assert "no 'cases' list" in capsys.readouterr().err


def test_add_call_needs_a_bank_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_DATABASE_URL", "postgresql://127.0.0.1:9/none")
    assert main(["eval", "add-call", "abc", str(tmp_path / "missing")]) == 2
    assert "bank folder not found" in capsys.readouterr().err
