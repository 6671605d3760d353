"""The recorder in a real LiveKit room: the caller on the left; on the right the agent's own
track and a third participant (a supervisor), each where it was heard in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from livekit import api, rtc

from devstack.services import LiveKitServer
from recording import CallAudioRecorder, LocalFolderStore
from recording.timeline import CALLER, HEARD

from ..unit.test_recording import decode, rms, tone

pytestmark = pytest.mark.integration

RATE = 48000


@pytest.fixture(scope="module")
async def livekit() -> AsyncIterator[LiveKitServer]:
    server = LiveKitServer.on_free_ports()
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def _join(server: LiveKitServer, identity: str) -> tuple[rtc.Room, rtc.AudioSource]:
    token = (api.AccessToken(server.api_key, server.api_secret).with_identity(identity)
             .with_ttl(timedelta(minutes=5))
             .with_grants(api.VideoGrants(room_join=True, room="rec")).to_jwt())
    room = rtc.Room()
    await room.connect(server.url, token, rtc.RoomOptions(auto_subscribe=False))
    # a short queue paces capture in real time, as a phone line does (the default 1 s queue
    # would let the script run a second ahead of what is sent)
    source = rtc.AudioSource(RATE, 1, queue_size_ms=40)
    await room.local_participant.publish_track(
        rtc.LocalAudioTrack.create_audio_track(f"{identity}-audio", source))
    return room, source


def silence(seconds: float) -> bytes:
    return b"\x00\x00" * round(seconds * RATE)


async def _play(source: rtc.AudioSource, pcm: bytes) -> None:
    """Real-time: 10 ms frames, silence once the line is over."""
    step = 480 * 2
    for offset in range(0, len(pcm), step):
        chunk = pcm[offset: offset + step].ljust(step, b"\x00")
        await source.capture_frame(rtc.AudioFrame(chunk, RATE, 1, 480))


def _onset(channel: np.ndarray, after_s: float = 0.0) -> float:
    """First 20 ms window (after `after_s`) that is clearly loud, in seconds."""
    window = 960
    start = round(after_s * RATE) // window
    for i in range(start, channel.size // window):
        if rms(channel[i * window: (i + 1) * window]) > 0.05:
            return i * window / RATE
    raise AssertionError("no onset")


async def test_caller_left_and_what_the_caller_heard_right(livekit: LiveKitServer,
                                                           tmp_path: Path) -> None:
    agent_room, agent_source = await _join(livekit, "agent")
    caller_room, caller_source = await _join(livekit, "caller")
    supervisor_room, supervisor_source = await _join(livekit, "supervisor")
    try:
        for _ in range(100):
            caller = agent_room.remote_participants.get("caller")
            if caller is not None and caller.track_publications:
                break
            await asyncio.sleep(0.05)
        assert caller is not None
        for publication in caller.track_publications.values():
            publication.set_subscribed(True)
        for _ in range(100):
            if all(p.track is not None for p in caller.track_publications.values()):
                break
            await asyncio.sleep(0.05)
        store = LocalFolderStore(tmp_path)
        recorder = CallAudioRecorder(store, "roomcall")
        uri = await recorder.start()
        recorder.attach(agent_room, caller)
        # from now: caller at 2 s, agent at 2.5 s, supervisor at 8 s, one second each
        await asyncio.gather(
            _play(caller_source, silence(2.0) + tone(1.0, 500) + silence(8.0)),
            _play(agent_source, silence(2.5) + tone(1.0, 300) + silence(7.5)),
            _play(supervisor_source, silence(8.0) + tone(1.0, 700) + silence(2.0)),
        )
        await asyncio.sleep(0.5)
        await recorder.aclose()
    finally:
        for room in (agent_room, caller_room, supervisor_room):
            await room.disconnect()
    audio = decode(Path(uri.removeprefix("file://")))
    left, right = audio[CALLER], audio[HEARD]
    caller_at = _onset(left)
    agent_at = _onset(right)
    supervisor_at = _onset(right, after_s=agent_at + 1.2)
    assert agent_at - caller_at == pytest.approx(0.5, abs=0.25)
    assert supervisor_at - agent_at == pytest.approx(5.5, abs=0.25)
    # each side stays on its own channel (the caller alone before the agent starts, the agent
    # alone once the caller has finished)
    assert rms(left[round(caller_at * RATE): round((caller_at + 0.4) * RATE)]) > 0.1
    assert rms(right[round(caller_at * RATE): round((caller_at + 0.4) * RATE)]) < 0.02
    assert rms(right[round((agent_at + 0.6) * RATE): round((agent_at + 0.9) * RATE)]) > 0.1
    assert rms(left[round((agent_at + 0.6) * RATE): round((agent_at + 0.9) * RATE)]) < 0.02
    assert rms(right[round(supervisor_at * RATE): round((supervisor_at + 0.8) * RATE)]) > 0.1
