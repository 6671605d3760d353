"""Fuzzing the function tools: generated tool calls, as a model might send them, against the
real tools and the validating in-memory recorder.

Each call goes the way livekit-agents takes it: the raw JSON arguments are parsed
(`parse_function_arguments`) and validated against the tool's signature
(`validated_arguments`); the framework turns a failure there into a ToolError of its own
before our code runs. What reaches our tool must end as a short reply or a short spoken
ToolError, never another exception, and a rejected call must leave the checklist as it was.

`INTAKE_FUZZ_CALLS` sets how many tool calls are generated in all: 2,000 by default (about
4 s here), 10,000 under scripts/test (about 20 s on this 2-core machine).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit.agents import ToolError
from livekit.agents.llm import FunctionTool, ToolResult
from livekit.agents.llm.utils import parse_function_arguments, validated_arguments

from state.protocols import CallInfo
from state.recorder import InMemoryCallRecorder
from tests.unit.test_tools_fakes import CALL_START, Callbacks, ctx, example_playbook
from tools.booking import LocalBookingBackend
from tools.context import IntakeUserdata
from tools.intake_tools import INTAKE_TOOLS

pytestmark = pytest.mark.unit

TOTAL_CALLS = int(os.environ.get("INTAKE_FUZZ_CALLS", "2000"))
CALLS_PER_EXAMPLE = 25
# what the caller may hear from one refusal: a sentence or two, never a dump
MAX_SPOKEN_CHARS = 300
PLAYBOOK = example_playbook()
FIELDS = list(PLAYBOOK.fields)
TOOLS: dict[str, FunctionTool] = {tool.info.name: tool for tool in INTAKE_TOOLS}

# text the way speech recognition and models produce it, plus the hostile rest
text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["next Friday", "512 555 0100", "five one two five five five zero one "
                     "zero zero", "under two thousand dollars", "text", "Dana Smith",
                     "yesterday", "Sunday", "+15125550100", "", " ", "\u0000", "null",
                     "I want to talk to a person", "how much does it cost?", "\ud800x",
                     "a\x00b"]),
    st.builds(lambda s, n: s * n, st.sampled_from(["a", "9", "\u202e", "😀"]),
              st.integers(min_value=100, max_value=5000)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
field_names = st.one_of(st.sampled_from(FIELDS), st.sampled_from(
    ["Decision maker", "FOLLOWUP-channel", " phone ", "name\n", "reason"]), text)


def well_shaped(tool: str) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments of the right names and mostly the right types, with values anywhere."""
    window = st.sampled_from(["morning", "afternoon", "evening", "any", "night", ""])
    shapes: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "record_field": st.fixed_dictionaries({"field": field_names, "value": text}),
        "confirm_field": st.fixed_dictionaries(
            {"field": field_names, "is_correct": st.booleans() | json_values},
            optional={"correction": text}),
        "list_missing_fields": st.just({}),
        "answer_business_question": st.fixed_dictionaries(
            {"topic": st.sampled_from(["hours", "open_now", "services", "service_area",
                                       "other", "prices"])}, optional={"detail": text}),
        "book_appointment": st.fixed_dictionaries({"date": text, "time_window": window}),
        "request_callback": st.fixed_dictionaries({"time_window": window},
                                                  optional={"topic": text}),
        "escalate_to_human": st.fixed_dictionaries(
            {"reason": st.sampled_from(["pricing", "legal", "urgent", "human_request",
                                        "other", "bored"])}, optional={"note": text}),
        "end_call": st.fixed_dictionaries({"reason": st.sampled_from(
            ["intake_complete", "caller_request", "no_response", "done", None])}),
    }
    return shapes[tool]


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[str, str]:
    """(tool name, raw JSON arguments) as a Realtime function call carries them."""
    name = draw(st.sampled_from(sorted(TOOLS)))
    kind = draw(st.sampled_from(["shaped", "shaped", "shaped", "random", "broken"]))
    if kind == "shaped":
        raw = json.dumps(draw(well_shaped(name)))
    elif kind == "random":
        raw = json.dumps(draw(st.one_of(st.dictionaries(text, json_values, max_size=6),
                                        json_values)))
    else:  # truncated or not JSON at all
        full = json.dumps(draw(well_shaped(name)))
        raw = draw(st.sampled_from([full[: len(full) // 2], full + "}", "{'field': 1}", "",
                                    "[1, 2", "nul"]))
    return name, raw


class ErrorLogs(logging.Handler):
    """Counts ERROR records from our packages: a swallowed exception is a crash too."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in {"tools", "state", "agent"}:
            self.records.append(record)


def new_call() -> tuple[IntakeUserdata, InMemoryCallRecorder]:
    recorder = InMemoryCallRecorder()
    asyncio.run(recorder.open(CallInfo(call_id="fuzz", room="call-fuzz", worker_id="W",
                                       caller_number=None, playbook="p", metadata={})))
    callbacks = Callbacks()
    ud = IntakeUserdata.create(PLAYBOOK, LocalBookingBackend(), call_id="fuzz",
                               recorder=recorder, call_start=CALL_START,
                               on_escalate=callbacks.on_escalate,
                               on_end_call=callbacks.on_end_call)
    return ud, recorder


def checklist_state(ud: IntakeUserdata) -> dict[str, Any]:
    snapshot = ud.checklist.snapshot()
    return {"slots": snapshot["slots"], "bookings": snapshot["bookings"]}


async def call_tool(ud: IntakeUserdata, name: str, raw: str) -> tuple[str, str]:
    """("ok" | "framework" | "tool", text): what the model gets back."""
    tool = TOOLS[name]
    try:
        fields = validated_arguments(tool, parse_function_arguments(raw))
    except (ValueError, TypeError, pydantic.ValidationError) as exc:
        return "framework", str(exc)
    fields.pop("context", None)
    try:
        reply = await tool(ctx(ud), **fields)
    except ToolError as exc:
        return "tool", exc.message
    if isinstance(reply, ToolResult):  # end_call: the output, with no reply asked for
        reply = reply.output
    assert isinstance(reply, str), (name, raw)
    return "ok", reply


outcomes: dict[str, int] = {"ok": 0, "framework": 0, "tool": 0}


@settings(max_examples=max(1, TOTAL_CALLS // CALLS_PER_EXAMPLE), deadline=None, database=None,
          print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(tool_calls(), min_size=CALLS_PER_EXAMPLE, max_size=CALLS_PER_EXAMPLE))
def fuzz_tool_calls(calls: list[tuple[str, str]]) -> None:
    errors = ErrorLogs()
    logging.getLogger().addHandler(errors)
    try:
        ud, recorder = new_call()

        async def run() -> None:
            for name, raw in calls:
                before = checklist_state(ud)
                outcome, reply = await call_tool(ud, name, raw)
                outcomes[outcome] += 1
                if outcome == "tool":
                    assert 0 < len(reply) <= MAX_SPOKEN_CHARS, (name, raw, reply)
                    assert "Traceback" not in reply and "Error" not in reply, reply
                    assert checklist_state(ud) == before, (name, raw)
                elif outcome == "framework":
                    assert checklist_state(ud) == before, (name, raw)
                else:
                    assert len(reply) <= 2 * MAX_SPOKEN_CHARS, (name, raw, reply)

        asyncio.run(run())
        # every value that was kept went through the recorder's own validation
        for name, slot in ud.checklist.slots.items():
            if slot.filled:
                assert recorder.slots[name]["value"] == slot.value
        assert errors.records == [], [r.getMessage() for r in errors.records]
    finally:
        logging.getLogger().removeHandler(errors)


def test_generated_tool_calls_never_crash_and_keep_the_last_good_values() -> None:
    outcomes.update(ok=0, framework=0, tool=0)
    fuzz_tool_calls()
    # the generation reached the tools: most calls got past the framework's argument
    # check, and the tools both accepted and refused some
    assert sum(outcomes.values()) >= TOTAL_CALLS
    assert outcomes["ok"] > 0 and outcomes["tool"] > 0 and outcomes["framework"] > 0
    assert outcomes["ok"] + outcomes["tool"] > outcomes["framework"], outcomes
    print(f"fuzzed tool calls: {outcomes}")
