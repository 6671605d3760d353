"""The forkserver preload (agent/job_preload.py): what it loads, and that a failure in it is
logged rather than raised (a raise would end livekit-agents' forkserver, and every call)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.unit


def test_the_preload_loads_the_calls_code_and_silero() -> None:
    import agent.job_preload  # noqa: F401
    from agent import process_vad

    assert "agent.call_session" in sys.modules and "tools.spoken_dates" in sys.modules
    assert process_vad._VAD is not None


def test_a_failing_preload_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    import agent.job_preload as preload

    def fails() -> None:
        raise RuntimeError("no word data")

    monkeypatch.setattr(preload, "load_word_data", fails)
    with caplog.at_level(logging.WARNING, logger="intake.worker"):
        preload._preload()
    assert "forkserver preload failed" in caplog.text


def test_a_fixed_lines_frames_are_built_once_per_process_and_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The forkserver builds the prewarm's lines once; a job process gets the same objects
    (their pages shared copy-on-write), unless the line's audio comes from elsewhere."""
    from agent.assets import prerendered_frames
    from agent.voice_cache import realtime_voice, store_line
    from tests.unit.test_voice_lines import settings_for

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = settings_for("http://127.0.0.1:9/v1")
    line = "Thanks for holding, someone will be right with you."
    espeak = prerendered_frames(line, settings)
    assert prerendered_frames(line, settings) is espeak
    # the model's rendering of the line, once cached, is what plays
    tone = (3000 * np.sin(np.arange(4800) * 2 * np.pi * 440 / 24000)).astype("<i2").tobytes()
    store_line(realtime_voice(settings), line, tone)
    in_voice = prerendered_frames(line, settings)
    assert in_voice is not espeak
    assert b"".join(bytes(f.data) for f in in_voice).startswith(tone[:960])
    # another cache folder is another source
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
    assert prerendered_frames(line, settings) is not in_voice
