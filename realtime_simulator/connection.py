"""One client WebSocket: session config, conversation, input audio, turn detection, responses."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import WSMsgType, web

from . import wire
from .records import TurnTiming
from .script import ResponsePlan
from .vad import EnergySpeechDetector, SpeechEvent

if TYPE_CHECKING:
    from .server import RealtimeSimulator

logger = logging.getLogger(__name__)

CHUNK_MS = 100
_MIN_COMMIT_MS = 100
_SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 600, "auto": 600, "high": 300}
_ITEM_TYPES = ("message", "function_call", "function_call_output")
_ROLES = ("user", "assistant", "system")


class _ClientError(Exception):
    """A client event the API would reject; becomes an ``error`` event, the socket stays."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


@dataclass
class _ResponseRun:
    response_id: str
    plan: ResponsePlan
    timing: TurnTiming
    metadata: Any
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_reason: str | None = None
    task: asyncio.Task[None] | None = None
    finished: bool = False

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.cancelled.set()


@dataclass
class _TurnDetection:
    enabled: bool
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True


def _turn_detection_from(config: Any) -> _TurnDetection:
    if not isinstance(config, dict):
        return _TurnDetection(enabled=False)
    if config.get("type") == "semantic_vad":
        eagerness = str(config.get("eagerness") or "auto")
        return _TurnDetection(
            enabled=True,
            silence_duration_ms=_SEMANTIC_SILENCE_MS.get(eagerness, 600),
            create_response=config.get("create_response", True) is not False,
            interrupt_response=config.get("interrupt_response", True) is not False,
        )
    threshold = config.get("threshold")
    prefix = config.get("prefix_padding_ms")
    silence = config.get("silence_duration_ms")
    return _TurnDetection(
        enabled=True,
        threshold=float(threshold) if isinstance(threshold, int | float) else 0.5,
        prefix_padding_ms=int(prefix) if isinstance(prefix, int | float) else 300,
        silence_duration_ms=int(silence) if isinstance(silence, int | float) else 500,
        create_response=config.get("create_response", True) is not False,
        interrupt_response=config.get("interrupt_response", True) is not False,
    )


