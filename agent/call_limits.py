"""Call length and idle limits from the playbook, as timers with one owner.

The maximum call length gets a wrap-up warning `warning_s` before the end, then a polite end.
Silence gets one "are you still there?" and, if the silence goes on, a hang-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

Action = Callable[[], Awaitable[None]]


class CallTimers:
    def __init__(self, *, max_call_s: float, warning_s: float, idle_s: float,
                 on_wrap_up: Action, on_time_up: Action, on_idle_prompt: Action,
                 on_idle_hang_up: Action) -> None:
        if warning_s >= max_call_s:
            raise ValueError("the wrap-up warning must come before the end of the call")
        self._max_call_s = max_call_s
        self._warning_s = warning_s
        self._idle_s = idle_s
        self._on_wrap_up = on_wrap_up
        self._on_time_up = on_time_up
        self._on_idle_prompt = on_idle_prompt
        self._on_idle_hang_up = on_idle_hang_up
        self._length_task: asyncio.Task[None] | None = None
        self._idle_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._length_task is None:
            self._length_task = asyncio.create_task(self._length(), name="intake-call-length")

    async def _length(self) -> None:
        await asyncio.sleep(self._max_call_s - self._warning_s)
        await self._on_wrap_up()
        await asyncio.sleep(self._warning_s)
        await self._on_time_up()

    def caller_idle(self) -> None:
        """The caller (and the agent) went quiet: start the idle sequence once."""
        if self._idle_task is None or self._idle_task.done():
            self._idle_task = asyncio.create_task(self._idle(), name="intake-idle")

    def caller_active(self) -> None:
        """The caller spoke: the idle sequence stops."""
        if self._idle_task is not None:
            self._idle_task.cancel()
            self._idle_task = None

    async def _idle(self) -> None:
        await self._on_idle_prompt()
        await asyncio.sleep(self._idle_s)
        await self._on_idle_hang_up()

    async def aclose(self, keep: asyncio.Task[Any] | None = None) -> None:
        """Stop the timers; `keep` (the task that is ending the call, perhaps a timer's own
        action) goes on: cancelling it would cancel the hang-up it is doing."""
        spared = {asyncio.current_task(), keep}
        tasks = [t for t in (self._length_task, self._idle_task)
                 if t is not None and t not in spared]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._length_task = self._idle_task = None
