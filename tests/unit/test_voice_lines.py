"""Fixed lines in the model's own voice: rendered by the Realtime simulator over the real
wire protocol, checked against the transcript, cached; espeak-ng only when that fails."""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.config import DEFAULT_PLAYBOOK, WorkerSettings
from agent.fixed_lines import (
    fixed_line_texts,
    private_line_pcm,
    render_fixed_lines,
    render_fixed_lines_at_start,
)
from agent.voice_cache import cached_line, fixed_line_pcm, realtime_voice
from agent.voice_lines import RealtimeUnreachable, RealtimeVoice, transcript_matches
from agent.warm_transfer import briefing_text
from audio.speech import render_speech_pcm16
from realtime_simulator import RealtimeSimulator, parse_scenario
from tests.realtime_wire_support import KEY, SCENARIO
from tests.unit.test_tools_fakes import example_playbook
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit

LINE = "Thanks for calling Acme Plumbing. I'm an AI assistant, and this call may be recorded."
MODEL = "gpt-realtime-2.1"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


async def simulator(paraphrase_renders: int = 0) -> RealtimeSimulator:
    sim = RealtimeSimulator(parse_scenario(SCENARIO), api_key=KEY, stream_speed=100,
                            paraphrase_renders=paraphrase_renders)
    await sim.start()
    return sim


@pytest.fixture
async def sim() -> AsyncIterator[RealtimeSimulator]:
    s = await simulator()
    yield s
    await s.stop()


def voice_at(sim: RealtimeSimulator, *, api_key: str = KEY) -> RealtimeVoice:
    return RealtimeVoice(base_url=sim.base_url, api_key=api_key, model=MODEL, voice="marin")


def settings_for(base_url: str) -> WorkerSettings:
    return WorkerSettings(
        livekit_url="ws://127.0.0.1:7880", livekit_api_key="k", livekit_api_secret="s",
        agent_name="a", playbook_path=DEFAULT_PLAYBOOK,
        openai_api_key=KEY, openai_base_url=base_url, realtime_model=MODEL,
        realtime_voice="marin", redis_url=None, database_url=None, business_api_base=None,
        production=False)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_transcript_matches_its_line_whatever_the_case_and_punctuation() -> None:
    assert transcript_matches("Hi, I'm an A.I. assistant!", "hi i'm an ai assistant")
    assert transcript_matches("Twenty-four hours.", "twenty four hours")
    assert not transcript_matches("Hi, I'm an AI assistant.", "Sure! Hi, I'm an AI assistant.")


async def test_a_line_is_spoken_verbatim_in_the_session_voice(sim: RealtimeSimulator) -> None:
    pcm = await voice_at(sim).render(LINE)
    assert pcm is not None and pcm == sim.out_of_band[0].pcm
    record = sim.out_of_band[0]
    assert (record.text, record.spoken, record.voice) == (LINE, LINE, "marin")
    session = sim.events("client", "session.update")[0]["session"]
    assert session["model"] == MODEL
    assert session["audio"]["input"]["turn_detection"] is None
    request = sim.events("client", "response.create")[0]["response"]
    assert request["conversation"] == "none"
    assert request["output_modalities"] == ["audio"]
    assert request["input"][0]["content"][0] == {"type": "input_text", "text": LINE}
    assert sim.connections == 1


async def test_a_paraphrase_is_rendered_again() -> None:
    sim = await simulator(paraphrase_renders=1)
    try:
        pcm = await voice_at(sim).render(LINE)
    finally:
        await sim.stop()
    assert [r.spoken == LINE for r in sim.out_of_band] == [False, True]
    assert pcm == sim.out_of_band[1].pcm


async def test_a_line_paraphrased_twice_falls_back_to_espeak_with_a_warning(
        cache_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    sim = await simulator(paraphrase_renders=2)
    voice = voice_at(sim)
    try:
        with caplog.at_level(logging.WARNING, "intake.fixed_lines"):
            outcomes = await render_fixed_lines(voice, [LINE], budget_s=10)
    finally:
        await sim.stop()
    assert outcomes == {LINE: "espeak"}
    assert len(sim.out_of_band) == 2  # rendered once more, then given up
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "the model did not speak a fixed line verbatim: espeak-ng used"]
    assert LINE not in warnings[0].getMessage()
    assert cached_line(voice, LINE) is None


