"""Barge-in on the early cue: it pauses at once, Silero's start confirms it (and the speech is
then judged from the cue), an unconfirmed cue resumes playout, and a line that keeps cueing
without speech turns the cue off for a while."""

from __future__ import annotations

import asyncio

import pytest

from agent import barge_in
from agent.barge_in import DEFAULT_BACKCHANNELS, BargeInController, Decision
from tests.unit.test_barge_in import SHORT, FakePlayout, FakeSpeech, no_decisions

pytestmark = pytest.mark.unit


def controller(playout: FakePlayout, decisions: list[Decision]) -> BargeInController:
    return BargeInController(lambda: playout, DEFAULT_BACKCHANNELS,
                             on_decision=decisions.append, backchannel_max_s=SHORT * 4,
                             vad_silence_s=0.0, transcript_wait_s=SHORT * 2,
                             onset_confirm_s=SHORT * 2)


async def test_the_cue_pauses_and_silero_confirms_it() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_onset(speech)
    assert playout.calls == ["pause"] and barge.deciding
    barge.caller_started(speech)  # Silero: speech
    await asyncio.sleep(SHORT * 3)  # past the cue's window: still paused, now deciding
    assert playout.calls == ["pause"] and decisions == []
    barge.caller_stopped()
    barge.caller_transcript("Mm-hm.")
    assert playout.calls == ["pause", "resume"] and decisions == ["resumed"]


async def test_a_confirmed_cue_times_the_speech_from_the_cue() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_onset(speech)
    await asyncio.sleep(SHORT * 1.5)
    barge.caller_started(speech)
    # the speech began at the cue: it outlasts the backchannel maximum (4 windows) 4 windows
    # after the cue, not 4 after Silero's start
    await asyncio.sleep(SHORT * 3)
    assert speech.interrupted and decisions == ["interrupted"]


async def test_an_unconfirmed_cue_resumes_playout() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_onset(speech)
    await asyncio.sleep(SHORT * 3)
    assert playout.calls == ["pause", "resume"] and decisions == ["unconfirmed"]
    assert not speech.interrupted and not barge.deciding


async def test_a_transcript_during_the_cues_pause_decides_nothing() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    barge.caller_onset(speech)
    barge.caller_transcript("I said the garage.")  # the caller's previous turn, late
    assert not speech.interrupted and decisions == []
    await asyncio.sleep(SHORT * 3)
    assert decisions == ["unconfirmed"]


async def test_cues_without_speech_turn_the_cue_off_for_a_while(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(barge_in, "CUE_MUTE_S", SHORT * 6)
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    for _ in range(barge_in.UNCONFIRMED_CUES_BEFORE_MUTE):
        barge.caller_onset(speech)
        await asyncio.sleep(SHORT * 3)
    assert decisions == ["unconfirmed"] * barge_in.UNCONFIRMED_CUES_BEFORE_MUTE
    barge.caller_onset(speech)  # muted: the agent plays on
    assert playout.calls.count("pause") == barge_in.UNCONFIRMED_CUES_BEFORE_MUTE
    barge.caller_started(speech)  # Silero still pauses at once
    assert playout.calls[-1] == "pause"
    barge.close()
    await asyncio.sleep(SHORT * 6)
    barge.caller_onset(speech)  # the mute has passed
    assert barge.deciding


async def test_a_confirmed_cue_clears_the_count_of_unconfirmed_ones() -> None:
    playout, decisions, speech = FakePlayout(), no_decisions(), FakeSpeech()
    barge = controller(playout, decisions)
    for _ in range(barge_in.UNCONFIRMED_CUES_BEFORE_MUTE + 1):
        barge.caller_onset(speech)
        await asyncio.sleep(SHORT * 3)  # unconfirmed
        barge.caller_onset(speech)
        barge.caller_started(speech)  # confirmed
        barge.caller_stopped()
        barge.caller_transcript("okay")
    assert decisions.count("unconfirmed") == barge_in.UNCONFIRMED_CUES_BEFORE_MUTE + 1


async def test_no_cue_pause_when_the_agent_is_silent() -> None:
    playout, decisions = FakePlayout(), no_decisions()
    barge = controller(playout, decisions)
    barge.caller_onset(None)
    assert playout.calls == [] and not barge.deciding
