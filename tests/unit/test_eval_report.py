"""The eval report is one self-contained page; caller audio for noisy lines and WAV files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from evals.caller_audio import NOISE_PAD_MS, mix_noise, prepare_line_audio, wav_to_pcm16
from evals.case import load_case
from evals.report import write_report
from evals.results import run_json
from evals.runner import CaseResult
from evals.scoring import CallMetrics
from simulated_caller.caller import FRAME_MS, SAMPLE_RATE

pytestmark = pytest.mark.unit

BANK = Path(__file__).resolve().parents[2] / "evals" / "bank"


def test_the_report_is_self_contained_html_with_plots_and_escaped_transcripts(
        tmp_path: Path) -> None:
    results = [
        CaseResult(name="ok", path="ok.yaml", passed=True, call_id="c1",
                   metrics=CallMetrics(greeting_ms=180, response_ms=[500, 700],
                                       barge_in_ms=[250]),
                   transcript=[{"role": "caller", "text": "<script>alert(1)</script>"}],
                   end_reason="caller_hangup"),
        CaseResult(name="bad", path="bad.yaml", passed=False,
                   reasons=["fields.phone: not collected"], metrics=CallMetrics()),
    ]
    summary = run_json(results, [], None, wall_seconds=12.0, lanes=2, model="sim")
    page = write_report(summary, tmp_path / "report").read_text()
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") == 3  # turn types, per case, pass rate
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "fields.phone: not collected" in page
    # nothing loaded from elsewhere: no src= or href= other than in-page anchors
    assert not re.search(r"""(src|href)=['"](?!#)""", page)


def test_noise_goes_under_the_speech_and_only_speech_counts_as_voiced() -> None:
    rng = np.random.default_rng(1)
    speech = (rng.normal(0, 6000, SAMPLE_RATE // 2)).astype("<i2").tobytes()  # 500 ms
    mixed = mix_noise(speech, "street")
    pad = SAMPLE_RATE * NOISE_PAD_MS // 1000 * 2
    assert len(mixed) == len(speech) + 2 * pad
    lead_in = np.frombuffer(mixed[:pad], dtype="<i2").astype(np.float64)
    assert np.sqrt(np.mean(lead_in ** 2)) > 30  # the line is noisy before the first word
    case = load_case(BANK / "noisy_street.yaml")
    audio = prepare_line_audio(case)
    assert set(audio) == {0, 1, 2}
    first = audio[0]
    lead_frames = NOISE_PAD_MS // FRAME_MS
    assert not any(first.voiced[:lead_frames]) and any(first.voiced[lead_frames:])


def test_wav_caller_lines_are_read_and_resampled() -> None:
    pcm = wav_to_pcm16(BANK / "audio" / "dishwasher.wav")
    seconds = len(pcm) / 2 / SAMPLE_RATE
    assert 2.0 < seconds < 6.0
    audio = prepare_line_audio(load_case(BANK / "wav_caller.yaml"))
    assert set(audio) == {0, 1} and any(audio[0].voiced)
