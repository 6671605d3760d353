"""A supervisor on a live call, worker side: the job holding the call takes their commands.

Commands arrive on the call's Redis channel (`supervision.protocol`) and are carried out one at
a time, so a second take-over is refused. Listening is audit only (the browser joins the room
with its own hidden token). A whisper becomes part of the model's instructions, after and below
the playbook's rules. Taking over stops the agent's speech at once and stops the model
answering (server VAD keeps transcribing the caller; any reply already on its way is cut off);
the timers leave the call alone. While supervised, the supervisor's speech is transcribed into
the record where a model is configured (`agent.supervisor_transcription`). Handing back tells
the model what was said and asks it to go on with what is missing, with no second greeting.
Every action is a `supervision` event.

The board: this job keeps the call's `board` field (stage, missing fields, escalation flags,
ringing) current and rings the board on an escalation while a supervisor is signed in on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as aioredis
from livekit.agents import llm
from livekit.agents.voice import SpeechHandle
from livekit.agents.voice import events as voice_events

from agent.call_ending import CallEnding
from agent.call_runtime import CallRuntime
from agent.intake_agent import IntakeAgent
from agent.supervision_prompts import hand_back_instructions, hand_back_note, whisper_note
from agent.supervisor_transcription import SupervisorTranscriber
from state.protocols import ESCALATION, SUPERVISION, TURN
from state.redis_live import REDIS_UNAVAILABLE, call_key, connect_redis
from supervision.board import supervisors_present
from supervision.protocol import (
    BOARD_FIELD,
    MONITORING_FIELD,
    REPLY_TTL_S,
    SUPERVISOR_FIELD,
    CommandFormatError,
    CommandReply,
    CommandSerializer,
    SupervisionCommand,
    command_channel,
    reply_key,
)
from tools.context import EscalationRequest

logger = logging.getLogger("intake.supervision")

BOARD_REFRESH_S = 1.0
POLL_S = 1.0


def _refuse(reason: str, message: str) -> CommandReply:
    return CommandReply(ok=False, reason=reason, message=message)


class SupervisionDesk:
    """One call's supervision. `attach` once the session runs; its tasks belong to the call."""

    def __init__(self, runtime: CallRuntime, ending: CallEnding) -> None:
        self._rt = runtime
        self._ending = ending
        self._agent: IntakeAgent | None = None
        self._redis: aioredis.Redis | None = None
        self._monitoring: list[str] = []
        self._taken_at: datetime | None = None
        # what was said while supervised, in order: ("caller" | "supervisor", text)
        self._exchange: list[tuple[str, str]] = []
        self._transcriber: SupervisorTranscriber | None = None
        self._flags: list[str] = []
        self._ringing: dict[str, Any] | None = None
        self._ring_answer: asyncio.Future[str] | None = None
        self._subscribed = asyncio.Event()

    # --- wiring --------------------------------------------------------------------------------

    def attach(self, agent: IntakeAgent) -> None:
        rt = self._rt
        self._agent = agent
        url = rt.assets.settings.redis_url
        if not url:
            return  # no Redis: no board and no commands (a local console run)
        self._redis = connect_redis(url, timeout=2.0)
        rt.board = self
        rt.record_observers.append(self._on_record)
        if rt.session is not None:
            rt.session.on("speech_created", self._on_speech_created)
            rt.session.on("conversation_item_added", self._on_item_added)
        rt.spawn(self._serve(self._redis), "intake-supervision-commands")
        rt.spawn(self._refresh_board_forever(), "intake-supervision-board")

    async def until_subscribed(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._subscribed.wait(), timeout)

    # --- the command channel -------------------------------------------------------------------

    async def _serve(self, redis: aioredis.Redis) -> None:
        pubsub = redis.pubsub()
        try:
            while not self._rt.finished:
                try:
                    await pubsub.subscribe(command_channel(self._rt.call_id))
                    self._subscribed.set()
                    while not self._rt.finished:
                        message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                           timeout=POLL_S)
                        if message is not None and message.get("type") == "message":
                            await self._on_message(redis, message["data"])
                except REDIS_UNAVAILABLE:
                    logger.warning("supervision channel lost; resubscribing", extra=self._rt.log)
                    await asyncio.sleep(POLL_S)
        finally:
            with contextlib.suppress(Exception):
                # typed from redis 8.2 on, untyped before: Any suits both
                await cast(Any, pubsub).aclose()
            with contextlib.suppress(Exception):
                await redis.aclose()

    async def _on_message(self, redis: aioredis.Redis, data: bytes | str) -> None:
        try:
            command = CommandSerializer.decode_command(data)
        except CommandFormatError as exc:
            logger.warning("supervision command refused",
                           extra={**self._rt.log, "reason": exc.reason})
            return  # without a valid id there is nobody to answer
        try:
            reply = await self.handle(command)
        except Exception:
            logger.exception("supervision command failed",
                             extra={**self._rt.log, "action": command.action})
            reply = _refuse("failed", "The agent could not carry out this command.")
        key = reply_key(command.command_id)
        with contextlib.suppress(*REDIS_UNAVAILABLE):
            async with redis.pipeline(transaction=True) as pipe:
                pipe.lpush(key, CommandSerializer.encode_reply(reply))
                pipe.expire(key, REPLY_TTL_S)
                await pipe.execute()
        if command.action == "end_call" and reply.ok:
            self._rt.spawn(self._ending.hang_up("supervisor_ended"), "intake-hangup")

    async def handle(self, command: SupervisionCommand) -> CommandReply:
        """Carry out one command (one at a time: the channel loop awaits each)."""
        rt = self._rt
        if rt.finished or rt.session is None:
            return _refuse("call_ended", "This call has ended.")
        if rt.handed_over:
            return _refuse("in_transfer", "This call was handed to a person by phone.")
        by = command.by
        room = {"room": rt.ctx.room.name}
        match command.action:
            case "listen_start":
                if by not in self._monitoring:
                    self._monitoring.append(by)
                await self._record({"action": "listen_start", "by": by})
                await self._write_fields({MONITORING_FIELD: json.dumps(self._monitoring)})
                return CommandReply(ok=True, data=room)
            case "listen_stop":
                if by in self._monitoring:
                    self._monitoring.remove(by)
                await self._record({"action": "listen_stop", "by": by})
                await self._write_fields({MONITORING_FIELD: json.dumps(self._monitoring)})
                return CommandReply(ok=True, data=room)
            case "whisper":
                assert command.text is not None
                await self._record({"action": "whisper", "by": by, "text": command.text})
                if self._agent is not None:
                    await self._agent.add_supervisor_note(whisper_note(command.text))
                return CommandReply(ok=True, data=room)
            case "take_over":
                refusal = self._cannot_take_over()
                if refusal is not None:
                    return refusal
                await self.take_over(by)
                return CommandReply(ok=True, data=room)
            case "accept_escalation":
                answer = self._ring_answer
                if answer is None or answer.done() or self._ringing is None:
                    return _refuse("not_ringing", "This call is not ringing any more.")
                refusal = self._cannot_take_over()
                if refusal is not None:
                    return refusal
                briefing = dict(self._ringing)
                await self.take_over(by)
                await self._record({"action": "board_ring_accepted", "by": by})
                answer.set_result(by)
                return CommandReply(ok=True, data={**room, "briefing": briefing})
            case "hand_back":
                if rt.supervised_by is None:
                    return _refuse("not_supervised", "Nobody has taken this call over.")
                await self.hand_back(by)
                return CommandReply(ok=True, data=room)
            case "end_call":
                await self._record({"action": "end_call", "by": by})
                return CommandReply(ok=True, data=room)
        return _refuse("bad_action", "Unknown action.")

    def _cannot_take_over(self) -> CommandReply | None:
        if self._rt.supervised_by is not None:
            return _refuse("already_supervised",
                           f"{self._rt.supervised_by} has already taken this call over.")
        if self._rt.on_hold or self._rt.warm_transfer is not None:
            return _refuse("in_transfer", "This call is being transferred by phone.")
        return None

    # --- take over and hand back ---------------------------------------------------------------

    async def take_over(self, by: str) -> None:
        rt = self._rt
        session = rt.session
        assert session is not None
        rt.supervised_by = by
        self._taken_at = datetime.now(UTC)
        self._exchange = []
        # the agent stops mid-sentence now; a reply already on its way is cut off as it
        # starts (`_on_speech_created`)
        with contextlib.suppress(RuntimeError):
            session.interrupt(force=True)
        self._set_answering(False)
        await self._record({"action": "take_over", "by": by,
                            "from": self._taken_at.isoformat()})
        await self._write_fields({SUPERVISOR_FIELD: by})
        self._transcriber = SupervisorTranscriber.start(rt, by, self._supervisor_said(by))
        await self.refresh_board()

    def _supervisor_said(self, by: str) -> Callable[[str], Awaitable[None]]:
        async def said(text: str) -> None:
            self._exchange.append(("supervisor", text))
            self._rt.record(TURN, {"role": "supervisor", "text": text, "by": by,
                                   "interrupted": False})
        return said

    async def hand_back(self, by: str) -> None:
        rt = self._rt
        session = rt.session
        assert session is not None
        taken_by, taken_at = rt.supervised_by or by, self._taken_at
        transcriber, self._transcriber = self._transcriber, None
        if transcriber is not None:
            await transcriber.finish()  # the supervisor's last words are in the note
        ended_at = datetime.now(UTC)
        rt.supervised_by = None
        self._taken_at = None
        self._set_answering(True)
        await self._record({"action": "hand_back", "by": by, "taken_by": taken_by,
                            "from": taken_at.isoformat() if taken_at else None,
                            "to": ended_at.isoformat()})
        await self._write_fields({SUPERVISOR_FIELD: ""})
        if self._agent is not None:
            await self._agent.add_supervisor_note(hand_back_note(
                taken_by, self._exchange, supervisor_transcribed=transcriber is not None))
        missing = session.userdata.checklist.missing()
        session.generate_reply(instructions=hand_back_instructions(missing))
        await self.refresh_board()

    def _set_answering(self, answering: bool) -> None:
        if self._rt.turn_taking is not None:
            self._rt.turn_taking.set_answering(answering)

    def _on_speech_created(self, ev: voice_events.SpeechCreatedEvent) -> None:
        if self._rt.supervised_by is None:
            return
        handle: SpeechHandle = ev.speech_handle
        with contextlib.suppress(RuntimeError):
            handle.interrupt(force=True)

    def _on_item_added(self, ev: voice_events.ConversationItemAddedEvent) -> None:
        item = ev.item
        if (self._rt.supervised_by is not None and isinstance(item, llm.ChatMessage)
                and item.role == "user" and (item.text_content or "").strip()):
            self._exchange.append(("caller", (item.text_content or "").strip()))

    # --- the board -----------------------------------------------------------------------------

    async def supervisors_waiting(self) -> bool:
        if self._redis is None:
            return False
        try:
            return bool(await supervisors_present(self._redis))
        except REDIS_UNAVAILABLE:
            return False

    async def ring(self, request: EscalationRequest) -> str | None:
        rt = self._rt
        ring_s = rt.playbook.transfer.board_ring_seconds
        session = rt.session
        outcome = session.userdata.checklist.outcome() if session is not None else {}
        self._ringing = {"reason": request.category, "fields": outcome.get("fields", {}),
                         "missing_fields": outcome.get("missing_fields", []),
                         "until": datetime.now(UTC).timestamp() + ring_s}
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._ring_answer = answer
        await self._record({"action": "board_ring", "category": request.category,
                            "ring_seconds": ring_s})
        await self.refresh_board()
        try:
            return await asyncio.wait_for(asyncio.shield(answer), ring_s)
        except TimeoutError:
            await self._record({"action": "board_ring_unanswered",
                                "category": request.category})
            return None
        finally:
            self._ringing = None
            self._ring_answer = None
            if not answer.done():
                answer.cancel()
            await self.refresh_board()

    def _on_record(self, kind: str, payload: Mapping[str, Any]) -> None:
        if kind != ESCALATION:
            return
        flag = None
        if payload.get("stage") == "handoff":
            flag = ("caller_asked_for_person" if payload.get("category") == "human_request"
                    else "escalation")
        elif payload.get("stage") == "warm_transfer" and payload.get("transferred") is False:
            flag = "transfer_unanswered"
        if flag is not None and flag not in self._flags:
            self._flags.append(flag)

    def board_state(self) -> dict[str, Any]:
        rt = self._rt
        session = rt.session
        missing = session.userdata.checklist.missing() if session is not None else []
        if rt.supervised_by is not None:
            stage = "supervised"
        elif self._ringing is not None:
            stage = "ringing"
        elif rt.on_hold or rt.warm_transfer is not None:
            stage = "transferring"
        elif rt.handed_over:
            stage = "transferred"
        elif session is not None and session.userdata.end_reason is not None:
            stage = "ending"
        else:
            stage = "intake"
        return {"stage": stage, "missing_fields": missing, "escalation_flags": self._flags,
                "ringing": self._ringing}

    async def refresh_board(self) -> None:
        await self._write_fields({BOARD_FIELD: json.dumps(self.board_state(), default=str)})

    async def _refresh_board_forever(self) -> None:
        while not self._rt.finished:
            await self.refresh_board()
            await asyncio.sleep(BOARD_REFRESH_S)

    # --- storage -------------------------------------------------------------------------------

    async def _record(self, payload: dict[str, Any]) -> None:
        """Awaited (not spawned), so the record has supervision events in the order they
        happened and the console hears back only once its action is on record."""
        rt = self._rt
        recorder = rt.recorder
        if recorder is None or rt.finished:
            return
        try:
            await recorder.record(SUPERVISION, payload)
        except Exception:
            logger.exception("supervision event not recorded",
                             extra={**rt.log, "action": payload.get("action")})

    async def _write_fields(self, fields: Mapping[str, str]) -> None:
        redis = self._redis
        if redis is None or self._rt.finished:
            return
        key = call_key(self._rt.call_id)
        try:
            # only while the call is live: never resurrect an expired or ended hash
            if await redis.hget(key, "status") not in (None, b"ended"):
                mapping: dict[Any, Any] = dict(fields)
                await redis.hset(key, mapping=mapping)
        except REDIS_UNAVAILABLE:
            logger.warning("board fields not written", extra=self._rt.log)
