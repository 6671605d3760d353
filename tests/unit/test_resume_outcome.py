"""A resumed call ends with the outcome it would have had: the replacement restores the slots,
the escalations and the bookings the first agent recorded."""

from __future__ import annotations

import pytest

from agent.resume import restore_call
from state.protocols import CallInfo
from state.recorder import InMemoryCallRecorder
from tests.unit.test_tools_fakes import CALL_START, Callbacks, ctx, example_playbook
from tools.booking import LocalBookingBackend
from tools.context import IntakeUserdata
from tools.intake_tools import (
    confirm_field,
    escalate_to_human,
    record_field,
    request_callback,
)

pytestmark = pytest.mark.unit


async def test_the_restored_checklist_gives_the_same_outcome() -> None:
    recorder = InMemoryCallRecorder()
    await recorder.open(CallInfo(call_id="c1", room="call-c1", worker_id="W"))
    callbacks = Callbacks(transfer_ok=False)
    ud = IntakeUserdata.create(example_playbook(), LocalBookingBackend(), call_id="c1",
                               recorder=recorder, call_start=CALL_START,
                               on_escalate=callbacks.on_escalate)
    await record_field(ctx(ud), field="name", value="Dana Smith")
    await record_field(ctx(ud), field="phone", value="512 555 0142")
    await confirm_field(ctx(ud), field="phone", is_correct=True)
    await escalate_to_human(ctx(ud), reason="pricing", note="wants a quote")
    await request_callback(ctx(ud), time_window="afternoon")
    before = ud.checklist.outcome()
    assert before["escalation_reason"] == "pricing" and before["bookings"]

    # the job dies; a replacement restores the call from the same live record
    restored = (await restore_call(recorder, example_playbook())).checklist
    assert restored.outcome() == before
    assert restored.next_action() == ud.checklist.next_action()
