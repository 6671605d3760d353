"""A caller in a real LiveKit room: speaks scripted lines, listens to the agent, keeps time.

It publishes a microphone track that carries silence between lines (as a phone line does),
subscribes to the agent's audio and timestamps every stretch of agent speech it hears. All
timestamps are `time.monotonic()` in this process, taken where the audio enters or leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from livekit import rtc

from audio.room import frame_rms
from audio.speech import render_speech_pcm16
from simulated_caller.report import AgentSpeechSegment, CallerReport, CallerTurnResult

logger = logging.getLogger("intake.simulated_caller")


class _HungUpOnFilter(logging.Filter):
    """livekit's Rust SDK logs each data channel as "closed unexpectedly" (at ERROR) whenever
    the server ends its session, and the agent hanging up on this caller does just that (it
    removes the caller from the room, as livekit-sip's BYE does to a phone). Expected here, so
    not printed; any other livekit error still is."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("data channel" in message and "closed unexpectedly" in message)


logging.getLogger("livekit").addFilter(_HungUpOnFilter())

SAMPLE_RATE = 48000
FRAME_MS = 10
SAMPLES_PER_FRAME = SAMPLE_RATE * FRAME_MS // 1000
# a frame whose RMS is above this counts as agent speech (PCM16 full scale is 32767)
SPEECH_RMS = 300.0
# any agent sound at all (a word's quiet first consonant: "th" runs ~250 RMS for 80 ms), well
# above what Opus decodes from digital silence
ONSET_RMS = 50.0
# agent audio quieter than SPEECH_RMS for this long ends a stretch of agent speech
SEGMENT_GAP_S = 0.25
TRANSCRIPTION_TOPIC = "lk.transcription"


@dataclass(frozen=True)
class CallerLine:
    text: str | None
    pause_before_ms: int = 700
    barge_in_after_ms: int | None = None
    hangup: bool = False
    wait_for_hangup: bool = False
    # say nothing more and wait (up to the caller's silence timeout) for the agent to hang up
    silent: bool = False


class AgentNotHeardError(TimeoutError):
    pass


class SimulatedCaller:
    def __init__(
        self,
        url: str,
        token: str,
        lines: Sequence[CallerLine],
        *,
        on_transcript: Callable[[str, str], None] | None = None,
        reply_timeout: float = 20.0,
        silence_timeout: float = 60.0,
        after_greeting: Callable[[], Awaitable[object]] | None = None,
        before_line: Callable[[int, SimulatedCaller], Awaitable[object]] | None = None,
    ) -> None:
        self._after_greeting = after_greeting
        self._before_line = before_line
        self._url = url
        self._token = token
        self._lines = list(lines)
        self._on_transcript = on_transcript
        self._reply_timeout = reply_timeout
        self._silence_timeout = silence_timeout
        self.report = CallerReport()
        self.room = rtc.Room()
        self._source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=40)
        # (frame, voiced): timings count from the first to the last voiced frame, since the
        # synthesizer pads its audio with silence
        self._outgoing: asyncio.Queue[tuple[rtc.AudioFrame, bool]] = asyncio.Queue()
        self._speech_done: asyncio.Event = asyncio.Event()
        self._speaking = False
        self._speech_first_frame_at: float | None = None
        self._speech_last_frame_at: float | None = None
        self._agent_active = False
        self._last_loud_at = 0.0
        self._last_sound_at = 0.0
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._agent_identity: str | None = None

    # --- room wiring -------------------------------------------------------------------
    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_track_subscribed(self, track: rtc.Track, _pub: rtc.RemoteTrackPublication,
                             participant: rtc.RemoteParticipant) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        if participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        self._agent_identity = participant.identity
        self.report.agent_track_subscribed_at = time.monotonic()
        self._spawn(self._listen(track, participant.identity, _pub.name), "caller-listen")

    def _on_local_track_subscribed(self, _track: rtc.Track) -> None:
        if self.report.agent_subscribed_at is None:
            self.report.agent_subscribed_at = time.monotonic()
            logger.debug("agent subscribed to the caller", extra={"at": time.time()})

    def _on_disconnected(self, _reason: object) -> None:
        if self.report.disconnected_at is None:
            self.report.disconnected_at = time.monotonic()
        self._spawn(self._notify(), "caller-disconnected")

    def _on_transcription(self, reader: rtc.TextStreamReader, identity: str) -> None:
        self._spawn(self._read_transcription(reader, identity), "caller-transcript")

    async def _read_transcription(self, reader: rtc.TextStreamReader, identity: str) -> None:
        role = "caller" if identity == self.room.local_participant.identity else "agent"
        # a caller transcript arrives whole and says whether it is final up front; the agent's
        # own speech streams in as it is spoken and is complete when its stream closes
        final = (role == "agent"
                 or (reader.info.attributes or {}).get("lk.transcription_final") == "true")
        text = await reader.read_all()
        if not final or not text.strip():
            return
        self.report.transcript.append((role, text.strip()))
        if self._on_transcript is not None:
            self._on_transcript(role, text.strip())

    async def connect(self) -> None:
        self.room.on("track_subscribed", self._on_track_subscribed)
        self.room.on("local_track_subscribed", self._on_local_track_subscribed)
        self.room.on("disconnected", self._on_disconnected)
        self.room.register_text_stream_handler(TRANSCRIPTION_TOPIC, self._on_transcription)
        await self.room.connect(self._url, self._token, rtc.RoomOptions(auto_subscribe=True))
        track = rtc.LocalAudioTrack.create_audio_track("caller-microphone", self._source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)
        self._spawn(self._microphone(), "caller-microphone")
        self._spawn(self._segment_watch(), "caller-segments")

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.room.disconnect()
        await self._source.aclose()

    # --- audio out: a steady 10 ms clock, speech when queued, silence otherwise -----------
    async def _microphone(self) -> None:
        silence = rtc.AudioFrame(b"\x00" * SAMPLES_PER_FRAME * 2, SAMPLE_RATE, 1, SAMPLES_PER_FRAME)
        next_at = time.monotonic()
        while True:
            next_at += FRAME_MS / 1000
            try:
                frame, voiced = self._outgoing.get_nowait()
                now = time.monotonic()
                if voiced:
                    if self._speech_first_frame_at is None:
                        self._speech_first_frame_at = now
                    self._speech_last_frame_at = now
                if self._outgoing.empty():
                    self._speech_done.set()
            except asyncio.QueueEmpty:
                frame = silence
            await self._source.capture_frame(frame)
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.2:
                next_at = time.monotonic()  # fell behind (loaded machine): don't burst

    async def say(self, text: str) -> tuple[float, float]:
        pcm = render_speech_pcm16(text, SAMPLE_RATE, cache=True)  # scripted lines
        self._speech_first_frame_at = None
        self._speech_last_frame_at = None
        self._speech_done.clear()
        step = SAMPLES_PER_FRAME * 2
        for offset in range(0, len(pcm), step):
            chunk = pcm[offset: offset + step].ljust(step, b"\x00")
            self._outgoing.put_nowait((rtc.AudioFrame(chunk, SAMPLE_RATE, 1, SAMPLES_PER_FRAME),
                                       frame_rms(chunk) >= SPEECH_RMS))
        await self._speech_done.wait()
        assert self._speech_first_frame_at is not None and self._speech_last_frame_at is not None
        return self._speech_first_frame_at, self._speech_last_frame_at + FRAME_MS / 1000

    # --- audio in: stretches of agent speech -----------------------------------------------
    async def _listen(self, track: rtc.Track, speaker: str, track_name: str) -> None:
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SAMPLE_RATE, num_channels=1)
        try:
            async for event in stream:
                rms = frame_rms(bytes(event.frame.data))
                if rms >= ONSET_RMS:
                    self._note_sound(time.monotonic())
                if rms < SPEECH_RMS:
                    continue
                self.report.agent_audio_heard_s += event.frame.duration
                now = time.monotonic()
                self._last_loud_at = now
                last = self.report.segments[-1] if self.report.segments else None
                if self._agent_active and last is not None and (
                        last.speaker, last.track) != (speaker, track_name):
                    last.ended_at = now  # another agent (or track) took over
                    self._agent_active = False
                if not self._agent_active:
                    self._agent_active = True
                    self.report.segments.append(AgentSpeechSegment(
                        started_at=now, speaker=speaker, track=track_name))
                    if self.report.first_agent_audio_at is None:
                        self.report.first_agent_audio_at = now
                        logger.debug("first agent audio", extra={"at": time.time()})
                    await self._notify()
        finally:
            await stream.aclose()

    def _note_sound(self, now: float) -> None:
        if self.report.first_agent_sound_at is None:
            self.report.first_agent_sound_at = now
        if now - self._last_sound_at > SEGMENT_GAP_S:
            self.report.sound_onsets.append(now)
        self._last_sound_at = now

    def sound_onset_before(self, loud_at: float, after: float) -> float:
        """Where the stretch of sound holding the loud frame at `loud_at` began (not before
        `after`): a reply's quiet first consonant comes before its first loud frame."""
        onsets = [t for t in self.report.sound_onsets if after <= t <= loud_at]
        return onsets[-1] if onsets else loud_at

    async def _segment_watch(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            if self._agent_active and time.monotonic() - self._last_loud_at > SEGMENT_GAP_S:
                self._agent_active = False
                self.report.segments[-1].ended_at = self._last_loud_at
                await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AgentNotHeardError(what) from None

    @property
    def agent_identity(self) -> str | None:
        """The agent participant heard most recently."""
        return self._agent_identity

    async def wait_for_agent_audio_after(self, moment: float, timeout: float,
                                         other_than: str | None = None,
                                         track: str | None = None) -> float:
        """Block until agent audio starts after `moment` (from an agent other than `other_than`,
        when given, so audio still in flight from a departed agent does not count; from the
        track named `track`, when given); returns when it started."""
        def heard(seg: AgentSpeechSegment) -> bool:
            return (seg.started_at >= moment
                    and (other_than is None or seg.speaker != other_than)
                    and (track is None or seg.track == track))

        await self._wait_for(lambda: any(heard(seg) for seg in self.report.segments), timeout,
                             "agent not heard again")
        return next(seg.started_at for seg in self.report.segments if heard(seg))

    def _agent_spoke_since(self, moment: float) -> bool:
        return any(seg.started_at >= moment for seg in self.report.segments)

    def _quiet_for(self, seconds: float) -> bool:
        return not self._agent_active and time.monotonic() - self._last_loud_at >= seconds

    async def _wait_quiet(self, seconds: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._quiet_for(seconds):
            if time.monotonic() > deadline:
                raise AgentNotHeardError("agent never went quiet")
            await asyncio.sleep(0.01)

    # --- the script --------------------------------------------------------------------------
    async def run(self, greeting_timeout: float = 15.0) -> CallerReport:
        """Connect, wait for the greeting, speak every line, then hang up."""
        await self.connect()
        try:
            await self._wait_for(lambda: self.report.first_agent_audio_at is not None,
                                 greeting_timeout, "no greeting heard")
            if self._after_greeting is not None:
                await self._after_greeting()
            last_turn_end = self.report.first_agent_audio_at or time.monotonic()
            for index, line in enumerate(self._lines):
                if self._before_line is not None:
                    await self._before_line(index, self)
                if line.silent:
                    try:
                        # the agent's idle timer starts once the greeting (or reply) is over
                        await self._wait_quiet(0.5, self._reply_timeout)
                        await self._wait_for(lambda: self.report.disconnected_at is not None,
                                             self._silence_timeout,
                                             "agent did not hang up on a silent caller")
                    except AgentNotHeardError as exc:
                        self.report.errors.append(str(exc))
                    break
                if line.hangup or line.text is None:
                    if self.report.turns:  # let the agent answer the last line first
                        try:
                            await self._wait_for(
                                lambda m=last_turn_end: self._agent_spoke_since(m),  # type: ignore[misc]
                                self._reply_timeout, "agent did not reply before hang-up")
                        except AgentNotHeardError as exc:
                            self.report.errors.append(str(exc))
                    await self._wait_quiet(line.pause_before_ms / 1000, self._reply_timeout)
                    break
                if line.barge_in_after_ms is not None:
                    moment = last_turn_end
                    await self._wait_for(lambda m=moment: self._agent_spoke_since(m)  # type: ignore[misc]
                                         and self._agent_active,
                                         self._reply_timeout, "agent did not start a reply")
                    reply_start = self.report.segments[-1].started_at
                    await asyncio.sleep(max(0.0, reply_start + line.barge_in_after_ms / 1000
                                            - time.monotonic()))
                    segment = self.report.segments[-1]
                    started, ended = await self.say(line.text)
                    await self._wait_quiet(0.3, self._reply_timeout)
                    stopped_at = segment.ended_at
                    self.report.turns.append(CallerTurnResult(
                        index=index, text=line.text, speech_started_at=started,
                        speech_ended_at=ended, barged_in=True,
                        agent_stopped_at=stopped_at if stopped_at and stopped_at >= started
                        else None,
                    ))
                else:
                    try:
                        await self._wait_for(lambda m=last_turn_end: self._agent_spoke_since(m),  # type: ignore[misc]
                                             self._reply_timeout, "agent did not reply")
                    except AgentNotHeardError as exc:
                        if not (self.report.turns and self.report.turns[-1].barged_in):
                            raise
                        # cut off for good by a sound over it, the agent may have nothing left
                        # to say: a person would go on, and the error is in the report
                        self.report.errors.append(str(exc))
                    await self._wait_quiet(line.pause_before_ms / 1000, self._reply_timeout)
                    started, ended = await self.say(line.text)
                    self.report.turns.append(CallerTurnResult(
                        index=index, text=line.text, speech_started_at=started,
                        speech_ended_at=ended, barged_in=False))
                last_turn_end = self.report.turns[-1].speech_ended_at
                self._spawn(self._note_reply(self.report.turns[-1]), "caller-reply-watch")
                if line.wait_for_hangup:
                    try:
                        await self._wait_for(lambda: self.report.disconnected_at is not None,
                                             self._reply_timeout, "agent did not hang up")
                    except AgentNotHeardError as exc:
                        self.report.errors.append(str(exc))
                    break
            self.report.hung_up_at = time.monotonic()
        finally:
            await self.aclose()
        return self.report

    async def _note_reply(self, turn: CallerTurnResult) -> None:
        with contextlib.suppress(AgentNotHeardError):
            await self._wait_for(lambda: self._agent_spoke_since(turn.speech_ended_at),
                                 self._reply_timeout, "no reply")
            turn.agent_reply_started_at = next(
                seg.started_at for seg in self.report.segments
                if seg.started_at >= turn.speech_ended_at)
            turn.agent_reply_sound_at = self.sound_onset_before(turn.agent_reply_started_at,
                                                                turn.speech_ended_at)
