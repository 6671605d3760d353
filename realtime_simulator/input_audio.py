"""Caller audio: input_audio_buffer.* events, server VAD turn detection and the commit that
turns a buffered segment into a user item."""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .client_errors import ClientError
from .connection_host import ConnectionHost, SendEvent
from .conversation import ConversationItems
from .script import ResponsePlan
from .session_config import SessionConfig
from .vad import EnergySpeechDetector, SpeechEvent
from .wire import BYTES_PER_MS, SAMPLE_RATE, new_id, server_event, user_audio_item

logger = logging.getLogger(__name__)

MIN_COMMIT_MS = 100
_SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 600, "auto": 600, "high": 300}


@dataclass
class TurnDetection:
    """The session's turn_detection setting, as the detector and the buffer use it."""

    enabled: bool
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True


def turn_detection_from(config: Any) -> TurnDetection:
    """Read a server_vad or semantic_vad object; anything else (None) turns detection off.
    semantic_vad's eagerness becomes a fixed silence window: nothing here reads meaning."""
    if not isinstance(config, dict):
        return TurnDetection(enabled=False)
    if config.get("type") == "semantic_vad":
        eagerness = str(config.get("eagerness") or "auto")
        return TurnDetection(
            enabled=True,
            silence_duration_ms=_SEMANTIC_SILENCE_MS.get(eagerness, 600),
            create_response=config.get("create_response", True) is not False,
            interrupt_response=config.get("interrupt_response", True) is not False,
        )
    threshold = config.get("threshold")
    prefix = config.get("prefix_padding_ms")
    silence = config.get("silence_duration_ms")
    return TurnDetection(
        enabled=True,
        threshold=float(threshold) if isinstance(threshold, int | float) else 0.5,
        prefix_padding_ms=int(prefix) if isinstance(prefix, int | float) else 300,
        silence_duration_ms=int(silence) if isinstance(silence, int | float) else 500,
        create_response=config.get("create_response", True) is not False,
        interrupt_response=config.get("interrupt_response", True) is not False,
    )


@dataclass
class CallerAudioMarks:
    """What the input side measured, which responses report (timings, usage)."""

    input_audio_ms: int = 0
    """All caller audio received on this connection."""
    last_stop_at: float | None = None
    """time.monotonic() when the last segment ended (speech_stopped or commit)."""
    last_silence_ms: int | None = None
    """Silence the detector measured before that stop; None for a client commit."""


class TurnResponder(Protocol):
    """What turn detection does to responses: interrupt one, start the next."""

    async def interrupt_for_caller(self) -> None:
        """Cancel the response in progress, if any, and wait until it has stopped."""
        ...

    def start_response(
        self, plan: ResponsePlan, *, trigger: Literal["server_vad", "client"], metadata: Any
    ) -> None: ...


class InputAudioBuffer:
    """Handles input_audio_buffer.append / commit / clear and runs server VAD on the audio."""

    def __init__(
        self,
        host: ConnectionHost,
        send: SendEvent,
        *,
        session: SessionConfig,
        items: ConversationItems,
        responder: TurnResponder,
        marks: CallerAudioMarks,
    ) -> None:
        self._host = host
        self._send = send
        self._session = session
        self._items = items
        self._responder = responder
        self._marks = marks
        self._buffered_bytes = 0  # only the length matters: nothing is transcribed
        self._detector = EnergySpeechDetector(sample_rate=SAMPLE_RATE)
        self._turn = TurnDetection(enabled=True)
        self._speech_item_id: str | None = None
        self.configure_turn_detection()

    def configure_turn_detection(self) -> None:
        """Take the session's turn_detection setting (at start and after session.update)."""
        self._turn = turn_detection_from(self._session.turn_detection)
        self._detector.configure(
            threshold=self._turn.threshold, silence_duration_ms=self._turn.silence_duration_ms
        )

    async def on_append(self, event: dict[str, Any]) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            raise ClientError(
                "missing_required_parameter", "Missing required parameter: 'audio'.", "audio"
            )
        try:
            pcm = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise ClientError(
                "invalid_value", "Invalid 'audio': expected base64-encoded PCM16 audio.", "audio"
            ) from None
        if len(pcm) % 2:
            raise ClientError(
                "invalid_value", "Invalid 'audio': PCM16 needs an even number of bytes.", "audio"
            )
        self._buffered_bytes += len(pcm)
        self._marks.input_audio_ms += len(pcm) // BYTES_PER_MS
        for speech in self._detector.feed(pcm):
            if self._turn.enabled:
                await self._on_speech_event(speech)

    async def on_commit(self, event: dict[str, Any]) -> None:
        buffered_ms = self._buffered_bytes // BYTES_PER_MS
        if buffered_ms < MIN_COMMIT_MS:
            raise ClientError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms}ms of audio.",
            )
        had_speech = self._detector.speech_seen
        self._marks.last_stop_at = time.monotonic()
        self._marks.last_silence_ms = None
        await self._commit(self._speech_item_id or new_id("item_"), had_speech=had_speech)
        self._speech_item_id = None

    async def on_clear(self, event: dict[str, Any]) -> None:
        self._buffered_bytes = 0
        self._detector.reset_segment()
        self._speech_item_id = None
        await self._send(server_event("input_audio_buffer.cleared"))

    async def _on_speech_event(self, speech: SpeechEvent) -> None:
        if speech.kind == "started":
            self._speech_item_id = new_id("item_")
            speech_start_ms = max(0, speech.audio_ms - self._turn.prefix_padding_ms)
            await self._send(
                server_event(
                    "input_audio_buffer.speech_started",
                    audio_start_ms=speech_start_ms,
                    item_id=self._speech_item_id,
                )
            )
            if self._turn.interrupt_response:
                await self._responder.interrupt_for_caller()
            return
        item_id = self._speech_item_id or new_id("item_")
        self._speech_item_id = None
        await self._send(
            server_event(
                "input_audio_buffer.speech_stopped", audio_end_ms=speech.audio_ms, item_id=item_id
            )
        )
        self._marks.last_stop_at = time.monotonic()
        self._marks.last_silence_ms = speech.silence_ms
        await self._commit(item_id, had_speech=True)
        if self._turn.create_response:
            plan = self._host.next_response()
            self._responder.start_response(plan, trigger="server_vad", metadata=None)

    async def _commit(self, item_id: str, *, had_speech: bool) -> None:
        transcript: str | None = None
        turn_index: int | None = None
        if had_speech:
            turn_index, transcript = self._host.on_caller_segment()
        if had_speech and turn_index is None:
            logger.info("caller speech segment beyond the script", extra={"item_id": item_id})
        buffered_ms = self._buffered_bytes // BYTES_PER_MS
        self._buffered_bytes = 0
        self._detector.reset_segment()
        previous = self._items.tail_id()
        await self._send(
            server_event("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        )
        item = user_audio_item(item_id, None)
        self._items.put(item)
        await self._send(
            server_event("conversation.item.added", previous_item_id=previous, item=item)
        )
        await self._send(
            server_event("conversation.item.done", previous_item_id=previous, item=item)
        )
        if self._session.transcribes_input:
            text = transcript or ""
            item["content"][0]["transcript"] = text
            await self._send(
                server_event(
                    "conversation.item.input_audio_transcription.completed",
                    item_id=item_id,
                    content_index=0,
                    transcript=text,
                    usage={"type": "duration", "seconds": round(buffered_ms / 1000, 3)},
                )
            )