async def test_fixed_lines_are_rendered_once_and_cached_by_text_model_and_voice(
        cache_home: Path) -> None:
    sim = await simulator()
    try:
        voice = voice_at(sim)
        texts = fixed_line_texts(example_playbook())
        first = await render_fixed_lines(voice, texts, budget_s=30)
        again = await render_fixed_lines(voice, texts, budget_s=30)
    finally:
        await sim.stop()
    assert set(first.values()) == {"rendered"}
    assert set(again.values()) == {"cached"}
    assert len(sim.out_of_band) == len(texts)  # nothing rendered the second time
    rendered = {r.text: r.pcm for r in sim.out_of_band}
    for text in texts:
        assert cached_line(voice, text) == rendered[text]
    # another voice is another rendering
    other = RealtimeVoice(base_url=sim.base_url, api_key=KEY, model=MODEL, voice="cedar")
    assert cached_line(other, texts[0]) is None
    # what a job process plays: the cached rendering, not espeak
    settings = settings_for(sim.base_url)
    assert fixed_line_pcm(settings, texts[0]) == rendered[texts[0]]


@pytest.mark.parametrize("problem", ["refused", "bad_key"])
async def test_an_unreachable_api_leaves_espeak_and_one_warning(
        problem: str, cache_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    sim = await simulator()
    try:
        if problem == "refused":
            voice = RealtimeVoice(base_url=f"http://127.0.0.1:{closed_port()}/v1", api_key=KEY,
                                  model=MODEL, voice="marin", connect_timeout_s=1.0)
        else:
            voice = voice_at(sim, api_key="sk-wrong")
        texts = fixed_line_texts(example_playbook())
        with caplog.at_level(logging.WARNING, "intake.fixed_lines"):
            outcomes = await render_fixed_lines(voice, texts, budget_s=10)
    finally:
        await sim.stop()
    assert set(outcomes.values()) == {"unreachable"}
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "Realtime API unreachable at start: fixed lines use espeak-ng"]
    assert files_under(cache_home) == []
    with pytest.raises(RealtimeUnreachable):
        await voice.render(texts[0])


async def test_a_briefing_is_rendered_per_call_and_never_written_to_disk(
        cache_home: Path, sim: RealtimeSimulator) -> None:
    briefing = briefing_text(example_playbook(), "pricing",
                             {"name": "Dana Smith", "phone": "+15125550142"})
    pcm = await private_line_pcm(settings_for(sim.base_url), briefing)
    assert pcm == sim.out_of_band[0].pcm and sim.out_of_band[0].text == briefing
    assert files_under(cache_home) == []


async def test_a_briefing_falls_back_to_espeak_in_memory_when_the_api_is_down(
        cache_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    briefing = briefing_text(example_playbook(), "pricing",
                             {"name": "Dana Smith", "phone": "+15125550142"})
    settings = dataclasses.replace(settings_for(f"http://127.0.0.1:{closed_port()}/v1"),
                                   voice_connect_timeout_s=1.0)
    assert realtime_voice(settings).connect_timeout_s == 1.0
    with caplog.at_level(logging.WARNING, "intake.fixed_lines"):
        pcm = await private_line_pcm(settings, briefing)
    assert pcm == render_speech_pcm16(briefing, 24000, cache=False)
    assert files_under(cache_home) == []
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["a call's private line was not rendered in the model's voice: "
                        "espeak-ng used"]
    assert all("Dana" not in m and "5550142" not in m for m in messages)


async def test_the_worker_start_renders_the_playbooks_lines_unless_switched_to_espeak(
        cache_home: Path, sim: RealtimeSimulator) -> None:
    settings = settings_for(sim.base_url)
    espeak_only = dataclasses.replace(settings, fixed_lines_in_model_voice=False)
    assert await render_fixed_lines_at_start(espeak_only) == {}
    assert sim.connections == 0
    outcomes = await render_fixed_lines_at_start(settings)
    assert set(outcomes) == set(fixed_line_texts(load_playbook(DEFAULT_PLAYBOOK)))
    assert set(outcomes.values()) == {"rendered"}
