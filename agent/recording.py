"""Which CallRecorder a call gets: Redis-backed when configured, in memory otherwise."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agent.config import WorkerSettings
from state.protocols import CallRecorder
from state.recorder import InMemoryCallRecorder, RedisCallRecorder
from state.redis_live import RedisLiveState, connect_redis

logger = logging.getLogger("intake.recording")

Closer = Callable[[], Awaitable[None]]


async def open_recorder(settings: WorkerSettings) -> tuple[CallRecorder, Closer]:
    if not settings.redis_url:
        logger.warning("INTAKE_REDIS_URL is not set: this call's record lives in memory only")
        memory = InMemoryCallRecorder()

        async def close_nothing() -> None:
            return None

        return memory, close_nothing
    client = connect_redis(settings.redis_url)

    async def close_client() -> None:
        await client.aclose()

    return RedisCallRecorder(RedisLiveState(client)), close_client
