"""The console's side of the command channel: send one command to the worker holding a call and
get its answer, or a clear refusal.

Refusals the page shows: `call_ended` (no live call by that id), `no_worker` (nobody holds the
call now), `no_reply` (the worker did not answer in time), and whatever the worker refuses with
(`already_supervised`, `not_supervised`, `not_ringing`, `in_transfer`). A role that may not
supervise is refused before anything is sent (`not_allowed`).
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from state.redis_live import call_key
from supervision.protocol import (
    Action,
    CommandFormatError,
    CommandReply,
    CommandSerializer,
    SupervisionCommand,
    command_channel,
    reply_key,
)
from supervision.roles import can_supervise

logger = logging.getLogger("intake.supervision")

DEFAULT_REPLY_TIMEOUT_S = 3.0
FINAL_STATUSES = frozenset({"ended"})


class CommandRefusedError(Exception):
    """The command was not carried out; `reason` is a fixed code, `message` a sentence."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


class SupervisionClient:
    """Built from the console's Redis client (`redis.asyncio.Redis`, any decoding)."""

    def __init__(self, redis: aioredis.Redis, *,
                 reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_S) -> None:
        self._redis = redis
        self._reply_timeout_s = reply_timeout_s

    async def send(self, call_id: str, action: Action, *, account: str, role: str,
                   text: str | None = None) -> CommandReply:
        """Carry out `action` on the live call; returns the worker's reply (ok) or raises
        `CommandRefusedError`."""
        if not can_supervise(role):
            raise CommandRefusedError("not_allowed", "Your role cannot supervise calls.")
        try:
            command = SupervisionCommand(action=action, by=account, text=text)
        except CommandFormatError as exc:
            raise CommandRefusedError(exc.reason, _FORMAT_MESSAGES.get(
                exc.reason, "That command is not valid.")) from None
        status = await self._redis.hget(call_key(call_id), "status")
        if status is None or _text(status) in FINAL_STATUSES:
            raise CommandRefusedError("call_ended", "This call has ended.")
        receivers = await self._redis.publish(command_channel(call_id),
                                              CommandSerializer.encode_command(command))
        if receivers == 0:
            raise CommandRefusedError("no_worker", "No agent holds this call any more.")
        popped = await self._redis.blpop([reply_key(command.command_id)],
                                         timeout=self._reply_timeout_s)
        if popped is None:
            logger.warning("supervision command not answered",
                           extra={"call_id": call_id, "action": action})
            raise CommandRefusedError("no_reply", "The agent did not answer in time.")
        reply = CommandSerializer.decode_reply(popped[1])
        if not reply.ok:
            raise CommandRefusedError(reply.reason, reply.message)
        return reply


_FORMAT_MESSAGES = {
    "bad_account": "Your account name cannot be used here.",
    "whisper_empty": "Type the guidance first.",
    "whisper_too_long": "Guidance is limited to 500 characters.",
    "bad_action": "Unknown action.",
}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
