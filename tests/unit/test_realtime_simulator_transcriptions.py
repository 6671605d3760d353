"""The simulator's `POST /v1/audio/transcriptions`: the exact form and JSON on the wire, the
scripted supervisor lines, and OpenAI's error shapes."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from realtime_simulator import RealtimeSimulator, ScenarioError, parse_scenario, synthesize_pcm16
from realtime_simulator.speech import silence_pcm16

pytestmark = pytest.mark.unit

KEY = "sk-test"
RATE = 16000
LINE_1 = "This is Dana from the service team."
LINE_2 = "We can send someone on Thursday morning."
SCENARIO = f"""
name: supervised
supervisor_lines:
  - "{LINE_1}"
  - "{LINE_2}"
turns:
  - hangup: true
"""


def wav(pcm: bytes, *, rate: int = RATE, channels: int = 1, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def speech_wav(text: str = "Hello there, this is a test.") -> bytes:
    return wav(silence_pcm16(200, RATE) + synthesize_pcm16(text, RATE) + silence_pcm16(300, RATE))


@pytest.fixture
async def sim() -> AsyncIterator[RealtimeSimulator]:
    simulator = RealtimeSimulator(parse_scenario(SCENARIO), api_key=KEY)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def post(sim: RealtimeSimulator, fields: dict[str, Any], audio: bytes | None = None, *,
               key: str = KEY) -> tuple[int, Any]:
    form = aiohttp.FormData(default_to_multipart=True)  # as the openai SDK sends it
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            form.add_field(name, item)
    if audio is not None:
        form.add_field("file", audio, filename="file.wav", content_type="audio/wav")
    async with aiohttp.ClientSession() as http, http.post(
            f"{sim.base_url}/audio/transcriptions", data=form,
            headers={"Authorization": f"Bearer {key}"}) as response:
        body = (await response.json() if response.content_type == "application/json"
                else await response.text())
        return response.status, body


async def test_speech_gets_the_next_scripted_line_and_silence_gets_none(
        sim: RealtimeSimulator) -> None:
    status, body = await post(sim, {"model": "gpt-transcribe", "response_format": "json",
                                    "languages[]": ["en", "es"]}, speech_wav())
    assert status == 200
    assert body == {"text": LINE_1, "usage": {"type": "duration", "seconds": body["usage"][
        "seconds"]}}
    assert 1.0 < body["usage"]["seconds"] < 5.0
    status, body = await post(sim, {"model": "gpt-transcribe"}, wav(silence_pcm16(800, RATE)))
    assert (status, body["text"]) == (200, "")
    status, body = await post(sim, {"model": "gpt-4o-mini-transcribe"}, speech_wav())
    assert body["text"] == LINE_2
    status, body = await post(sim, {"model": "gpt-transcribe"}, speech_wav())
    assert (status, body["text"]) == (200, "")  # past the script: nothing made up
    assert [r.speech for r in sim.transcriptions] == [True, False, True, True]
    assert sim.transcriptions[0].fields == {"model": ["gpt-transcribe"],
                                            "response_format": ["json"],
                                            "languages[]": ["en", "es"]}
    # a new call starts the supervisor's script over
    sim.begin_call()
    _, body = await post(sim, {"model": "gpt-transcribe"}, speech_wav())
    assert body["text"] == LINE_1


async def test_whisper_verbose_json_and_plain_text(sim: RealtimeSimulator) -> None:
    status, body = await post(sim, {"model": "whisper-1", "response_format": "verbose_json"},
                              speech_wav())
    assert status == 200
    assert body["task"] == "transcribe" and body["language"] == "english"
    assert body["text"] == LINE_1 and body["duration"] > 1.0
    status, text = await post(sim, {"model": "whisper-1", "response_format": "text"},
                              speech_wav())
    assert (status, text) == (200, f"{LINE_2}\n")


async def test_a_stereo_upload_is_mixed_down_and_heard(sim: RealtimeSimulator) -> None:
    import numpy as np

    mono = np.frombuffer(silence_pcm16(100, RATE) + synthesize_pcm16("Hello there.", RATE),
                         dtype="<i2")
    stereo = np.stack([mono, mono], axis=1).astype("<i2").tobytes()
    _, body = await post(sim, {"model": "gpt-transcribe"}, wav(stereo, channels=2))
    assert body["text"] == LINE_1


def error(status: int, body: Any) -> tuple[int, str | None, str | None]:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    return status, body["error"]["param"], body["error"]["code"]


async def test_bad_requests_get_openai_errors_and_consume_no_line(sim: RealtimeSimulator) -> None:
    good = speech_wav()
    assert error(*await post(sim, {"model": "gpt-transcribe"}, good, key="wrong")) == (
        401, None, "invalid_api_key")
    assert error(*await post(sim, {}, good)) == (400, None, None)
    assert error(*await post(sim, {"model": "gpt-nope"}, good)) == (404, "model",
                                                                     "model_not_found")
    assert error(*await post(sim, {"model": "gpt-realtime-2.1"}, good)) == (400, "model",
                                                                             "invalid_value")
    assert error(*await post(sim, {"model": "gpt-transcribe"})) == (
        400, "file", "missing_required_parameter")
    assert error(*await post(sim, {"model": "gpt-transcribe"}, b"RIFF not a wave file")) == (
        400, "file", "invalid_value")
    assert error(*await post(sim, {"model": "gpt-transcribe"}, wav(b"\x00" * 2000, width=1))) == (
        400, "file", "invalid_value")  # 8-bit audio: not decoded here
    assert error(*await post(sim, {"model": "gpt-transcribe"}, wav(silence_pcm16(50, RATE)))) == (
        400, "file", "audio_too_short")
    assert error(*await post(sim, {"model": "gpt-4o-transcribe",
                                   "response_format": "verbose_json"}, good)) == (
        400, "response_format", "unsupported_value")
    assert error(*await post(sim, {"model": "gpt-transcribe", "temperature": "hot"}, good)) == (
        400, "temperature", "invalid_value")
    assert error(*await post(sim, {"model": "gpt-transcribe", "stream": "true"}, good)) == (
        400, "stream", "unsupported_value")
    async with aiohttp.ClientSession() as http, http.post(
            f"{sim.base_url}/audio/transcriptions", json={"model": "gpt-transcribe"},
            headers={"Authorization": f"Bearer {KEY}"}) as response:
        assert error(response.status, await response.json()) == (400, None, None)
    assert all(r.status >= 400 for r in sim.transcriptions)
    # none of them used a scripted line
    _, body = await post(sim, {"model": "gpt-transcribe"}, good)
    assert body["text"] == LINE_1


async def test_the_plugin_stt_reads_the_reply() -> None:
    """livekit-plugins-openai's REST STT, as the worker builds it, against the simulator."""
    from livekit import rtc

    from agent.supervisor_transcription import build_supervisor_stt
    from tests.unit.test_supervisor_transcription import settings_for

    async with RealtimeSimulator(parse_scenario(SCENARIO), api_key=KEY) as simulator:
        built = build_supervisor_stt(settings_for(simulator.base_url, KEY))
        assert built is not None
        transcriber, client = built
        try:
            pcm = synthesize_pcm16("Hello there.", RATE)
            frame = rtc.AudioFrame(pcm, RATE, 1, len(pcm) // 2)
            event = await transcriber.recognize(buffer=frame)
        finally:
            await client.close()
        assert event.alternatives[0].text == LINE_1
        sent = simulator.transcriptions[0]
        assert sent.model == "gpt-transcribe" and sent.response_format == "json"
        assert sent.speech and 300 < sent.audio_ms < 3000


def test_supervisor_lines_are_parsed_and_checked() -> None:
    scenario = parse_scenario(SCENARIO)
    assert scenario.supervisor_lines == (LINE_1, LINE_2)
    assert parse_scenario("name: n\nturns:\n  - hangup: true\n").supervisor_lines == ()
    with pytest.raises(ScenarioError) as bad:
        parse_scenario('name: n\nsupervisor_lines:\n  - ""\nturns:\n  - hangup: true\n',
                       source="s.yaml")
    where, _ = bad.value.problems[0]
    assert where == "s.yaml:3: supervisor_lines[0]"
