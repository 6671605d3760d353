"""A job killed mid-call leaves a playable first part of the recording; the replacement agent
records a second part, linked in the record."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller

from ..unit.test_recording import decode, rms
from .test_call_spine import _record
from .test_call_survives_worker import SURVIVES

pytestmark = pytest.mark.integration


async def test_a_killed_job_leaves_a_playable_part_and_the_replacement_adds_one(
        call_stack: LocalStack) -> None:
    call_id = f"recsurvive{int(time.time())}"
    killed: list[float] = []

    async def kill_before_second_line(index: int, caller: SimulatedCaller) -> None:
        if index != 1:
            return
        await asyncio.sleep(0.5)
        os.kill(call_stack.job_pid(call_id), signal.SIGKILL)
        killed.append(time.monotonic())
        await caller.wait_for_agent_audio_after(killed[0], timeout=30,
                                                other_than=caller.agent_identity)

    await call_stack.place_call(parse_scenario(SURVIVES), call_id=call_id,
                                before_line=kill_before_second_line)
    assert killed
    record = await _record(call_stack, call_id)
    started = [e["payload"] for e in record["events"]  # type: ignore[index, union-attr]
               if e["kind"] == "recording" and e["payload"]["stage"] == "started"]
    assert [p["part"] for p in started] == [1, 2]
    first_uri = record["call"]["recording_uri"]  # type: ignore[index]
    assert first_uri == started[0]["uri"] and first_uri.endswith("part-001.ogg")
    first = decode(Path(first_uri.removeprefix("file://")))
    second = decode(Path(started[1]["uri"].removeprefix("file://")))
    # part 1 plays up to the kill: the greeting and the first exchange are in it
    assert first.shape[1] / 48000 > 3.0 and rms(first[1]) > 0.005 and rms(first[0]) > 0.005
    assert second.shape[1] / 48000 > 1.0 and rms(second[1]) > 0.005
