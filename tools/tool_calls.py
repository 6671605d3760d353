"""What every intake tool shares: recording its call with the outcome, shielding its reply
while it runs, the guard's note, and reading slots."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, TypeVar, cast

from livekit.agents import RunContext, ToolError
from livekit.agents.llm import ToolResult
from livekit.agents.voice import SpeechHandle

from state.protocols import TOOL_CALL
from tools.checklist import SlotChecklist, next_step
from tools.context import IntakeUserdata
from tools.normalize import (
    MAX_INPUT_CHARS,
    NormalizationError,
    normalize_field,
    storable_text,
)

logger = logging.getLogger("tools.intake_tools")

def field_name(checklist: SlotChecklist, field: str) -> str:
    """The playbook field for what the model passed ("Decision maker" -> decision_maker)."""
    name = re.sub(r"[\s-]+", "_", field.strip().casefold())[:64]
    if name in checklist:
        return name
    known = ", ".join(n.replace("_", " ") for n in checklist.playbook.fields)
    raise ToolError(f"Sorry, I can only note these details: {known}.") from None


def read_back(field: str, spoken: str) -> str:
    return (f"Read it back to the caller exactly: \"{spoken}, is that right?\" Then call "
            f"confirm_field for {field}.")


async def record_tool_call(ud: IntakeUserdata, name: str, args: Mapping[str, Any],
                            outcome: str) -> None:
    if ud.recorder is None:
        return
    try:
        await ud.recorder.record(TOOL_CALL, {"name": name, "args": dict(args),
                                             "outcome": outcome, "turn": ud.turn_index})
    except Exception:
        logger.exception("tool call event not recorded", extra={"tool": name})


class Recorded:
    """`async with Recorded(context, name, args):` records one tool_call event with its outcome.

    It also shields the tool's reply while the tool runs. livekit-agents treats a reply whose
    tools are running as a background speech, and the caller's transcript for the very turn
    that triggered the tool (it often arrives late with the Realtime API) would interrupt it,
    so the model would never speak the result. Barge-in on the reply itself is unaffected:
    interruptions are allowed again as soon as the tool returns.
    """

    def __init__(self, context: RunContext[IntakeUserdata], name: str,
                 args: Mapping[str, Any]) -> None:
        self._context = context
        self._ud, self._name = context.userdata, name
        # the event stream is storage, not logs; still, no 10 KB blobs in it
        # what the record can hold: bounded, no NUL or lone surrogate (a rejected event
        # would lose the tool call from the record)
        self._args = {k: (storable_text(v[:200]) if isinstance(v, str) else v)
                      for k, v in args.items()}
        self._shielded: SpeechHandle | None = None

    async def __aenter__(self) -> None:
        self._ud.tools_running += 1
        self._ud.last_tool_turn = self._ud.turn_index
        handle = self._context.speech_handle
        if handle.allow_interruptions and not handle.interrupted:
            handle.allow_interruptions = False
            self._shielded = handle
            if self._ud.hold_reply_shields:
                self._ud.shielded_replies.append(handle)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> None:
        self._ud.tools_running -= 1
        if self._shielded is not None and not self._ud.hold_reply_shields:
            allow_interruptions(self._shielded)
        outcome = "ok" if exc is None else ("refused" if isinstance(exc, ToolError) else "failed")
        await record_tool_call(self._ud, self._name, self._args, outcome)


def allow_interruptions(handle: SpeechHandle) -> None:
    if not handle.interrupted and not handle.done():
        handle.allow_interruptions = True


def release_reply_shields(ud: IntakeUserdata) -> None:
    """Let the caller barge in on tool replies again; call on `function_tools_executed`."""
    handles, ud.shielded_replies = ud.shielded_replies, []
    for handle in handles:
        allow_interruptions(handle)


async def normalize_into(ud: IntakeUserdata, field: str, value: str) -> str:
    """Normalize and store; returns the text for the model. Bad values raise ToolError."""
    spec = ud.playbook.fields[field]
    try:
        normalized = normalize_field(spec, value, region=ud.playbook.phone_region,
                                     call_start=ud.call_start, zone=ud.playbook.zone)
    except NormalizationError as exc:
        logger.info("field value rejected", extra={"field": field, "reason": exc.reason})
        raise ToolError(exc.spoken) from None
    await ud.checklist.record(field, storable_text(value[:MAX_INPUT_CHARS]), normalized,
                              turn=ud.turn_index)
    if spec.confirm or normalized.details.get("read_back"):
        # a date the caller did not say outright ("by Christmas") is named back, always
        return read_back(field, normalized.spoken)
    return f"Noted {field.replace('_', ' ')}. {next_step(ud.checklist)}"



ToolFn = TypeVar("ToolFn", bound=Callable[..., Awaitable[str | ToolResult]])


def with_guard_note(tool: ToolFn) -> ToolFn:
    """A tool called on the turn the guard fired tells the model what the caller was told
    (tools.guard_reply), so the model's tool reply goes back to the intake."""

    @functools.wraps(tool)
    async def noted(context: RunContext[IntakeUserdata], *args: Any, **kwargs: Any,
                    ) -> str | ToolResult:
        result = await tool(context, *args, **kwargs)
        ud = context.userdata
        if ud.guard_note and ud.guard_note_turn == ud.turn_index:
            if isinstance(result, ToolResult):
                return ToolResult(f"{result.output}{ud.guard_note}",
                                  reply_required=result.reply_required)
            return result + ud.guard_note
        return result

    return cast(ToolFn, noted)



def slot_value(ud: IntakeUserdata, field: str) -> str | None:
    return ud.checklist.slot(field).value if field in ud.checklist else None


def iso_date(value: str) -> date:
    return date.fromisoformat(value)
