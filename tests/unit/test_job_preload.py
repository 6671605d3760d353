"""The forkserver preload (agent/job_preload.py): what it loads, and that a failure in it is
logged rather than raised (a raise would end livekit-agents' forkserver, and every call)."""

from __future__ import annotations

import logging
import sys

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
