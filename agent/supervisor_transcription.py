"""A supervisor's speech during a take-over, transcribed for the record and the hand-back.

The agent subscribes to the supervisor's microphone (identity `supervisor:<account>`), cuts it
into utterances with the worker's Silero VAD, and sends each utterance to OpenAI's REST
`/v1/audio/transcriptions` through livekit-plugins-openai's non-streaming STT, at the base URL
the Realtime model uses. REST rather than the Realtime transcription socket: one request per
utterance is stateless (nothing to keep alive for a take-over that may last seconds), it is
what a plain local server speaking OpenAI's protocol serves, and the simulator can answer it
faithfully from the upload alone (a WAV file: speech or silence).

The VAD-then-recognize loop is the one `stt.StreamAdapter` runs, kept here because the adapter
ends its whole stream at the first failed request: one dead endpoint or bad reply must cost
only that utterance, never the rest of the take-over, and never the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import openai
from livekit import rtc
from livekit.agents import APIConnectOptions, stt, utils, vad
from livekit.plugins import openai as lk_openai

from agent.call_runtime import CallRuntime
from agent.config import WorkerSettings

logger = logging.getLogger("intake.supervision")

SUPERVISOR_IDENTITY_PREFIX = "supervisor:"
# Silero's own rate: no resampling inside the VAD
SAMPLE_RATE = 16000
# Silero reports no end of speech when its input ends: silence this long closes an utterance
# the track stopped in (the supervisor unpublished or left mid-word)
CLOSING_SILENCE_S = 0.6
# on hand-back, how long utterances still on their way may take to come back
DRAIN_S = 3.0
RECOGNIZE_OPTIONS = APIConnectOptions(max_retry=1, retry_interval=0.5, timeout=5.0)

OnText = Callable[[str], Awaitable[None]]


def supervisor_identity(account: str) -> str:
    return f"{SUPERVISOR_IDENTITY_PREFIX}{account}"


def build_supervisor_stt(settings: WorkerSettings,
                         ) -> tuple[stt.STT[Any], openai.AsyncClient] | None:
    """The STT and the HTTP client it owns (closed with the take-over); None when off."""
    model = settings.supervisor_transcription_model
    if not model:
        return None
    client = openai.AsyncClient(api_key=settings.openai_api_key,
                                base_url=settings.openai_base_url or None, max_retries=0,
                                timeout=10.0)
    # use_realtime=False: the REST endpoint (see the module docstring); the language is left
    # to the model, as the Realtime session's transcription leaves it
    return lk_openai.STT(model=model, detect_language=True, use_realtime=False,
                         client=client), client


class SupervisorTranscriber:
    """One take-over's transcription. `run` is a call task; `stop` ends it on hand-back."""

    def __init__(self, room: rtc.Room, vad_model: vad.VAD, transcriber: stt.STT[Any],
                 client: openai.AsyncClient, account: str, on_text: OnText,
                 log: Mapping[str, Any]) -> None:
        self._room = room
        self._vad = vad_model
        self._stt = transcriber
        self._client = client
        self._identity = supervisor_identity(account)
        self._on_text = on_text
        self._log = dict(log)
        self._stopping = asyncio.Event()
        self._streams: list[rtc.AudioStream] = []
        self._tracks: set[str] = set()
        self._children: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[Any] | None = None
        self.failures = 0

    @classmethod
    def start(cls, rt: CallRuntime, account: str, on_text: OnText,
              ) -> SupervisorTranscriber | None:
        """Transcribe `account` as a task of the call; None when no model is configured."""
        built = build_supervisor_stt(rt.assets.settings)
        if built is None:
            return None
        transcriber = cls(rt.ctx.room, rt.assets.vad, *built, account, on_text, rt.log)
        transcriber._task = rt.spawn(transcriber.run(), "intake-supervisor-transcription")
        return transcriber

    async def finish(self) -> None:
        """Stop, and wait (bounded by `DRAIN_S`) for utterances still being transcribed."""
        self.stop()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), DRAIN_S + 1.0)

    async def run(self) -> None:
        room = self._room
        room.on("track_published", self._on_published)
        room.on("track_subscribed", self._on_subscribed)
        try:
            for participant in list(room.remote_participants.values()):
                if participant.identity != self._identity:
                    continue
                for pub in list(participant.track_publications.values()):
                    if pub.kind == rtc.TrackKind.KIND_AUDIO:
                        if pub.subscribed and pub.track is not None:
                            self._start_track(pub.track)
                        else:
                            pub.set_subscribed(True)
            await self._stopping.wait()
            # end every track's audio: its last utterance is closed and transcribed
            for stream in list(self._streams):
                with contextlib.suppress(Exception):
                    await stream.aclose()
            if self._children:
                await asyncio.wait(list(self._children), timeout=DRAIN_S)
        finally:
            room.off("track_published", self._on_published)
            room.off("track_subscribed", self._on_subscribed)
            children = list(self._children)
            for task in children:
                task.cancel()
            await asyncio.gather(*children, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._client.close()

    def stop(self) -> None:
        self._stopping.set()

    # --- the supervisor's tracks ---------------------------------------------------------------

    def _on_published(self, pub: rtc.RemoteTrackPublication,
                      participant: rtc.RemoteParticipant) -> None:
        if participant.identity == self._identity and pub.kind == rtc.TrackKind.KIND_AUDIO:
            pub.set_subscribed(True)

    def _on_subscribed(self, track: rtc.Track, _pub: rtc.RemoteTrackPublication,
                       participant: rtc.RemoteParticipant) -> None:
        if participant.identity == self._identity and track.kind == rtc.TrackKind.KIND_AUDIO:
            self._start_track(track)

    def _start_track(self, track: rtc.Track) -> None:
        if self._stopping.is_set() or track.sid in self._tracks:
            return
        self._tracks.add(track.sid)
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SAMPLE_RATE, num_channels=1)
        self._streams.append(stream)
        task = asyncio.create_task(self._transcribe(stream), name="intake-supervisor-track")
        self._children.add(task)
        task.add_done_callback(self._children.discard)

    async def _transcribe(self, audio: rtc.AudioStream) -> None:
        vad_stream = self._vad.stream()
        feeder = asyncio.create_task(self._feed(audio, vad_stream), name="intake-supervisor-vad")
        try:
            async for event in vad_stream:
                if event.type == vad.VADEventType.END_OF_SPEECH and event.frames:
                    await self._recognize(utils.merge_frames(event.frames))
        finally:
            await utils.aio.cancel_and_wait(feeder)
            with contextlib.suppress(Exception):
                await audio.aclose()
            await vad_stream.aclose()

    @staticmethod
    async def _feed(audio: rtc.AudioStream, vad_stream: vad.VADStream) -> None:
        async for event in audio:
            vad_stream.push_frame(event.frame)
        samples = int(SAMPLE_RATE * CLOSING_SILENCE_S)
        vad_stream.push_frame(rtc.AudioFrame(b"\x00\x00" * samples, SAMPLE_RATE, 1, samples))
        vad_stream.end_input()

    async def _recognize(self, speech: rtc.AudioFrame) -> None:
        try:
            event = await self._stt.recognize(buffer=speech, conn_options=RECOGNIZE_OPTIONS)
        except Exception as exc:
            self.failures += 1
            logger.warning("supervisor speech not transcribed",
                           extra={**self._log, "error": type(exc).__name__})
            return
        text = event.alternatives[0].text.strip() if event.alternatives else ""
        if text:
            await self._on_text(text)
