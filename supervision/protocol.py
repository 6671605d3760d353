"""The supervision command channel's wire format and Redis names, shared by the console (sender)
and the worker holding the call (receiver).

A command is published on `supervision:commands:<call id>`; only the job process running that
call subscribes, so the command reaches it whichever worker it is (a replacement worker that
resumed the call subscribes under the same call id). The job answers by pushing one reply onto
the list named in the command (`LPUSH` + `EXPIRE`), which the sender pops with `BLPOP`: a list
cannot lose a reply that arrives before the sender waits for it, as a second pub/sub channel could.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Action = Literal["listen_start", "listen_stop", "whisper", "take_over", "hand_back",
                 "end_call", "accept_escalation"]
ACTIONS: frozenset[str] = frozenset(get_args(Action))
WIRE_VERSION = 1
MAX_WHISPER_CHARS = 500
MAX_ACCOUNT_CHARS = 64
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
REPLY_TTL_S = 30
# board presence: a supervisor's board page renews its entry while it is open
PRESENCE_KEY = "supervision:presence"
# call hash fields the worker maintains for the board
SUPERVISOR_FIELD = "supervisor"
MONITORING_FIELD = "monitoring"
BOARD_FIELD = "board"


def command_channel(call_id: str) -> str:
    return f"supervision:commands:{call_id}"


def reply_key(command_id: str) -> str:
    return f"supervision:reply:{command_id}"


class CommandFormatError(ValueError):
    """A command or reply that does not follow the wire format; `reason` is a fixed code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_account(account: Any) -> str:
    if not isinstance(account, str) or not _ACCOUNT_RE.match(account):
        raise CommandFormatError("bad_account")
    return str(account)


def check_whisper(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise CommandFormatError("whisper_empty")
    text: str = raw
    text = text.strip()
    if len(text) > MAX_WHISPER_CHARS:
        raise CommandFormatError("whisper_too_long")
    if "\x00" in text:
        raise CommandFormatError("whisper_bad_character")
    return text


@dataclass(frozen=True)
class SupervisionCommand:
    action: Action
    by: str  # the supervisor's account
    text: str | None = None  # whisper only
    command_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise CommandFormatError("bad_action")
        check_account(self.by)
        if self.action == "whisper":
            object.__setattr__(self, "text", check_whisper(self.text))
        elif self.text is not None:
            raise CommandFormatError("text_only_for_whisper")


@dataclass(frozen=True)
class CommandReply:
    """What the worker answered: done, or refused with a fixed code and a sentence for the page."""

    ok: bool
    reason: str = ""  # fixed code when refused: call_ended, already_supervised, ...
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


class CommandSerializer:
    """The exact JSON of a command and of its reply."""

    @staticmethod
    def encode_command(command: SupervisionCommand) -> str:
        body: dict[str, Any] = {"v": WIRE_VERSION, "id": command.command_id,
                                "action": command.action, "by": command.by}
        if command.text is not None:
            body["text"] = command.text
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def decode_command(raw: bytes | str) -> SupervisionCommand:
        body = _object(raw)
        if body.get("v") != WIRE_VERSION:
            raise CommandFormatError("unknown_version")
        command_id = body.get("id")
        if not isinstance(command_id, str) or not re.fullmatch(r"[0-9a-f]{32}", command_id):
            raise CommandFormatError("bad_id")
        action = body.get("action")
        if action not in ACTIONS:
            raise CommandFormatError("bad_action")
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise CommandFormatError("bad_text")
        return SupervisionCommand(action=action, by=body.get("by"),  # type: ignore[arg-type]
                                  text=text, command_id=command_id)

    @staticmethod
    def encode_reply(reply: CommandReply) -> str:
        return json.dumps({"v": WIRE_VERSION, "ok": reply.ok, "reason": reply.reason,
                           "message": reply.message, "data": dict(reply.data)},
                          separators=(",", ":"), ensure_ascii=False, default=str)

    @staticmethod
    def decode_reply(raw: bytes | str) -> CommandReply:
        body = _object(raw)
        if body.get("v") != WIRE_VERSION or not isinstance(body.get("ok"), bool):
            raise CommandFormatError("bad_reply")
        data = body.get("data")
        return CommandReply(ok=body["ok"], reason=str(body.get("reason") or ""),
                            message=str(body.get("message") or ""),
                            data=data if isinstance(data, dict) else {})


def _object(raw: bytes | str) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CommandFormatError("not_json") from None
    if not isinstance(body, dict):
        raise CommandFormatError("not_object")
    return body
