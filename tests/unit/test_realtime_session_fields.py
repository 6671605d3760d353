"""The session fields current Realtime models take, as the simulator speaks them and as the
worker sends them (reasoning effort, the transcription model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import WorkerSettings
from agent.realtime_model import build_realtime_model, configured_models
from realtime_simulator import wire

pytestmark = pytest.mark.unit


def test_reasoning_models_start_with_low_effort_and_older_ones_without() -> None:
    assert wire.default_session("gpt-realtime-2.1")["reasoning"] == {"effort": "low"}
    assert "reasoning" not in wire.default_session("gpt-realtime")


@pytest.mark.parametrize(("update", "model", "param"), [
    ({"reasoning": {"effort": "extreme"}}, "gpt-realtime-2.1", "session.reasoning.effort"),
    ({"reasoning": "low"}, "gpt-realtime-2.1", "session.reasoning"),
    ({"reasoning": {"effort": "low"}}, "gpt-realtime", "session.reasoning"),
    ({"audio": {"input": {"transcription": {"model": "gpt-transcribe", "delay": "low"}}}},
     "gpt-realtime-2", "session.audio.input.transcription.delay"),
])
def test_fields_a_model_does_not_take_are_refused(update: dict[str, object], model: str,
                                                  param: str) -> None:
    error = wire.session_update_error(update, model)
    assert error is not None and error[2] == param


@pytest.mark.parametrize("update", [
    {"reasoning": {"effort": effort}} for effort in wire.REASONING_EFFORTS
] + [
    {"audio": {"input": {"transcription": {"model": "gpt-transcribe"}}}},
    {"audio": {"input": {"transcription": {"model": "gpt-realtime-whisper", "delay": "high"}}}},
    {"audio": {"input": {"transcription": None}}},
])
def test_current_fields_are_taken(update: dict[str, object]) -> None:
    assert wire.session_update_error(update, "gpt-realtime-2.1") is None


def _settings(model: str) -> WorkerSettings:
    return WorkerSettings(
        livekit_url="ws://127.0.0.1:7880", livekit_api_key="k", livekit_api_secret="s" * 32,
        agent_name="a", playbook_path=Path("p.yaml"), openai_api_key="sk",
        openai_base_url="http://127.0.0.1:9/v1", realtime_model=model, realtime_voice="marin",
        redis_url=None, database_url=None, business_api_base=None, production=False,
        reasoning_effort="minimal")


def test_the_worker_asks_for_reasoning_only_from_a_model_that_takes_it() -> None:
    current = build_realtime_model(_settings("gpt-realtime-2.1"))
    assert current._opts.reasoning is not None and current._opts.reasoning.effort == "minimal"
    transcription = current._opts.input_audio_transcription
    assert transcription is not None and transcription.model == "gpt-transcribe"
    older = build_realtime_model(_settings("gpt-realtime"))
    assert older._opts.reasoning is None
    assert configured_models(_settings("gpt-realtime-2.1")) == {
        "gpt-realtime-2.1": "realtime", "gpt-transcribe": "transcription"}
