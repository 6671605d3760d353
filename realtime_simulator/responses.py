"""Model responses: response.create / cancel, interruption by the caller, and the task that
streams each response (one at a time, as the API allows)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Literal

from .client_errors import ClientError
from .connection_host import ConnectionHost, SendEvent
from .conversation import ConversationItems
from .input_audio import CallerAudioMarks
from .out_of_band import OutOfBandRecord, input_user_text, is_out_of_band
from .records import TurnTiming
from .response_stream import ResponseRun, ResponseStreamer
from .script import ResponsePlan
from .session_config import SessionConfig
from .wire import new_id

logger = logging.getLogger(__name__)


class ResponseRunner:
    """Handles response.create / cancel and owns the task streaming each response."""

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
        self._marks = marks
        self._streamer = ResponseStreamer(host, send, session=session, items=items, marks=marks)
        self._active: ResponseRun | None = None
        self._session = session
        self._out_of_band: dict[str, ResponseRun] = {}

    async def close(self) -> None:
        """Stop the responses in flight without finishing them on the wire."""
        runs = [self._active, *self._out_of_band.values()]
        for run in runs:
            if run is not None and run.task is not None and not run.task.done():
                run.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run.task

    def _start_out_of_band(self, params: dict[str, Any]) -> None:
        """Outside the default conversation and the script, beside any response in flight."""
        text = input_user_text(params)
        spoken = self._host.out_of_band_speech(text) if text else ""
        plan = ResponsePlan(source="out_of_band", turn_index=None,
                            say_texts=(spoken,) if spoken else (), tool=None,
                            reply_delay_ms=0, first_of_turn=False)
        response_id = new_id("resp_")
        # not a turn: kept out of turn_timings, which the latency benchmark reads per call
        timing = TurnTiming(turn_index=None, response_id=response_id, trigger="client",
                            speech_stopped_at=None, silence_window_ms=None, reply_delay_ms=0,
                            created_at=time.monotonic())
        run = ResponseRun(response_id=response_id, plan=plan, timing=timing,
                          metadata=params.get("metadata"), out_of_band=True)
        self._out_of_band[response_id] = run
        run.task = asyncio.create_task(self._out_of_band_task(run, text),
                                       name=f"realtime_simulator.out_of_band.{response_id}")

    async def _out_of_band_task(self, run: ResponseRun, text: str) -> None:
        try:
            await self._streamer.stream(run)
            self._host.record_out_of_band(OutOfBandRecord(
                response_id=run.response_id, text=text, spoken=run.plan.text,
                voice=self._session.output_audio().get("voice"), pcm=run.pcm,
                at=time.monotonic()))
        except Exception:
            logger.exception("out-of-band response failed",
                             extra={"response_id": run.response_id})
        finally:
            run.finished = True
            self._out_of_band.pop(run.response_id, None)

    async def on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response")
        if params is not None and not isinstance(params, dict):
            raise ClientError("invalid_type", "Invalid 'response': expected an object.", "response")
        if is_out_of_band(params):
            assert params is not None
            self._start_out_of_band(params)
            return
        run = self._active
        if run is not None and not run.finished:
            raise ClientError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {run.response_id}. "
                "Wait until the response is finished before creating a new one.",
            )
        metadata = params.get("metadata") if params else None
        plan = self._host.next_response()
        self.start_response(plan, trigger="client", metadata=metadata)

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        run = self._active
        wanted = event.get("response_id")
        if (
            run is None
            or run.finished
            or run.cancel_reason is not None
            or (isinstance(wanted, str) and wanted != run.response_id)
        ):
            raise ClientError(
                "response_cancel_not_active", "Cancellation failed: no active response found."
            )
        run.cancel("client_cancelled")
        if run.task is not None:
            await asyncio.shield(run.task)

    async def interrupt_for_caller(self) -> None:
        run = self._active
        if run is not None and not run.finished:
            logger.debug("caller speech interrupts the response")
            run.cancel("turn_detected")
            if run.task is not None:
                await asyncio.shield(run.task)

    def start_response(
        self, plan: ResponsePlan, *, trigger: Literal["server_vad", "client"], metadata: Any
    ) -> None:
        response_id = new_id("resp_")
        timing = TurnTiming(
            turn_index=plan.turn_index,
            response_id=response_id,
            trigger=trigger,
            speech_stopped_at=self._marks.last_stop_at if plan.first_of_turn else None,
            silence_window_ms=self._marks.last_silence_ms if plan.first_of_turn else None,
            reply_delay_ms=plan.reply_delay_ms,
            created_at=time.monotonic(),
        )
        self._host.record_turn_timing(timing)
        previous = self._active
        run = ResponseRun(response_id=response_id, plan=plan, timing=timing, metadata=metadata)
        self._active = run
        run.task = asyncio.create_task(
            self._response_task(run, previous), name=f"realtime_simulator.response.{response_id}"
        )

    async def _response_task(self, run: ResponseRun, previous: ResponseRun | None) -> None:
        try:
            if previous is not None and previous.task is not None:
                # server VAD may answer a new turn while the last response still streams
                # (interrupt_response off): the API answers after it
                await asyncio.shield(previous.task)
            await self._streamer.stream(run)
        except Exception:
            logger.exception("response stream failed", extra={"response_id": run.response_id})
        finally:
            run.finished = True
            run.timing.done_at = time.monotonic()
