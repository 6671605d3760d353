"""The worker's inbound stage marks (agent/stage_marks.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from agent import stage_marks
from agent.stage_marks import (
    SENT_TO_MODEL_MARK,
    SPEECH_END_MARK,
    AppendTimes,
    mark_caller_speech_end,
)

pytestmark = pytest.mark.unit


class _Clock:
    """Stands in for the `time` module: `time()` reads the next of the given times."""

    def __init__(self, times: Iterator[float]) -> None:
        self._times = times

    def time(self) -> float:
        return next(self._times)


def test_append_times_keep_only_appends_and_find_the_first_after_a_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([10.00, 10.02, 10.04])
    monkeypatch.setattr(stage_marks, "time", _Clock(clock))
    appends = AppendTimes()
    appends.on_client_event({"type": "input_audio_buffer.append", "audio": "AAAA"})
    appends.on_client_event({"type": "session.update"})  # not audio: no time taken
    appends.on_client_event({"type": "input_audio_buffer.append", "audio": "AAAA"})
    assert appends.first_at_or_after(10.01) == 10.02
    assert appends.first_at_or_after(9.0) == 10.00
    assert appends.first_at_or_after(10.05) is None


def test_the_speech_end_marks_carry_times_and_no_words(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(stage_marks, "time", _Clock(iter([20.03])))
    appends = AppendTimes()
    appends.on_client_event({"type": "input_audio_buffer.append", "audio": "AAAA"})
    with caplog.at_level(logging.DEBUG, logger="intake.stage_marks"):
        mark_caller_speech_end(20.0, appends)
        mark_caller_speech_end(21.0, appends)  # no append after it yet: one mark only
    marks = [(r.getMessage(), r.__dict__["at"]) for r in caplog.records]
    assert marks == [(SPEECH_END_MARK, 20.0), (SENT_TO_MODEL_MARK, 20.03),
                     (SPEECH_END_MARK, 21.0)]
