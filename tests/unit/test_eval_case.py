"""Eval case files: the shipped bank loads; a bad file names its line and field; others load."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio.room import frame_rms
from evals.caller_audio import pausing_speech
from evals.case import AnyOf, CaseError, Contains, load_bank, parse_case
from simulated_caller.caller import SAMPLE_RATE, SPEECH_RMS

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


PAUSING = GOOD.replace('  - caller: "Hi."\n    noise: car\n',
                       '  - caller: "It\'s five one two... five five five."\n    pause_ms: 600\n')


def test_a_pausing_line_is_spoken_in_parts_with_the_stated_silence(tmp_path: Path) -> None:
    case = parse_case(PAUSING, tmp_path / "pausing.yaml")
    assert case.extras[0].pause_ms == 600
    # the simulator's transcript is the whole line, pause mark included
    assert case.scenario.turns[0].caller == "It's five one two... five five five."
    whole = pausing_speech("It's five one two... five five five.", 600)
    parts = [pausing_speech(part, 600) for part in ("It's five one two", "five five five.")]
    assert len(whole) == len(parts[0]) + 2 * SAMPLE_RATE * 600 // 1000 + len(parts[1])
    silent = frame_rms_runs(whole)
    assert max(silent) >= 600 and max(silent) < 700  # the pause, plus the word's decay


@pytest.mark.parametrize(("text", "message"), [
    (PAUSING.replace("five one two... five", "five one two, five"), 'needs a "..."'),
    (PAUSING.replace("pause_ms: 600", "pause_ms: 20"), "greater than or equal to 100"),
    (GOOD.replace("noise: car", "audio: x.wav\n    pause_ms: 500"), "not a WAV file"),
])
def test_a_bad_pause_is_refused_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x.wav").write_bytes(b"")
    with pytest.raises(CaseError) as caught:
        parse_case(text, tmp_path / "bad.yaml")
    problems = [(p.where, p.message) for p in caught.value.problems]
    assert any("turns[0].pause_ms" in w and message in m for w, m in problems), problems


def frame_rms_runs(pcm: bytes) -> list[int]:
    """Lengths (ms) of the quiet stretches between sounds, in 10 ms frames."""
    step = SAMPLE_RATE // 100 * 2
    quiet = [frame_rms(pcm[i: i + step]) < SPEECH_RMS for i in range(0, len(pcm), step)]
    runs, run = [], 0
    for is_quiet in quiet:
        if is_quiet:
            run += 1
        elif run:
            runs.append(run * 10)
            run = 0
    return runs
