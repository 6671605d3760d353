"""Finding asyncio tasks a test left running (used by the autouse fixture in conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import Set


async def unfinished_tasks(before: Set[asyncio.Task[object]], grace_s: float,
                           ) -> list[asyncio.Task[object]]:
    """Tasks started since `before` that are still running after `grace_s` (cancelled tasks
    get that long to finish)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    while True:
        current = asyncio.current_task()
        leaked = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
        if not leaked or loop.time() > deadline:
            return leaked
        await asyncio.sleep(0.05)
