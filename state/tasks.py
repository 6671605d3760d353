"""Owned background tasks: cancel and wait, for real.

redis-py can turn a cancellation that arrives while it connects into its own timeout error and
retry, so one `cancel()` may be lost; the owner cancels again until the task has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None, *, repeat_every: float = 0.1) -> None:
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=repeat_every)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
