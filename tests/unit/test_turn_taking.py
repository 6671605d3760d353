"""The silence window that ends a caller's turn follows what the agent just asked."""

from __future__ import annotations

import pytest
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from agent.config import ConfigError, load_settings
from agent.turn_taking import TURN_SILENCE_MS, TurnTaking, expected_answer

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("line", [
    "I have five one two, five five five, zero one four two. Is that right?",
    "That's Friday, December 25th. Did I get that right?",
    "So the leak is in the garage, correct?",
    "Is your phone number 512 555 0142, is that right?",
    "Thanks. Five one two, five five five, zero one four two?",
])
def test_a_read_back_expects_a_confirmation(line: str) -> None:
    assert expected_answer(line) == "confirmation"


@pytest.mark.parametrize("line", [
    "I'm sorry to hear that. What's the address of the property?",
    "What's the best number to reach you?",
    "Could you give me the address?",
    "And by what date do you need it done?",
    "Thanks. Please tell me your email address.",
    "Could you spell your last name for me?",
    "Thanks. By what date do you need this fixed?",
    "And when do you need it done by?",
])
def test_a_request_for_digits_an_address_or_a_date_expects_dictation(line: str) -> None:
    assert expected_answer(line) == "dictation"


@pytest.mark.parametrize("line", [
    "Thanks for calling Acme Plumbing. I'm an AI assistant. How can I help you today?",
    "What seems to be the problem?",
    "Thanks, I've noted your address.",
    "",
    "Got it, the garage. Anything else I should know?",
    "And may I have your name?",
    "What seems to be the problem?",
    # other yes/no questions: the answer may be "No, that's all. Thanks, goodbye."
    "Got it. Do you need anything else today?",
    "Can we call you tomorrow morning?",
    "Great. Should we follow up by phone, text or email?",
    "Got it, the garage. Is there anything else I should know?",
])
def test_anything_else_keeps_the_default_window(line: str) -> None:
    assert expected_answer(line) == "open"


def test_the_window_changes_only_when_the_expected_answer_does() -> None:
    sent: list[ServerVad] = []
    turns = TurnTaking(sent.append)
    assert turns.silence_ms == TURN_SILENCE_MS["open"]
    turns.after_agent_line("What's the address of the property?")
    turns.after_agent_line("And what's the best number to reach you?")
    assert [d.silence_duration_ms for d in sent] == [TURN_SILENCE_MS["dictation"]]
    turns.after_agent_line("Five one two, five five five, zero one four two. Is that right?")
    assert sent[-1].silence_duration_ms == TURN_SILENCE_MS["confirmation"]
    assert all(d.create_response and d.interrupt_response is False for d in sent)


def test_a_supervisor_taking_over_keeps_the_window_and_stops_the_answers() -> None:
    sent: list[ServerVad] = []
    turns = TurnTaking(sent.append)
    turns.after_agent_line("What's the address?")
    turns.set_answering(False)
    assert sent[-1].create_response is False
    assert sent[-1].silence_duration_ms == TURN_SILENCE_MS["dictation"]
    turns.after_agent_line("Is that right?")  # said while taken over: window moves, still silent
    assert sent[-1].create_response is False
    turns.set_answering(True)
    assert sent[-1].create_response is True
    assert sent[-1].silence_duration_ms == TURN_SILENCE_MS["confirmation"]


def test_a_fixed_window_is_never_changed() -> None:
    sent: list[ServerVad] = []
    turns = TurnTaking(sent.append, fixed_silence_ms=450)
    turns.after_agent_line("What's the address?")
    turns.after_agent_line("Is that right?")
    assert sent == [] and turns.silence_ms == 450


def _worker_env(monkeypatch: pytest.MonkeyPatch, window: str) -> None:
    for key, value in {"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "k",
                       "LIVEKIT_API_SECRET": "s", "OPENAI_API_KEY": "sk",
                       "INTAKE_TURN_SILENCE_MS": window}.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("value", ["fast", "50", "3001", "1.5"])
def test_a_bad_fixed_window_is_a_config_error(monkeypatch: pytest.MonkeyPatch,
                                              value: str) -> None:
    _worker_env(monkeypatch, value)
    with pytest.raises(ConfigError, match="INTAKE_TURN_SILENCE_MS"):
        load_settings(production=False)


def test_a_good_fixed_window_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    _worker_env(monkeypatch, "450")
    assert load_settings(production=False).turn_silence_ms == 450
