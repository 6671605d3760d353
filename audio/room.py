"""Audio in a LiveKit room outside the agent session: a participant's track, a one-off line.

Jobs connect subscribing to nothing, so whoever needs a participant's audio (the caller for the
session, the lead for answer screening, the caller for a transfer relay) subscribes here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import numpy as np
from livekit import rtc

# a pre-rendered line waits this long for someone (livekit-sip) to subscribe to its track
LINE_SUBSCRIBE_TIMEOUT_S = 5.0
LINE_PLAYOUT_TIMEOUT_S = 60.0


def frame_rms(pcm: bytes | memoryview) -> float:
    """Loudness of PCM16 audio (full scale 32767)."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


async def subscribe_audio(room: rtc.Room, participant: rtc.RemoteParticipant,
                          timeout: float) -> rtc.Track:
    """Subscribe to `participant`'s audio track (now or once published) and return it.

    Raises TimeoutError when no audio track is subscribed within `timeout`.
    """
    found: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def is_theirs(pub: rtc.TrackPublication, who: rtc.Participant) -> bool:
        return who.identity == participant.identity and pub.kind == rtc.TrackKind.KIND_AUDIO

    def on_published(pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant) -> None:
        if is_theirs(pub, who):
            pub.set_subscribed(True)

    def on_subscribed(track: rtc.Track, pub: rtc.RemoteTrackPublication,
                      who: rtc.RemoteParticipant) -> None:
        if is_theirs(pub, who) and not found.done():
            found.set_result(track)

    room.on("track_published", on_published)
    room.on("track_subscribed", on_subscribed)
    try:
        for pub in list(participant.track_publications.values()):
            if is_theirs(pub, participant):
                if pub.subscribed and pub.track is not None:
                    return pub.track
                pub.set_subscribed(True)
        return await asyncio.wait_for(found, timeout)
    finally:
        room.off("track_published", on_published)
        room.off("track_subscribed", on_subscribed)


async def play_line(room: rtc.Room, frames: Sequence[rtc.AudioFrame], track_name: str) -> None:
    """Play pre-rendered audio on a track of its own, then take the track down."""
    if not frames:
        return
    source = rtc.AudioSource(frames[0].sample_rate, frames[0].num_channels)
    track = rtc.LocalAudioTrack.create_audio_track(track_name, source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    publication = await room.local_participant.publish_track(track, options)
    try:
        with contextlib.suppress(TimeoutError):
            # livekit-sip subscribes to what we publish; audio before that is lost
            await asyncio.wait_for(publication.wait_for_subscription(),
                                   LINE_SUBSCRIBE_TIMEOUT_S)
        async with asyncio.timeout(LINE_PLAYOUT_TIMEOUT_S):
            for frame in frames:
                await source.capture_frame(frame)
            await source.wait_for_playout()
    finally:
        with contextlib.suppress(Exception):
            await room.local_participant.unpublish_track(publication.sid)
        await source.aclose()


async def wait_until_heard(room: rtc.Room, timeout: float) -> None:
    """Until our audio track is published and someone subscribed to it (a line started earlier
    would be partly lost). Raises TimeoutError."""
    local = room.local_participant
    async with asyncio.timeout(timeout):
        while True:
            audio = [p for p in local.track_publications.values()
                     if p.kind == rtc.TrackKind.KIND_AUDIO]
            if audio:
                await audio[0].wait_for_subscription()
                return
            await asyncio.sleep(0.01)
