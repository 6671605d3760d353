"""`intake bench vad` on a short run: the worker's Silero stream hears the phrases, and the
figures it reports are there and positive."""

from __future__ import annotations

import pytest

from benchmarks.vad_bench import caller_audio, run_vad_benchmark

pytestmark = pytest.mark.unit


def test_caller_audio_has_the_asked_length_with_speech_and_pauses() -> None:
    samples = caller_audio(4.0)
    assert samples.size == 4 * 24000
    loud = abs(samples.astype(int)) > 1000
    assert 0.1 < loud.mean() < 0.9


async def test_a_short_run_hears_speech_and_reports_its_cost() -> None:
    result = await run_vad_benchmark(4.0, 1)
    # at least one start and one end of speech, the same from both streams
    assert result["speech_events"]["lean_stream"] >= 2
    assert result["speech_events"]["lean_stream"] == result["speech_events"]["plugin_stream"]
    assert all(v > 0 for v in result["inference_ms_per_window"].values())
    assert result["inference_cores_per_call"] > 0
    assert set(result["cores_per_call"]) == {"lean_stream", "plugin_stream"}
    assert all(v > 0 for values in result["cpu_ms_per_call_minute"].values() for v in values)


def test_the_onset_of_each_barge_in_line_is_measured_and_silence_has_none() -> None:
    import numpy as np
    from livekit.plugins.silero import onnx_model

    from agent.lean_vad import LeanSileroVAD, speech_onset_s
    from agent.process_vad import process_vad
    from benchmarks.vad_bench import barge_in_lines, barge_in_onsets

    onsets = barge_in_onsets()
    assert list(onsets) == barge_in_lines() and len(onsets) >= 4
    heard = {line: [v for v in values if v is not None] for line, values in onsets.items()}
    assert all(len(values) == 3 and all(0 < v < 300 for v in values)
               for values in heard.values())
    # a fricative onset is not speech to Silero until its vowel: heard longer than a vowel's
    assert min(heard["Sorry, can I stop you there?"]) > max(heard["Okay."])
    vad_model = process_vad()
    assert isinstance(vad_model, LeanSileroVAD)
    model = onnx_model.OnnxModel(onnx_session=vad_model.session, sample_rate=16000)
    assert speech_onset_s(np.zeros(24000, np.int16), 24000, vad_model.options, model, 480) is None


def test_the_early_cue_is_measured_on_each_line_and_never_later_than_silero() -> None:
    from benchmarks.vad_bench import barge_in_lines, barge_in_onsets, cue_ms

    onsets = barge_in_onsets()
    for line in barge_in_lines():
        cued, started = cue_ms(line), onsets[line]
        assert all(c is not None for c in cued)
        assert all(c <= s for c, s in zip(cued, started, strict=True)
                   if c is not None and s is not None)
