"""Eval case files: the shipped bank loads; a bad file names its line and field; others load."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.case import AnyOf, CaseError, Contains, load_bank, parse_case

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
BANK = REPO / "evals" / "bank"

GOOD = """\
name: good
turns:
  - caller: "Hi."
    noise: car
    dtmf: "12#"
    agent:
      - say: "Hello."
  - hangup: true
expect:
  fields:
    phone: "+15125550142"
    problem: {contains: [leak]}
    followup_channel: {any_of: [sms, phone]}
  complete: false
  agent_never_says: ['\\$\\d']
"""


def test_the_shipped_bank_loads_with_at_least_25_cases() -> None:
    bank = load_bank(BANK)
    assert not bank.errors, [str(e) for e in bank.errors]
    assert len(bank.cases) >= 25
    assert len({c.name for c in bank.cases}) == len(bank.cases)


def test_a_case_is_a_scenario_plus_expect_and_turn_extras(tmp_path: Path) -> None:
    case = parse_case(GOOD, tmp_path / "good.yaml")
    assert case.scenario.turns[0].caller == "Hi."
    assert case.extras[0].noise == "car" and case.extras[0].dtmf == "12#"
    assert case.extras[1].noise is None
    assert case.expect.fields["phone"] == "+15125550142"
    assert case.expect.fields["problem"] == Contains(contains=("leak",))
    assert case.expect.fields["followup_channel"] == AnyOf(any_of=("sms", "phone"))


@pytest.mark.parametrize(("text", "where", "message"), [
    (GOOD.replace("complete: false", "complete: maybe"), "bad.yaml:14: expect.complete",
     "boolean"),
    (GOOD.replace("noise: car", "noise: rain"), "bad.yaml:4: turns[0].noise", "'street'"),
    (GOOD.replace('dtmf: "12#"', 'dtmf: "12A"'), "bad.yaml:5: turns[0].dtmf", "0-9"),
    (GOOD.replace("  complete: false\n", "  complet: false\n"), "bad.yaml:14: expect.complet",
     "Extra inputs"),
    (GOOD.replace("{contains: [leak]}", "{contain: [leak]}"),
     "bad.yaml:12: expect.fields.problem", ""),
    (GOOD.replace("  - caller: \"Hi.\"\n", "  - callr: \"Hi.\"\n"), "bad.yaml:3: turns[0].callr",
     "Extra inputs"),
    (GOOD.replace("- say: \"Hello.\"", "- sai: \"Hello.\""), "bad.yaml:7: turns[0].agent[0]",
     "'say' or 'tool'"),
    (GOOD.replace("['\\$\\d']", "['(unclosed']"), "bad.yaml:15: expect.agent_never_says",
     "regular expression"),
    (GOOD.split("expect:")[0], "bad.yaml: expect", "needs an 'expect' block"),
    ("name: [unclosed\n", "bad.yaml:2", "invalid YAML"),
])
def test_a_bad_case_names_line_and_field(tmp_path: Path, text: str, where: str,
                                         message: str) -> None:
    with pytest.raises(CaseError) as caught:
        parse_case(text, tmp_path / "bad.yaml")
    problems = [(p.where, p.message) for p in caught.value.problems]
    assert any(w.endswith(where) and message in m for w, m in problems), problems


def test_a_bad_file_in_a_bank_is_reported_and_the_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "a_good.yaml").write_text(GOOD)
    (tmp_path / "b_bad.yaml").write_text(GOOD.replace("complete: false", "complete: maybe"))
    (tmp_path / "c_dup.yaml").write_text(GOOD)
    (tmp_path / "d_missing_audio.yaml").write_text(
        GOOD.replace("name: good", "name: other").replace("noise: car", "audio: nope.wav"))
    bank = load_bank(tmp_path)
    assert [c.name for c in bank.cases] == ["good"]
    errors = {Path(e.source).name: e.problems for e in bank.errors}
    assert set(errors) == {"b_bad.yaml", "c_dup.yaml", "d_missing_audio.yaml"}
    assert errors["d_missing_audio.yaml"][0].where.endswith("d_missing_audio.yaml:4: "
                                                            "turns[0].audio")
    assert "file not found" in errors["d_missing_audio.yaml"][0].message
