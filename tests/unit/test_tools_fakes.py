"""Shared fakes for the tool tests: the validating in-memory CallRecorder and a call set up
on the example playbook. (No tests here; the name keeps it among the tool test files.)"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from livekit.agents.voice import SpeechHandle

from state.protocols import CallInfo
from state.recorder import InMemoryCallRecorder
from tools.booking import LocalBookingBackend
from tools.context import EndReason, EscalationRequest, IntakeUserdata
from tools.escalation import EscalationGuard
from tools.playbook import Playbook, load_playbook

EXAMPLE_PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "home_services.yaml"
# Tuesday 2025-03-04, 22:30 in Chicago (already Wednesday in UTC)
CALL_START = datetime(2025, 3, 5, 4, 30, tzinfo=UTC)


def example_playbook() -> Playbook:
    return load_playbook(EXAMPLE_PLAYBOOK)


@cache
def rules_only_guard() -> EscalationGuard:
    """The example playbook's phrase rules without the learned model: what the guard rounds'
    tests are about (the model has tests of its own)."""
    return EscalationGuard.from_playbook(example_playbook(), learned=False)


def rules_category(text: str) -> str | None:
    match = rules_only_guard().check(text)
    return match.category if match is not None else None


def example_playbook_text() -> str:
    """The example playbook's YAML, its example files named absolutely, for a copy that a test
    writes elsewhere and changes."""
    lines = EXAMPLE_PLAYBOOK.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("escalation_examples:\n") + 1
    index = start
    while index < len(lines) and lines[index].startswith("  - "):
        entry = lines[index].removeprefix("  - ").strip()
        lines[index] = f"  - {(EXAMPLE_PLAYBOOK.parent / entry).resolve()}\n"
        index += 1
    assert index > start, "the example playbook lists its example files"
    return "".join(lines)


class FakeRecorder(InMemoryCallRecorder):
    """The in-memory recorder, which validates every event and slot exactly as the Redis
    recorder does, opened for one call, with an outage switch (`fail`)."""

    def __init__(self) -> None:
        super().__init__()
        self.info = CallInfo(call_id="call-1", room="call-call-1", worker_id="test-worker")
        self.fail = False

    async def record(self, kind: str, payload: Mapping[str, Any]) -> int:
        if self.fail:
            raise ConnectionError("recorder down")
        return await super().record(kind, payload)

    async def save_slot(self, name: str, slot: Mapping[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("recorder down")
        await super().save_slot(name, slot)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [dict(event.payload) for _, event in self.events if event.kind == kind]


class Callbacks:
    def __init__(self, transfer_ok: bool = True) -> None:
        self.transfer_ok = transfer_ok
        self.escalations: list[EscalationRequest] = []
        self.ended: list[EndReason] = []
        self.says_goodbye = True  # as the agent does with a pre-rendered goodbye

    async def on_escalate(self, request: EscalationRequest) -> bool:
        self.escalations.append(request)
        return self.transfer_ok

    async def on_end_call(self, reason: EndReason) -> bool:
        self.ended.append(reason)
        return self.says_goodbye


def make_call(*, booking: Any = None, transfer_ok: bool = True,
              playbook: Playbook | None = None) -> tuple[IntakeUserdata, FakeRecorder, Callbacks]:
    recorder = FakeRecorder()
    callbacks = Callbacks(transfer_ok)
    ud = IntakeUserdata.create(
        playbook or example_playbook(), booking or LocalBookingBackend(), call_id="call-1",
        recorder=recorder, call_start=CALL_START, on_escalate=callbacks.on_escalate,
        on_end_call=callbacks.on_end_call,
    )
    return ud, recorder, callbacks


def ctx(ud: IntakeUserdata) -> Any:
    """Tools read `context.userdata` and shield `context.speech_handle` while they run; a
    stand-in with a real SpeechHandle avoids a live session for unit tests."""
    return SimpleNamespace(userdata=ud, speech_handle=SpeechHandle.create(allow_interruptions=True))
