from __future__ import annotations

import asyncio

import pytest

from agent.call_limits import CallTimers

pytestmark = pytest.mark.unit


def _timers(events: list[str], **kwargs: float) -> CallTimers:
    async def note(name: str) -> None:
        events.append(name)

    return CallTimers(
        max_call_s=kwargs.get("max_call_s", 0.2), warning_s=kwargs.get("warning_s", 0.1),
        idle_s=kwargs.get("idle_s", 0.05),
        on_wrap_up=lambda: note("wrap_up"), on_time_up=lambda: note("time_up"),
        on_idle_prompt=lambda: note("idle_prompt"), on_idle_hang_up=lambda: note("idle_hang_up"))


async def test_wrap_up_comes_before_the_end_of_the_call() -> None:
    events: list[str] = []
    timers = _timers(events)
    timers.start()
    await asyncio.sleep(0.4)
    await timers.aclose()
    assert events == ["wrap_up", "time_up"]


async def test_idle_asks_once_then_hangs_up() -> None:
    events: list[str] = []
    timers = _timers(events, max_call_s=60, warning_s=10)
    timers.caller_idle()
    timers.caller_idle()  # still the same sequence
    await asyncio.sleep(0.2)
    await timers.aclose()
    assert events == ["idle_prompt", "idle_hang_up"]


async def test_caller_speaking_stops_the_idle_hang_up() -> None:
    events: list[str] = []
    timers = _timers(events, max_call_s=60, warning_s=10, idle_s=0.2)
    timers.caller_idle()
    await asyncio.sleep(0.05)
    timers.caller_active()
    await asyncio.sleep(0.3)
    await timers.aclose()
    assert events == ["idle_prompt"]


def test_warning_must_precede_the_limit() -> None:
    with pytest.raises(ValueError, match="wrap-up"):
        _timers([], max_call_s=10, warning_s=10)


async def test_a_hang_up_by_a_timer_survives_finishing_in_another_task() -> None:
    # CallEnding finishes in a task of its own and stops the timers from there: the idle
    # timer's own hang-up, which asked for the finish, must go on to delete the room
    hung_up = asyncio.Event()
    timers: CallTimers

    async def hang_up() -> None:
        await asyncio.ensure_future(timers.aclose(keep=asyncio.current_task()))
        hung_up.set()

    async def nothing() -> None:
        return None

    timers = CallTimers(max_call_s=60, warning_s=10, idle_s=0.01, on_wrap_up=nothing,
                        on_time_up=nothing, on_idle_prompt=nothing, on_idle_hang_up=hang_up)
    timers.caller_idle()
    await asyncio.wait_for(hung_up.wait(), 2.0)
    await timers.aclose()
