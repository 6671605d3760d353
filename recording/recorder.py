"""CallAudioRecorder: one call recorded in stereo, caller left, what the caller heard right.

Off the call's audio path: the recorder only reads. It opens its own AudioStream on the
caller's track and on every audio track our side publishes (the agent's voice, pre-rendered
lines, hold audio; LiveKit can read a local track back), and on the other remote participants'
audio (a supervisor, a person after a warm transfer). Frames land on a StereoTimeline; an
encoder task moves them to Opus/Ogg every quarter second, in a thread, a little behind real
time so late frames still find their place.

    recorder = CallAudioRecorder(store, call_id)
    uri = await recorder.start()
    recorder.attach(room, caller)
    ...
    await recorder.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from livekit import rtc

from recording.ogg_writer import StereoOggWriter
from recording.store import RecordingPart, RecordingStore
from recording.timeline import CALLER, HEARD, StereoTimeline

logger = logging.getLogger("intake.recording")

SAMPLE_RATE = 48000
ENCODE_INTERVAL_S = 0.25
# frames may arrive this late and still be placed
ENCODE_LAG_S = 0.3
SYNC_INTERVAL_S = 5.0
# frames read from each tap: longer frames, fewer Python wake-ups (CPU), same audio
TAP_FRAME_MS = 100


class CallAudioRecorder:
    def __init__(self, store: RecordingStore, call_id: str, *,
                 clock: Callable[[], float] = time.monotonic,
                 sync_interval_s: float = SYNC_INTERVAL_S) -> None:
        self._store = store
        self._call_id = call_id
        self._clock = clock
        self._sync_interval_s = sync_interval_s
        self._timeline = StereoTimeline(SAMPLE_RATE)
        self._part: RecordingPart | None = None
        self._writer: StereoOggWriter | None = None
        self._t0 = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._encoder: asyncio.Task[None] | None = None
        self._room: rtc.Room | None = None
        self._caller_identity: str | None = None
        self._tapped: set[str] = set()  # track sids with a stream open
        self._closed = False
        self._stopping = asyncio.Event()
        # one encode at a time: the encoder is not thread-safe, and a write runs in a thread
        # that a cancelled await would not stop
        self._lock = asyncio.Lock()

    @property
    def uri(self) -> str | None:
        return self._part.uri if self._part is not None else None

    @property
    def part(self) -> int | None:
        return self._part.part if self._part is not None else None

    async def start(self) -> str:
        """Open the call's next part and start encoding; returns the part's URI."""
        self._part = await self._store.open_part(self._call_id)
        self._writer = await asyncio.to_thread(StereoOggWriter, self._part.path, SAMPLE_RATE)
        self._t0 = self._clock()
        self._encoder = asyncio.create_task(self._encode_loop(), name="recording-encode")
        return self._part.uri

    # --- taps -------------------------------------------------------------------------------
    def attach(self, room: rtc.Room, caller: rtc.RemoteParticipant) -> None:
        """Record the caller's audio (left) and every other audio in the room (right)."""
        self._room = room
        self._caller_identity = caller.identity
        room.on("track_subscribed", self._on_track_subscribed)
        room.on("track_published", self._on_track_published)
        room.on("local_track_published", self._on_local_track_published)
        room.on("local_track_unpublished", self._on_local_track_unpublished)
        for local in room.local_participant.track_publications.values():
            if local.track is not None:
                self._tap(local.track, HEARD)
        for participant in room.remote_participants.values():
            for remote in participant.track_publications.values():
                self._consider_remote(remote, participant)

    def feed(self, channel: int, source: object, pcm16_48k_mono: bytes) -> None:
        """Place audio that does not pass through the room (tests, benchmarks)."""
        self._timeline.place(channel, source, pcm16_48k_mono, self._clock() - self._t0)

    def _consider_remote(self, publication: rtc.RemoteTrackPublication,
                         participant: rtc.RemoteParticipant) -> None:
        if publication.kind != rtc.TrackKind.KIND_AUDIO:
            return
        if publication.track is not None:
            self._on_track_subscribed(publication.track, publication, participant)
        elif participant.identity != self._caller_identity:
            # a supervisor or a transferred person: the caller hears them, so do we
            publication.set_subscribed(True)

    def _on_track_published(self, publication: rtc.RemoteTrackPublication,
                            participant: rtc.RemoteParticipant) -> None:
        self._consider_remote(publication, participant)

    def _on_track_subscribed(self, track: rtc.Track, _publication: rtc.RemoteTrackPublication,
                             participant: rtc.RemoteParticipant) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        self._tap(track, CALLER if participant.identity == self._caller_identity else HEARD)

    def _on_local_track_published(self, publication: rtc.LocalTrackPublication,
                                  track: rtc.Track) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            self._tap(track, HEARD)

    def _on_local_track_unpublished(self, publication: rtc.LocalTrackPublication) -> None:
        self._tapped.discard(publication.sid)

    def _tap(self, track: rtc.Track, channel: int) -> None:
        if self._closed or track.kind != rtc.TrackKind.KIND_AUDIO or track.sid in self._tapped:
            return
        self._tapped.add(track.sid)
        task = asyncio.create_task(self._read(track, channel), name="recording-tap")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, track: rtc.Track, channel: int) -> None:
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SAMPLE_RATE,
                                            num_channels=1, frame_size_ms=TAP_FRAME_MS)
        source = track.sid
        try:
            async for event in stream:
                self._timeline.place(channel, source, bytes(event.frame.data),
                                     self._clock() - self._t0)
        finally:
            self._timeline.forget(source)
            self._tapped.discard(source)
            with contextlib.suppress(Exception):
                await stream.aclose()

    # --- encoding ----------------------------------------------------------------------------
    async def _encode_loop(self) -> None:
        """Ends when `_stopping` is set, never mid-write (see `_lock`)."""
        last_sync = self._clock()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), ENCODE_INTERVAL_S)
            if self._stopping.is_set():
                return
            end = round((self._clock() - self._t0 - ENCODE_LAG_S) * SAMPLE_RATE)
            await self._encode_until(end)
            if self._clock() - last_sync >= self._sync_interval_s and self._part is not None:
                last_sync = self._clock()
                try:
                    await self._part.sync()
                except Exception:
                    logger.warning("recording not synced to the store; retrying later",
                                   extra={"call_id": self._call_id})

    async def _encode_until(self, end: int) -> None:
        async with self._lock:
            if self._writer is None or end <= self._timeline.cursor:
                return
            block = self._timeline.take(end)
            write = asyncio.ensure_future(asyncio.to_thread(self._writer.write, block))
            try:
                await asyncio.shield(write)
            except asyncio.CancelledError:
                # the thread goes on regardless: hold the lock until it is done
                await write
                raise

    async def aclose(self) -> str | None:
        """Stop listening, encode what is left, close the part; returns its URI."""
        if self._closed:
            return self.uri
        self._closed = True
        if self._room is not None:
            room = self._room
            with contextlib.suppress(Exception):
                room.off("track_subscribed", self._on_track_subscribed)
                room.off("track_published", self._on_track_published)
                room.off("local_track_published", self._on_local_track_published)
                room.off("local_track_unpublished", self._on_local_track_unpublished)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._stopping.set()
        if self._encoder is not None:
            await asyncio.gather(self._encoder, return_exceptions=True)
        end = max(self._timeline.placed_until,
                  round((self._clock() - self._t0) * SAMPLE_RATE))
        try:
            await self._encode_until(end)
        finally:
            if self._writer is not None:
                await asyncio.to_thread(self._writer.close)
            if self._part is not None:
                await self._part.close()
        if self._timeline.dropped_samples:
            logger.info("recording dropped late audio", extra={
                "call_id": self._call_id, "samples": self._timeline.dropped_samples})
        return self.uri
