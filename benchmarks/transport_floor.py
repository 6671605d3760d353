"""The one-way floor of the local WebRTC path: a probe participant publishes clicks, another in
the same room timestamps their arrival (one process, one clock). Every latency figure is also
reported over this floor, so a result means the same on a busy machine."""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np
from livekit import api, rtc

from audio.room import frame_rms
from benchmarks.stats import summarize

SAMPLE_RATE = 48000
FRAME_MS = 10
SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
CLICK_RMS = 3000.0
CLICK_EVERY_S = 0.3
CLICK_HZ = 1000.0


def _token(url_key: str, secret: str, room: str, identity: str) -> str:
    grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True)
    return (api.AccessToken(url_key, secret).with_identity(identity).with_grants(grants)
            .to_jwt())


def _frame(loud: bool) -> rtc.AudioFrame:
    samples = np.zeros(SAMPLES, dtype=np.int16)
    if loud:
        # a 1 kHz burst: Opus keeps it (an alternating-sign "click" is a 24 kHz tone, which the
        # codec's band limit removes, so nothing ever arrived)
        t = np.arange(SAMPLES) / SAMPLE_RATE
        samples = (12000 * np.sin(2 * np.pi * CLICK_HZ * t)).astype(np.int16)
    return rtc.AudioFrame(samples.tobytes(), SAMPLE_RATE, 1, SAMPLES)


async def measure_transport_floor(url: str, api_key: str, api_secret: str, *,
                                  clicks: int = 20, room: str = "bench-floor") -> list[float]:
    """One-way click latencies (ms) from a publisher to a subscriber through livekit-server."""
    sender, receiver = rtc.Room(), rtc.Room()
    arrived: asyncio.Queue[float] = asyncio.Queue()
    track_ready = asyncio.Event()

    async def listen(track: rtc.Track) -> None:
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SAMPLE_RATE, num_channels=1)
        loud_before = False
        async for event in stream:
            loud = frame_rms(bytes(event.frame.data)) >= CLICK_RMS
            if loud and not loud_before:
                arrived.put_nowait(time.monotonic())
            loud_before = loud

    tasks: list[asyncio.Task[None]] = []

    def on_track(track: rtc.Track, *_: object) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            tasks.append(asyncio.create_task(listen(track)))
            track_ready.set()

    receiver.on("track_subscribed", on_track)
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=20)
    results: list[float] = []
    try:
        await receiver.connect(url, _token(api_key, api_secret, room, "floor-receiver"))
        await sender.connect(url, _token(api_key, api_secret, room, "floor-sender"))
        track = rtc.LocalAudioTrack.create_audio_track("floor-click", source)
        await sender.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        await asyncio.wait_for(track_ready.wait(), 10)
        silence, click = _frame(False), _frame(True)
        frames_between = round(CLICK_EVERY_S * 1000 / FRAME_MS)
        next_at = time.monotonic()
        # a second of silence first: the path settles (jitter buffer, first packets)
        for index in range(100 + clicks * frames_between):
            is_click = index >= 100 and (index - 100) % frames_between == 0
            next_at += FRAME_MS / 1000
            if is_click:
                while not arrived.empty():
                    arrived.get_nowait()
                sent_at = time.monotonic()
            await source.capture_frame(click if is_click else silence)
            if is_click:
                async def note(at: float = sent_at) -> None:
                    with contextlib.suppress(TimeoutError):
                        got = await asyncio.wait_for(arrived.get(), CLICK_EVERY_S)
                        results.append((got - at) * 1000)
                tasks.append(asyncio.create_task(note()))
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.sleep(CLICK_EVERY_S)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await sender.disconnect()
        with contextlib.suppress(Exception):
            await receiver.disconnect()
        await source.aclose()
    return results


def floor_summary(samples: list[float]) -> dict[str, float | int | None]:
    return summarize(samples)