class RealtimeConnection:
    """Speaks the Realtime protocol on one accepted WebSocket until it closes."""

    def __init__(self, sim: RealtimeSimulator, ws: web.WebSocketResponse, model: str) -> None:
        self._sim = sim
        self._ws = ws
        self._send_lock = asyncio.Lock()
        self._session = wire.default_session(model)
        self._conversation_id = wire.new_id("conv_")
        self._items: dict[str, dict[str, Any]] = {}  # insertion order is conversation order
        self._item_audio_ms: dict[str, int] = {}
        self._buffered_bytes = 0  # only the length matters: nothing is transcribed
        self._detector = EnergySpeechDetector(sample_rate=wire.SAMPLE_RATE)
        self._turn = _TurnDetection(enabled=True)
        self._apply_turn_detection()
        self._speech_item_id: str | None = None
        self._speech_start_ms = 0
        self._last_stop_at: float | None = None
        self._last_silence_ms: int | None = None
        self._input_audio_ms = 0
        self._active: _ResponseRun | None = None
        self._closed = False
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "session.update": self._on_session_update,
            "input_audio_buffer.append": self._on_audio_append,
            "input_audio_buffer.commit": self._on_audio_commit,
            "input_audio_buffer.clear": self._on_audio_clear,
            "conversation.item.create": self._on_item_create,
            "conversation.item.retrieve": self._on_item_retrieve,
            "conversation.item.truncate": self._on_item_truncate,
            "conversation.item.delete": self._on_item_delete,
            "response.create": self._on_response_create,
            "response.cancel": self._on_response_cancel,
        }

    # ---- lifecycle -------------------------------------------------------------------

    async def run(self) -> None:
        await self._send(wire.server_event("session.created", session=self._session_view()))
        try:
            async for msg in self._ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(str(msg.data))
                elif msg.type == WSMsgType.BINARY:
                    self._sim._record("client", {"type": None, "binary_bytes": len(msg.data)})
                    await self._send_error(
                        "invalid_value", "Binary frames are not supported; send JSON text."
                    )
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the response in flight and close the socket; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        run = self._active
        if run is not None and run.task is not None and not run.task.done():
            run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.task
        if not self._ws.closed:
            await self._ws.close()

    # ---- sending ---------------------------------------------------------------------

    async def _send(self, event: dict[str, Any]) -> None:
        if self._ws.closed:
            return
        async with self._send_lock:
            self._sim._record("server", event)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._ws.send_str(json.dumps(event))

    async def _send_error(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        client_event_id: str | None = None,
    ) -> None:
        await self._send(
            wire.error_event(code, message, param=param, client_event_id=client_event_id)
        )

    # ---- dispatch --------------------------------------------------------------------

    async def _on_text(self, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            self._sim._record("client", {"type": None, "unparsed_chars": len(data)})
            await self._send_error(
                "invalid_json", "The message could not be parsed as JSON.", param=None
            )
            return
        if not isinstance(event, dict):
            self._sim._record("client", {"type": None, "unparsed_chars": len(data)})
            await self._send_error("invalid_json", "A client event must be a JSON object.")
            return
        self._sim._record("client", event)
        client_event_id = event.get("event_id")
        if not isinstance(client_event_id, str):
            client_event_id = None
        type_ = event.get("type")
        try:
            if not isinstance(type_, str) or not type_:
                raise _ClientError(
                    "missing_required_parameter", "Missing required parameter: 'type'.", "type"
                )
            handler = self._handlers.get(type_)
            if handler is None:
                raise _ClientError(
                    "invalid_value",
                    f"Invalid value: '{type_[:64]}'. Supported values are: "
                    + ", ".join(f"'{t}'" for t in self._handlers)
                    + ".",
                    "type",
                )
            await handler(event)
        except _ClientError as exc:
            await self._send_error(
                exc.code, exc.message, param=exc.param, client_event_id=client_event_id
            )

    # ---- session ---------------------------------------------------------------------

    def _session_view(self) -> dict[str, Any]:
        return copy.deepcopy(self._session)

    async def _on_session_update(self, event: dict[str, Any]) -> None:
        update = event.get("session")
        if not isinstance(update, dict):
            raise _ClientError(
                "missing_required_parameter", "Missing required parameter: 'session'.", "session"
            )
        session_type = update.get("type", "realtime")
        if session_type != "realtime":
            raise _ClientError(
                "invalid_value",
                "Invalid value for 'session.type'; this server supports 'realtime'.",
                "session.type",
            )
        update = copy.deepcopy(update)
        # beta-style flat field, still sent by some clients
        if "turn_detection" in update:
            flat = update.pop("turn_detection")
            update.setdefault("audio", {}).setdefault("input", {})["turn_detection"] = flat
        td = _dig(update, "audio", "input", "turn_detection")
        if isinstance(td, dict) and td.get("type") not in ("server_vad", "semantic_vad"):
            raise _ClientError(
                "invalid_value",
                "Invalid value for turn_detection.type: expected 'server_vad' or 'semantic_vad'.",
                "session.audio.input.turn_detection.type",
            )
        for direction in ("input", "output"):
            fmt = _dig(update, "audio", direction, "format")
            if isinstance(fmt, dict) and (
                fmt.get("type", "audio/pcm") != "audio/pcm"
                or fmt.get("rate", wire.SAMPLE_RATE) != wire.SAMPLE_RATE
            ):
                raise _ClientError(
                    "invalid_value",
                    "This server supports only audio/pcm at 24000 Hz.",
                    f"session.audio.{direction}.format",
                )
        wire.merge_session(self._session, update)
        self._apply_turn_detection()
        await self._send(wire.server_event("session.updated", session=self._session_view()))

    def _apply_turn_detection(self) -> None:
        self._turn = _turn_detection_from(_dig(self._session, "audio", "input", "turn_detection"))
        self._detector.configure(
            threshold=self._turn.threshold, silence_duration_ms=self._turn.silence_duration_ms
        )

    # ---- input audio -----------------------------------------------------------------

    async def _on_audio_append(self, event: dict[str, Any]) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            raise _ClientError(
                "missing_required_parameter", "Missing required parameter: 'audio'.", "audio"
            )
        try:
            pcm = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise _ClientError(
                "invalid_value", "Invalid 'audio': expected base64-encoded PCM16 audio.", "audio"
            ) from None
        if len(pcm) % 2:
            raise _ClientError(
                "invalid_value", "Invalid 'audio': PCM16 needs an even number of bytes.", "audio"
            )
        self._buffered_bytes += len(pcm)
        self._input_audio_ms += len(pcm) // wire.BYTES_PER_MS
        for speech in self._detector.feed(pcm):
            if self._turn.enabled:
                await self._on_speech_event(speech)

    async def _on_speech_event(self, speech: SpeechEvent) -> None:
        if speech.kind == "started":
            self._speech_item_id = wire.new_id("item_")
            self._speech_start_ms = max(0, speech.audio_ms - self._turn.prefix_padding_ms)
            await self._send(
                wire.server_event(
                    "input_audio_buffer.speech_started",
                    audio_start_ms=self._speech_start_ms,
                    item_id=self._speech_item_id,
                )
            )
            run = self._active
            if self._turn.interrupt_response and run is not None and not run.finished:
                logger.debug("caller speech interrupts the response")
                run.cancel("turn_detected")
                if run.task is not None:
                    await asyncio.shield(run.task)
            return
        item_id = self._speech_item_id or wire.new_id("item_")
        self._speech_item_id = None
        await self._send(
            wire.server_event(
                "input_audio_buffer.speech_stopped", audio_end_ms=speech.audio_ms, item_id=item_id
            )
        )
        self._last_stop_at = time.monotonic()
        self._last_silence_ms = speech.silence_ms
        await self._commit(item_id, client_event_id=None, had_speech=True)
        if self._turn.create_response:
            plan = self._sim._cursor.next_response()
            self._start_response(plan, trigger="server_vad", metadata=None)

    async def _on_audio_commit(self, event: dict[str, Any]) -> None:
        buffered_ms = self._buffered_bytes // wire.BYTES_PER_MS
        if buffered_ms < _MIN_COMMIT_MS:
            raise _ClientError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{_MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms}ms of audio.",
            )
        had_speech = self._detector.speech_seen
        self._last_stop_at = time.monotonic()
        self._last_silence_ms = None
        await self._commit(
            self._speech_item_id or wire.new_id("item_"),
            client_event_id=event.get("event_id"),
            had_speech=had_speech,
        )
        self._speech_item_id = None

    async def _commit(self, item_id: str, *, client_event_id: Any, had_speech: bool) -> None:
        transcript: str | None = None
        turn_index: int | None = None
        if had_speech:
            turn_index, transcript = self._sim._cursor.on_caller_segment()
        if had_speech and turn_index is None:
            logger.info("caller speech segment beyond the script", extra={"item_id": item_id})
        buffered_ms = self._buffered_bytes // wire.BYTES_PER_MS
        self._buffered_bytes = 0
        self._detector.reset_segment()
        previous = self._tail_id()
        await self._send(
            wire.server_event(
                "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id
            )
        )
        item = wire.user_audio_item(item_id, None)
        self._items[item_id] = item
        await self._send(
            wire.server_event("conversation.item.added", previous_item_id=previous, item=item)
        )
        await self._send(
            wire.server_event("conversation.item.done", previous_item_id=previous, item=item)
        )
        if _dig(self._session, "audio", "input", "transcription") is not None:
            text = transcript or ""
            item["content"][0]["transcript"] = text
            await self._send(
                wire.server_event(
                    "conversation.item.input_audio_transcription.completed",
                    item_id=item_id,
                    content_index=0,
                    transcript=text,
                    usage={"type": "duration", "seconds": round(buffered_ms / 1000, 3)},
                )
            )

    async def _on_audio_clear(self, event: dict[str, Any]) -> None:
        self._buffered_bytes = 0
        self._detector.reset_segment()
        self._speech_item_id = None
        await self._send(wire.server_event("input_audio_buffer.cleared"))

    # ---- conversation items ----------------------------------------------------------

    def _tail_id(self) -> str | None:
        return next(reversed(self._items), None) if self._items else None

    def _insert_item(self, item: dict[str, Any], previous_item_id: str | None) -> None:
        item_id = item["id"]
        if previous_item_id is None or previous_item_id == self._tail_id():
            self._items[item_id] = item
            return
        ordered = list(self._items.items())
        position = (
            0
            if previous_item_id == "root"
            else ([k for k, _ in ordered].index(previous_item_id) + 1)
        )
        ordered.insert(position, (item_id, item))
        self._items = dict(ordered)

    async def _on_item_create(self, event: dict[str, Any]) -> None:
        raw = event.get("item")
        if not isinstance(raw, dict):
            raise _ClientError(
                "missing_required_parameter", "Missing required parameter: 'item'.", "item"
            )
        item = copy.deepcopy(raw)
        item_type = item.get("type")
        if item_type not in _ITEM_TYPES:
            raise _ClientError(
                "invalid_value",
                "Invalid value for 'item.type': expected one of "
                + ", ".join(f"'{t}'" for t in _ITEM_TYPES)
                + ".",
                "item.type",
            )
        if item_type == "message":
            if item.get("role") not in _ROLES:
                raise _ClientError(
                    "invalid_value",
                    "Invalid value for 'item.role': expected 'user', 'assistant' or 'system'.",
                    "item.role",
                )
            if not isinstance(item.get("content"), list):
                raise _ClientError(
                    "missing_required_parameter",
                    "Missing required parameter: 'item.content'.",
                    "item.content",
                )
        else:
            required = (
                ("call_id", "output")
                if item_type == "function_call_output"
                else ("call_id", "name", "arguments")
            )
            for name in required:
                if not isinstance(item.get(name), str):
                    raise _ClientError(
                        "missing_required_parameter",
                        f"Missing required parameter: 'item.{name}'.",
                        f"item.{name}",
                    )
        item_id = item.get("id")
        if item_id is None:
            item_id = item["id"] = wire.new_id("item_")
        if not isinstance(item_id, str) or not item_id or len(item_id) > 32:
            raise _ClientError(
                "invalid_value",
                "Invalid 'item.id': expected a string of 1 to 32 characters.",
                "item.id",
            )
        if item_id in self._items:
            raise _ClientError(
                "item_create_duplicate_item_id",
                f"Item with id '{item_id}' already exists.",
                "item.id",
            )
        previous = event.get("previous_item_id")
        if previous is not None and previous != "root" and previous not in self._items:
            raise _ClientError(
                "item_create_invalid_previous_item_id",
                f"Previous item with id '{str(previous)[:64]}' not found.",
                "previous_item_id",
            )
        item["object"] = "realtime.item"
        item.setdefault("status", "completed")
        if previous is None:
            previous = self._tail_id()
        self._insert_item(item, previous)
        reported_previous = None if previous == "root" else previous
        await self._send(
            wire.server_event(
                "conversation.item.added", previous_item_id=reported_previous, item=item
            )
        )
        await self._send(
            wire.server_event(
                "conversation.item.done", previous_item_id=reported_previous, item=item
            )
        )
        if item_type == "function_call_output":
            self._sim._on_tool_output(item["call_id"], item["output"])

    async def _on_item_retrieve(self, event: dict[str, Any]) -> None:
        item = self._item_or_error(event)
        await self._send(wire.server_event("conversation.item.retrieved", item=item))

    def _item_or_error(self, event: dict[str, Any]) -> dict[str, Any]:
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise _ClientError(
                "missing_required_parameter", "Missing required parameter: 'item_id'.", "item_id"
            )
        item = self._items.get(item_id)
        if item is None:
            raise _ClientError(
                "item_not_found", f"Item with item_id '{item_id[:64]}' not found.", "item_id"
            )
        return item

    async def _on_item_truncate(self, event: dict[str, Any]) -> None:
        item = self._item_or_error(event)
        content_index = event.get("content_index")
        audio_end_ms = event.get("audio_end_ms")
        if not isinstance(content_index, int):
            raise _ClientError(
                "missing_required_parameter",
                "Missing required parameter: 'content_index'.",
                "content_index",
            )
        if not isinstance(audio_end_ms, int) or audio_end_ms < 0:
            raise _ClientError(
                "missing_required_parameter",
                "Missing required parameter: 'audio_end_ms' (a non-negative integer).",
                "audio_end_ms",
            )
        if item.get("role") != "assistant" or item["id"] not in self._item_audio_ms:
            raise _ClientError(
                "invalid_value", "Only assistant messages with audio can be truncated.", "item_id"
            )
        if content_index != 0:
            raise _ClientError(
                "invalid_value", "Invalid 'content_index': the item has one part.", "content_index"
            )
        total_ms = self._item_audio_ms[item["id"]]
        if audio_end_ms > total_ms:
            raise _ClientError(
                "invalid_value",
                f"Audio content of {total_ms}ms is already shorter than {audio_end_ms}ms.",
                "audio_end_ms",
            )
        # the API drops the transcript of audio the caller never heard
        for part in item.get("content", []):
            transcript = part.get("transcript")
            if isinstance(transcript, str) and total_ms > 0:
                words = transcript.split()
                kept = math.floor(len(words) * audio_end_ms / total_ms)
                part["transcript"] = " ".join(words[:kept])
        self._item_audio_ms[item["id"]] = audio_end_ms
        await self._send(
            wire.server_event(
                "conversation.item.truncated",
                item_id=item["id"],
                content_index=content_index,
                audio_end_ms=audio_end_ms,
            )
        )

    async def _on_item_delete(self, event: dict[str, Any]) -> None:
        item = self._item_or_error(event)
        del self._items[item["id"]]
        self._item_audio_ms.pop(item["id"], None)
        await self._send(wire.server_event("conversation.item.deleted", item_id=item["id"]))

    # ---- responses -------------------------------------------------------------------

    async def _on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response")
        if params is not None and not isinstance(params, dict):
            raise _ClientError(
                "invalid_type", "Invalid 'response': expected an object.", "response"
            )
        run = self._active
        if run is not None and not run.finished:
            raise _ClientError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {run.response_id}. "
                "Wait until the response is finished before creating a new one.",
            )
        metadata = params.get("metadata") if params else None
        plan = self._sim._cursor.next_response()
        self._start_response(plan, trigger="client", metadata=metadata)

    async def _on_response_cancel(self, event: dict[str, Any]) -> None:
        run = self._active
        wanted = event.get("response_id")
        if (
            run is None
            or run.finished
            or run.cancel_reason is not None
            or (isinstance(wanted, str) and wanted != run.response_id)
        ):
            raise _ClientError(
                "response_cancel_not_active", "Cancellation failed: no active response found."
            )
        run.cancel("client_cancelled")
        if run.task is not None:
            await asyncio.shield(run.task)

    def _start_response(
        self, plan: ResponsePlan, *, trigger: Literal["server_vad", "client"], metadata: Any
    ) -> None:
        response_id = wire.new_id("resp_")
        timing = TurnTiming(
            turn_index=plan.turn_index,
            response_id=response_id,
            trigger=trigger,
            speech_stopped_at=self._last_stop_at if plan.first_of_turn else None,
            silence_window_ms=self._last_silence_ms if plan.first_of_turn else None,
            reply_delay_ms=plan.reply_delay_ms,
            created_at=time.monotonic(),
        )
        self._sim.turn_timings.append(timing)
        previous = self._active
        run = _ResponseRun(response_id=response_id, plan=plan, timing=timing, metadata=metadata)
        self._active = run
        run.task = asyncio.create_task(
            self._response_task(run, previous), name=f"realtime_simulator.response.{response_id}"
        )

    async def _response_task(self, run: _ResponseRun, previous: _ResponseRun | None) -> None:
        try:
            if previous is not None and previous.task is not None:
                # server VAD may answer a new turn while the last response still streams
                # (interrupt_response off): the API answers after it
                await asyncio.shield(previous.task)
            await self._stream_response(run)
        except Exception:
            logger.exception("response stream failed", extra={"response_id": run.response_id})
        finally:
            run.finished = True
            run.timing.done_at = time.monotonic()

    async def _wait_or_cancelled(self, run: _ResponseRun, seconds: float) -> bool:
        """Sleep; True if the response was cancelled meanwhile."""
        if run.cancelled.is_set():
            return True
        if seconds <= 0:
            await asyncio.sleep(0)
            return run.cancelled.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.cancelled.wait(), seconds)
        return run.cancelled.is_set()

    def _response_object(
        self, run: _ResponseRun, status: str, output: list[dict[str, Any]], usage: Any
    ) -> dict[str, Any]:
        details: Any = None
        if status == "cancelled":
            details = {"type": "cancelled", "reason": run.cancel_reason}
        return {
            "object": "realtime.response",
            "id": run.response_id,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": self._conversation_id,
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": copy.deepcopy(_dig(self._session, "audio", "output") or {})},
            "usage": usage,
            "metadata": run.metadata,
        }

    async def _stream_response(self, run: _ResponseRun) -> None:
        plan = run.plan
        rid = run.response_id
        await self._send(
            wire.server_event(
                "response.created", response=self._response_object(run, "in_progress", [], None)
            )
        )
        output: list[dict[str, Any]] = []
        audio_ms_sent = 0
        words_sent = 0
        cancelled = await self._wait_or_cancelled(run, plan.reply_delay_ms / 1000)

        if not cancelled and plan.say_texts:
            item_id = wire.new_id("item_")
            output_index = len(output)
            base = {"response_id": rid, "item_id": item_id, "output_index": output_index}
            item = wire.assistant_message_item(item_id, "in_progress", None)
            await self._send(
                wire.server_event(
                    "response.output_item.added",
                    response_id=rid,
                    output_index=output_index,
                    item=item,
                )
            )
            previous = self._tail_id()
            stored = wire.assistant_message_item(item_id, "in_progress", "")
            self._items[item_id] = stored
            await self._send(
                wire.server_event("conversation.item.added", previous_item_id=previous, item=item)
            )
            await self._send(
                wire.server_event(
                    "response.content_part.added",
                    **base,
                    content_index=0,
                    part={"type": "audio", "transcript": ""},
                )
            )
            pcm = await self._sim._speech(plan.say_texts)
            words = plan.text.split()
            chunk_bytes = CHUNK_MS * wire.BYTES_PER_MS
            n_chunks = max(1, math.ceil(len(pcm) / chunk_bytes))
            speed = self._sim.stream_speed
            for i in range(n_chunks):
                # transcript runs slightly ahead of audio, as the API's does
                upto = math.ceil(len(words) * (i + 1) / n_chunks)
                if upto > words_sent:
                    delta = " ".join(words[words_sent:upto])
                    if words_sent:
                        delta = " " + delta
                    words_sent = upto
                    await self._send(
                        wire.server_event(
                            "response.output_audio_transcript.delta",
                            **base,
                            content_index=0,
                            delta=delta,
                        )
                    )
                chunk = pcm[i * chunk_bytes : (i + 1) * chunk_bytes]
                if chunk:
                    await self._send(
                        wire.server_event(
                            "response.output_audio.delta",
                            **base,
                            content_index=0,
                            delta=wire.b64encode(chunk),
                        )
                    )
                    if run.timing.first_audio_at is None:
                        run.timing.first_audio_at = time.monotonic()
                    audio_ms_sent += len(chunk) // wire.BYTES_PER_MS
                if await self._wait_or_cancelled(run, CHUNK_MS / 1000 / speed):
                    cancelled = True
                    break
            transcript = " ".join(words[:words_sent])
            self._item_audio_ms[item_id] = audio_ms_sent
            status = "incomplete" if cancelled else "completed"
            if not cancelled:
                await self._send(
                    wire.server_event("response.output_audio.done", **base, content_index=0)
                )
                await self._send(
                    wire.server_event(
                        "response.output_audio_transcript.done",
                        **base,
                        content_index=0,
                        transcript=transcript,
                    )
                )
                await self._send(
                    wire.server_event(
                        "response.content_part.done",
                        **base,
                        content_index=0,
                        part={"type": "audio", "transcript": transcript},
                    )
                )
            done_item = wire.assistant_message_item(item_id, status, transcript)
            stored.update(copy.deepcopy(done_item))
            output.append(done_item)
            await self._send(
                wire.server_event(
                    "response.output_item.done",
                    response_id=rid,
                    output_index=output_index,
                    item=done_item,
                )
            )
            await self._send(
                wire.server_event(
                    "conversation.item.done", previous_item_id=previous, item=done_item
                )
            )

        if not cancelled and plan.tool is not None:
            cancelled = await self._wait_or_cancelled(run, 0)
        if not cancelled and plan.tool is not None:
            await self._stream_function_call(run, plan, output)

        status = "cancelled" if cancelled else "completed"
        run.timing.status = status
        usage = wire.usage(
            input_audio_ms=self._input_audio_ms,
            output_audio_ms=audio_ms_sent,
            output_words=words_sent,
        )
        await self._send(
            wire.server_event(
                "response.done", response=self._response_object(run, status, output, usage)
            )
        )

    async def _stream_function_call(
        self, run: _ResponseRun, plan: ResponsePlan, output: list[dict[str, Any]]
    ) -> None:
        assert plan.tool is not None
        rid = run.response_id
        item_id = wire.new_id("item_")
        call_id = wire.new_id("call_", 16)
        arguments = json.dumps(plan.tool.arguments)
        output_index = len(output)
        self._sim._on_tool_called(call_id, plan.tool, plan.turn_index, arguments)
        item = wire.function_call_item(item_id, "in_progress", call_id, plan.tool.tool, "")
        await self._send(
            wire.server_event(
                "response.output_item.added", response_id=rid, output_index=output_index, item=item
            )
        )
        previous = self._tail_id()
        self._items[item_id] = copy.deepcopy(item)
        await self._send(
            wire.server_event("conversation.item.added", previous_item_id=previous, item=item)
        )
        base = {
            "response_id": rid,
            "item_id": item_id,
            "output_index": output_index,
            "call_id": call_id,
        }
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            if piece:
                await self._send(
                    wire.server_event("response.function_call_arguments.delta", **base, delta=piece)
                )
        await self._send(
            wire.server_event(
                "response.function_call_arguments.done",
                **base,
                name=plan.tool.tool,
                arguments=arguments,
            )
        )
        done_item = wire.function_call_item(
            item_id, "completed", call_id, plan.tool.tool, arguments
        )
        self._items[item_id] = copy.deepcopy(done_item)
        output.append(done_item)
        await self._send(
            wire.server_event(
                "response.output_item.done",
                response_id=rid,
                output_index=output_index,
                item=done_item,
            )
        )
        await self._send(
            wire.server_event("conversation.item.done", previous_item_id=previous, item=done_item)
        )


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
