"""`intake bench recording`: the CPU one call's stereo recording costs.

offline: the recorder's own work (placing 10 ms frames of both channels on the timeline and
encoding Opus/Ogg), for whole calls fed faster than real time; CPU of this process, all
threads. live: a real room on livekit-server, a caller and an agent both talking; the same
seconds with and without the recorder attached (which adds AudioStreams on the caller's track
and the agent's own track); the difference is the recording's cost, taps included.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from recording.ogg_writer import StereoOggWriter
from recording.timeline import CALLER, HEARD, StereoTimeline

RATE = 48000
FRAME = 480  # 10 ms


def _speech_like(seconds: float, seed: int) -> np.ndarray:
    """Noise shaped into 2 s bursts of "speech" and pauses, so Opus works as on a call."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    envelope = (np.sin(np.arange(n) / RATE * np.pi / 2) > 0).astype(np.float64)
    return (rng.normal(0, 4000, n) * envelope).clip(-32768, 32767).astype("<i2")


def offline(calls: int, seconds: float) -> dict[str, Any]:
    caller = _speech_like(seconds, 1)
    agent = _speech_like(seconds, 2)[::-1].copy()
    cpu_per_call: list[float] = []
    sizes: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        for index in range(calls):
            path = Path(tmp) / f"call-{index}.ogg"
            started = time.process_time()
            timeline = StereoTimeline(RATE)
            writer = StereoOggWriter(path, RATE)
            step = round(0.25 * RATE)  # the recorder encodes every quarter second
            for offset in range(0, caller.size, FRAME):
                at = (offset + FRAME) / RATE
                timeline.place(CALLER, "caller", caller[offset: offset + FRAME].tobytes(), at)
                timeline.place(HEARD, "agent", agent[offset: offset + FRAME].tobytes(), at)
                if (offset + FRAME) % step == 0:
                    writer.write(timeline.take(offset + FRAME))
            writer.write(timeline.take(timeline.placed_until))
            writer.close()
            cpu_per_call.append(time.process_time() - started)
            sizes.append(path.stat().st_size)
    per_minute_ms = statistics.median(cpu_per_call) / seconds * 60 * 1000
    return {"calls": calls, "call_seconds": seconds,
            "cpu_ms_per_call_minute": round(per_minute_ms, 1),
            "cpu_percent_of_one_core": round(per_minute_ms / 60_000 * 100, 3),
            "ogg_bytes_per_call_minute": round(statistics.median(sizes) / seconds * 60)}


async def live(seconds: float) -> dict[str, Any]:
    from livekit import api, rtc

    from devstack.services import LiveKitServer
    from recording import CallAudioRecorder, LocalFolderStore

    server = LiveKitServer.on_free_ports()
    await asyncio.to_thread(server.start)
    try:
        def token(identity: str) -> str:
            return (api.AccessToken(server.api_key, server.api_secret).with_identity(identity)
                    .with_ttl(timedelta(minutes=10))
                    .with_grants(api.VideoGrants(room_join=True, room="bench")).to_jwt())

        rooms = {name: rtc.Room() for name in ("caller", "agent")}
        sources = {}
        for name, room in rooms.items():
            await room.connect(server.url, token(name), rtc.RoomOptions(auto_subscribe=False))
            source = rtc.AudioSource(RATE, 1)
            track = rtc.LocalAudioTrack.create_audio_track(f"{name}-mic", source)
            await room.local_participant.publish_track(track)
            sources[name] = source
        audio = {"caller": _speech_like(seconds + 2, 3), "agent": _speech_like(seconds + 2, 4)}
        stop = asyncio.Event()

        async def talk(name: str) -> None:
            pcm, offset = audio[name], 0
            while not stop.is_set():
                chunk = pcm[offset: offset + FRAME]
                if chunk.size < FRAME:
                    offset, chunk = 0, pcm[:FRAME]
                offset += FRAME
                await sources[name].capture_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, FRAME))

        talkers = [asyncio.create_task(talk(n)) for n in rooms]
        # the agent's side subscribes to the caller as the worker does
        agent_room = rooms["agent"]
        caller_participant = await _wait_participant(agent_room, "caller")
        for publication in caller_participant.track_publications.values():
            publication.set_subscribed(True)
        await asyncio.sleep(1.0)

        async def measure() -> float:
            started = time.process_time()
            await asyncio.sleep(seconds)
            return time.process_time() - started

        without = await measure()
        with tempfile.TemporaryDirectory(prefix="bench-recording-live-") as tmp:
            recorder = CallAudioRecorder(LocalFolderStore(Path(tmp)), "benchcall")
            await recorder.start()
            recorder.attach(agent_room, caller_participant)
            with_recorder = await measure()
            await recorder.aclose()
        stop.set()
        await asyncio.gather(*talkers, return_exceptions=True)
        for room in rooms.values():
            await room.disconnect()
    finally:
        await asyncio.to_thread(server.stop)
    delta_ms = (with_recorder - without) / seconds * 60 * 1000
    return {"seconds": seconds,
            "process_cpu_ms_per_minute_without": round(without / seconds * 60_000, 1),
            "process_cpu_ms_per_minute_with": round(with_recorder / seconds * 60_000, 1),
            "recording_cpu_ms_per_call_minute": round(delta_ms, 1),
            "note": "difference of two runs of the same process on a shared machine; "
                    "noisy, can come out below zero"}


async def _wait_participant(room: Any, identity: str) -> Any:
    for _ in range(200):
        participant = room.remote_participants.get(identity)
        if participant is not None and participant.track_publications:
            return participant
        await asyncio.sleep(0.05)
    raise TimeoutError("the caller never joined the benchmark room")


async def run_recording_benchmark(calls: int, seconds: float, live_seconds: float
                                  ) -> dict[str, Any]:
    result: dict[str, Any] = {"offline": await asyncio.to_thread(offline, calls, seconds)}
    if live_seconds > 0:
        result["live"] = await live(live_seconds)
    return result
