"""Streaming one model response on the wire as the API does: response.created, the spoken
message as audio and transcript deltas, the function call's arguments, response.done."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from .connection_host import ConnectionHost, SendEvent
from .conversation import ConversationItems
from .input_audio import CallerAudioMarks
from .records import TurnTiming
from .script import ResponsePlan
from .session_config import SessionConfig
from .wire import (
    BYTES_PER_MS,
    assistant_message_item,
    b64encode,
    function_call_item,
    new_id,
    server_event,
    usage,
)

CHUNK_MS = 100
"""Audio per output_audio.delta."""


@dataclass
class ResponseRun:
    """One response from response.created to response.done."""

    response_id: str
    plan: ResponsePlan
    timing: TurnTiming
    metadata: Any
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_reason: str | None = None
    task: asyncio.Task[None] | None = None
    finished: bool = False
    # conversation "none": output stays out of the default conversation
    out_of_band: bool = False
    pcm: bytes = b""

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.cancelled.set()

    async def wait_or_cancelled(self, seconds: float) -> bool:
        """Sleep; True if the response was cancelled meanwhile."""
        if self.cancelled.is_set():
            return True
        if seconds <= 0:
            await asyncio.sleep(0)
            return self.cancelled.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.cancelled.wait(), seconds)
        return self.cancelled.is_set()


class ResponseStreamer:
    """Sends one response's events; what it says comes from the run's plan."""

    def __init__(
        self,
        host: ConnectionHost,
        send: SendEvent,
        *,
        session: SessionConfig,
        items: ConversationItems,
        marks: CallerAudioMarks,
    ) -> None:
        self._host = host
        self._send = send
        self._session = session
        self._items = items
        self._marks = marks

    def _response_object(
        self, run: ResponseRun, status: str, output: list[dict[str, Any]], usage: Any
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
            "conversation_id": None if run.out_of_band else self._items.conversation_id,
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": self._session.output_audio()},
            "usage": usage,
            "metadata": run.metadata,
        }

    async def stream(self, run: ResponseRun) -> None:
        """Stream the whole response; stops early, still sending response.done, once the
        run is cancelled."""
        plan = run.plan
        await self._send(
            server_event(
                "response.created", response=self._response_object(run, "in_progress", [], None)
            )
        )
        output: list[dict[str, Any]] = []
        audio_ms_sent = 0
        words_sent = 0
        cancelled = await run.wait_or_cancelled(plan.reply_delay_ms / 1000)

        if not cancelled and plan.say_texts:
            cancelled, audio_ms_sent, words_sent = await self._stream_message(run, output)
        if not cancelled and plan.tool is not None:
            cancelled = await run.wait_or_cancelled(0)
        if not cancelled and plan.tool is not None:
            await self._stream_function_call(run, output)

        status = "cancelled" if cancelled else "completed"
        run.timing.status = status
        tokens = usage(
            input_audio_ms=self._marks.input_audio_ms,
            output_audio_ms=audio_ms_sent,
            output_words=words_sent,
        )
        await self._send(
            server_event(
                "response.done", response=self._response_object(run, status, output, tokens)
            )
        )

    async def _stream_message(
        self, run: ResponseRun, output: list[dict[str, Any]]
    ) -> tuple[bool, int, int]:
        """Stream the plan's spoken message; returns (cancelled, audio ms sent, words sent)."""
        rid = run.response_id
        item_id = new_id("item_")
        output_index = len(output)
        base = {"response_id": rid, "item_id": item_id, "output_index": output_index}
        item = assistant_message_item(item_id, "in_progress", None)
        await self._send(
            server_event(
                "response.output_item.added", response_id=rid, output_index=output_index, item=item
            )
        )
        previous = self._items.tail_id()
        stored = assistant_message_item(item_id, "in_progress", "")
        if not run.out_of_band:
            self._items.put(stored)
            await self._send(
                server_event("conversation.item.added", previous_item_id=previous, item=item)
            )
        await self._send(
            server_event(
                "response.content_part.added",
                **base,
                content_index=0,
                part={"type": "audio", "transcript": ""},
            )
        )
        pcm = await self._host.speech_pcm(run.plan.say_texts, cache=not run.out_of_band)
        run.pcm = pcm
        words = run.plan.text.split()
        chunk_bytes = CHUNK_MS * BYTES_PER_MS
        n_chunks = max(1, math.ceil(len(pcm) / chunk_bytes))
        speed = self._host.stream_speed
        cancelled = False
        audio_ms_sent = 0
        words_sent = 0
        for i in range(n_chunks):
            # transcript runs slightly ahead of audio, as the API's does
            upto = math.ceil(len(words) * (i + 1) / n_chunks)
            if upto > words_sent:
                delta = " ".join(words[words_sent:upto])
                if words_sent:
                    delta = " " + delta
                words_sent = upto
                await self._send(
                    server_event(
                        "response.output_audio_transcript.delta",
                        **base,
                        content_index=0,
                        delta=delta,
                    )
                )
            chunk = pcm[i * chunk_bytes : (i + 1) * chunk_bytes]
            if chunk:
                await self._send(
                    server_event(
                        "response.output_audio.delta",
                        **base,
                        content_index=0,
                        delta=b64encode(chunk),
                    )
                )
                if run.timing.first_audio_at is None:
                    run.timing.first_audio_at = time.monotonic()
                audio_ms_sent += len(chunk) // BYTES_PER_MS
            # nobody listens to an out-of-band rendering as it streams: as fast as it's made
            pace_s = 0.0 if run.out_of_band else CHUNK_MS / 1000 / speed
            if await run.wait_or_cancelled(pace_s):
                cancelled = True
                break
        transcript = " ".join(words[:words_sent])
        if not run.out_of_band:
            self._items.set_audio_ms(item_id, audio_ms_sent)
        status = "incomplete" if cancelled else "completed"
        if not cancelled:
            await self._send(server_event("response.output_audio.done", **base, content_index=0))
            await self._send(
                server_event(
                    "response.output_audio_transcript.done",
                    **base,
                    content_index=0,
                    transcript=transcript,
                )
            )
            await self._send(
                server_event(
                    "response.content_part.done",
                    **base,
                    content_index=0,
                    part={"type": "audio", "transcript": transcript},
                )
            )
        done_item = assistant_message_item(item_id, status, transcript)
        stored.update(copy.deepcopy(done_item))
        output.append(done_item)
        await self._send(
            server_event(
                "response.output_item.done",
                response_id=rid,
                output_index=output_index,
                item=done_item,
            )
        )
        if not run.out_of_band:
            await self._send(
                server_event("conversation.item.done", previous_item_id=previous, item=done_item)
            )
        return cancelled, audio_ms_sent, words_sent

    async def _stream_function_call(self, run: ResponseRun, output: list[dict[str, Any]]) -> None:
        tool = run.plan.tool
        assert tool is not None
        rid = run.response_id
        item_id = new_id("item_")
        call_id = new_id("call_", 16)
        arguments = json.dumps(tool.arguments)
        output_index = len(output)
        self._host.on_tool_called(call_id, tool, run.plan.turn_index, arguments)
        item = function_call_item(item_id, "in_progress", call_id, tool.tool, "")
        await self._send(
            server_event(
                "response.output_item.added", response_id=rid, output_index=output_index, item=item
            )
        )
        previous = self._items.tail_id()
        self._items.put(copy.deepcopy(item))
        await self._send(
            server_event("conversation.item.added", previous_item_id=previous, item=item)
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
                    server_event("response.function_call_arguments.delta", **base, delta=piece)
                )
        await self._send(
            server_event(
                "response.function_call_arguments.done", **base, name=tool.tool, arguments=arguments
            )
        )
        done_item = function_call_item(item_id, "completed", call_id, tool.tool, arguments)
        self._items.put(copy.deepcopy(done_item))
        output.append(done_item)
        await self._send(
            server_event(
                "response.output_item.done",
                response_id=rid,
                output_index=output_index,
                item=done_item,
            )
        )
        await self._send(
            server_event("conversation.item.done", previous_item_id=previous, item=done_item)
        )
