"""Barge-in decisions: a backchannel resumes playout, an interruption stops the speech, the
record keeps what was heard."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.barge_in import (
    DEFAULT_BACKCHANNELS,
    BargeInController,
    Decision,
    PlayoutMeter,
    heard_prefix,
    is_backchannel,
)
from tests.unit.test_tools_fakes import example_playbook_text

pytestmark = pytest.mark.unit

SHORT = 0.05  # the controller's windows, shrunk so the tests run fast


class FakePlayout:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")


class FakeSpeech:
    def __init__(self, *, allow: bool = True) -> None:
        self.interrupted = False
        self._allow = allow

    def interrupt(self, *, force: bool = False) -> object:
        if not self._allow:
            raise RuntimeError("this speech disallows interruptions")
        self.interrupted = True
        return None


def no_decisions() -> list[Decision]:
    return []


def controller(playout: FakePlayout, decisions: list[Decision],
               extra: tuple[str, ...] = ()) -> BargeInController:
    return BargeInController(lambda: playout, (*DEFAULT_BACKCHANNELS, *extra),
                             on_decision=decisions.append, backchannel_max_s=SHORT * 2,
                             vad_silence_s=0.0, transcript_wait_s=SHORT * 2)


@pytest.mark.parametrize("text", ["Mm-hm.", "mhm", "Okay.", "Yeah, yeah.", "Right", "Uh-huh",
                                  "okay, got it", ""])
def test_acknowledgements_are_backchannels(text: str) -> None:
    assert is_backchannel(text, DEFAULT_BACKCHANNELS)


@pytest.mark.parametrize("text", ["Sorry, can I stop you there?", "No.", "Wait",
                                  "okay so my address is", "yesterday"])
def test_anything_else_is_not(text: str) -> None:
    assert not is_backchannel(text, DEFAULT_BACKCHANNELS)


def test_the_playbook_extends_the_list() -> None:
    assert not is_backchannel("You bet.", DEFAULT_BACKCHANNELS)
    assert is_backchannel("You bet.", (*DEFAULT_BACKCHANNELS, "you bet"))


async def test_speech_onset_pauses_and_a_backchannel_resumes() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_started(speech)
    assert playout.calls == ["pause"]  # at once, before anything is known
    barge.caller_stopped()
    barge.caller_transcript("Mm-hm.")
    assert playout.calls == ["pause", "resume"]
    assert not speech.interrupted and decisions == ["resumed"]


async def test_a_short_sound_without_transcript_is_noise_and_resumes() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_started(speech)
    barge.caller_stopped()
    await asyncio.sleep(SHORT * 4)
    assert playout.calls == ["pause", "resume"] and not speech.interrupted


async def test_long_speech_interrupts_without_waiting_for_words() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_started(speech)
    await asyncio.sleep(SHORT * 4)  # still talking past the backchannel maximum
    assert speech.interrupted and decisions == ["interrupted"]
    assert "resume" not in playout.calls  # the session drops the cut audio first


async def test_a_short_real_interruption_is_caught_by_its_transcript() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_started(speech)
    barge.caller_stopped()
    barge.caller_transcript("No.")
    assert speech.interrupted and decisions == ["interrupted"]


async def test_the_servers_reply_to_a_backchannel_is_dropped_either_order() -> None:
    playout, decisions = FakePlayout(), no_decisions()
    barge = controller(playout, decisions)
    # the reply arrives while we still decide
    early_reply = FakeSpeech()
    barge.caller_started(FakeSpeech())
    barge.caller_stopped()
    barge.reply_created(early_reply)
    barge.caller_transcript("okay")
    assert early_reply.interrupted
    # the reply arrives after the decision
    late_reply = FakeSpeech()
    barge.caller_started(FakeSpeech())
    barge.caller_stopped()
    barge.caller_transcript("yeah")
    barge.reply_created(late_reply)
    assert late_reply.interrupted
    # the next reply, to a real turn, plays
    real_reply = FakeSpeech()
    barge.caller_started(None)  # the caller talks again, the agent silent
    barge.reply_created(real_reply)
    assert not real_reply.interrupted


async def test_the_reply_to_an_interruption_plays() -> None:
    playout, decisions, speech, reply = FakePlayout(), no_decisions(), FakeSpeech(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_started(speech)
    barge.caller_stopped()
    barge.reply_created(reply)
    barge.caller_transcript("Stop, that's wrong.")
    assert speech.interrupted and not reply.interrupted


async def test_a_speech_that_disallows_interruptions_plays_on() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech(allow=False)
    barge = controller(playout, decisions)
    barge.caller_started(speech)
    barge.caller_stopped()
    barge.caller_transcript("Hello? Hello?")  # no exception reaches the session's event
    assert decisions == ["interrupted"] and not barge.deciding


async def test_close_cancels_a_pending_decision() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_started(speech)
    barge.close()
    await asyncio.sleep(SHORT * 4)
    assert decisions == [] and not speech.interrupted


def test_heard_prefix_cuts_at_the_playout_position() -> None:
    text = "one two three four five six seven eight nine ten"
    assert heard_prefix(text, 3.0, 10.0) == "one two three"
    assert heard_prefix(text, 10.0, 10.0) == text
    assert heard_prefix(text, 0.0, 10.0) == ""


def test_the_meter_keeps_the_full_text_unless_cut() -> None:
    meter = PlayoutMeter()
    meter.segment_started()
    for _ in range(100):
        meter.add(0.02)  # 2 s of audio
    meter.playback_finished(1.0, interrupted=False)
    assert meter.heard("a b c d") == "a b c d"
    meter.playback_finished(1.0, interrupted=True)
    assert meter.heard("a b c d") == "a b"


def test_the_model_leaves_barge_in_to_us() -> None:
    from agent.config import WorkerSettings
    from agent.realtime_model import build_realtime_model

    settings = WorkerSettings(
        livekit_url="ws://127.0.0.1:7880", livekit_api_key="k", livekit_api_secret="s",
        agent_name="a", playbook_path=Path("playbooks/home_services.yaml"),
        openai_api_key="sk-test", openai_base_url=None, realtime_model="gpt-realtime",
        realtime_voice="marin", redis_url=None, database_url=None, business_api_base=None,
        production=False)
    model = build_realtime_model(settings)
    # neither the server nor the framework cuts the agent at the caller's first sound
    assert model.capabilities.supports_overlapping_speech
    assert model.capabilities.turn_detection  # the server still ends the caller's turns
    assert model._opts.turn_detection is not None
    assert model._opts.turn_detection.interrupt_response is False


async def test_talking_again_before_the_decision_is_timed_from_the_first_onset() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_started(speech)  # "Sorry,"
    barge.caller_stopped()
    await asyncio.sleep(SHORT)
    barge.caller_started(speech)  # "... can I stop you there?"
    await asyncio.sleep(SHORT * 4)  # its transcript wait must not resume meanwhile
    assert speech.interrupted and decisions == ["interrupted"]
    assert playout.calls == ["pause"]


def test_a_playbook_may_list_more_backchannels(tmp_path: Path) -> None:
    from tools.playbook import PlaybookError, load_playbook

    text = example_playbook_text()
    assert load_playbook("playbooks/home_services.yaml").backchannels == []
    extended = tmp_path / "extended.yaml"
    extended.write_text(text + "\nbackchannels: [\"you bet\", \"uh-huh, sure\"]\n")
    assert load_playbook(extended).backchannels == ["you bet", "uh-huh, sure"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(text + "\nbackchannels: [\"\"]\n")
    with pytest.raises(PlaybookError):
        load_playbook(broken)
