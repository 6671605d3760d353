"""Caller data at rest: the speech cache holds fixed lines only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.assets import prerendered_frames
from agent.warm_transfer import briefing_text
from audio.speech import render_speech_pcm16, trim_trailing_silence
from tests.unit.test_tools_fakes import example_playbook
from tests.unit.test_voice_lines import settings_for

pytestmark = pytest.mark.unit


def cached_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_briefing_is_rendered_without_touching_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    briefing = briefing_text(example_playbook(), "pricing",
                             {"name": "Dana Smith", "phone": "+15125550142"})
    assert "Dana Smith" in briefing
    pcm = render_speech_pcm16(briefing, 8000, cache=False)
    assert len(pcm) > 0
    assert cached_files(tmp_path) == []
    # a fixed line is cached, once
    # a fixed line the worker never rendered in the model's voice: espeak-ng, cached once
    settings = settings_for("http://127.0.0.1:9/v1")
    prerendered_frames(example_playbook().transfer.hold_message, settings)
    prerendered_frames(example_playbook().transfer.hold_message, settings)
    assert len(cached_files(tmp_path)) == 1


def test_a_fixed_line_ends_without_the_synthesizers_tail_of_silence() -> None:
    rate = 24000
    tone = (3000 * np.sin(np.arange(rate // 2) * 2 * np.pi * 440 / rate)).astype("<i2")
    quiet_tail = np.zeros(rate * 300 // 1000, dtype="<i2")
    trimmed = np.frombuffer(trim_trailing_silence((np.concatenate([tone, quiet_tail])).tobytes(),
                                                  rate), dtype="<i2")
    # the speech stays whole, and at most 80 ms of the 300 ms tail
    assert np.array_equal(trimmed[:tone.size], tone)
    assert trimmed.size - tone.size <= rate * 80 // 1000 + 1
    # all silence (nothing to anchor on) is left as it is
    assert trim_trailing_silence(quiet_tail.tobytes(), rate) == quiet_tail.tobytes()


def test_prerendered_lines_have_no_long_silence_at_the_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = settings_for("http://127.0.0.1:9/v1")
    frames = prerendered_frames("That sounds urgent. Let me get someone.", settings)
    samples = np.concatenate([np.frombuffer(f.data, dtype="<i2") for f in frames])
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 300)
    tail_ms = (samples.size - loud[-1]) * 1000 / frames[0].sample_rate
    # espeak-ng leaves ~300 ms; frames are whole 10 ms, hence the slack over 80 ms
    assert tail_ms <= 100
