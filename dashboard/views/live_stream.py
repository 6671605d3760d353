"""What the live pages share: the console's Redis client, server-sent events, and a stream
response that always runs its generator's cleanup (a supervisor's presence ends with the page).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypeVar

import anyio
import redis.asyncio as aioredis
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from dashboard.services import services
from state.redis_live import REDIS_UNAVAILABLE
from supervision import mark_absent

T = TypeVar("T")
# how long closing a stream waits for its cancelled read to finish
CLOSE_WAIT_S = 2.0
# longer than the feed's XREAD block (1 s) and the command reply wait (3 s)
REDIS_SOCKET_TIMEOUT_S = 10.0
REDIS_CONNECT_TIMEOUT_S = 2.0
LIVE_STATE_DOWN = ("The live call state (Redis) is not reachable right now. "
                   "Nothing was changed; try again in a moment.")
NO_LIVE_STATE = "Live supervision needs the live call state: set INTAKE_REDIS_URL."
# call ids the worker makes (uuid hex, test names); anything else is no live call
CALL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# a stream entry id, as `Last-Event-ID` brings it back on a reconnect
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def live_redis_client(url: str) -> aioredis.Redis:
    client: aioredis.Redis = aioredis.Redis.from_url(
        url, decode_responses=False, socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S, health_check_interval=0)
    return client


def live_redis(request: Request) -> aioredis.Redis:
    redis = services(request).redis
    if redis is None:
        raise HTTPException(503, NO_LIVE_STATE)
    return redis


def checked_call_id(request: Request) -> str:
    call_id = str(request.path_params["call_id"])
    if not CALL_ID.match(call_id):
        raise HTTPException(404, "No live call with that id.")
    return call_id


def sse(event: str, data: Any, *, entry_id: str | None = None) -> bytes:
    """One server-sent event; the JSON is on one line, so it is one `data:` field."""
    lines = [f"event: {event}"]
    if entry_id is not None:
        lines.append(f"id: {entry_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


KEEPALIVE = b": keepalive\n\n"


async def end_presence(redis: aioredis.Redis, account: str) -> None:
    """The page went away: even while its stream is being cancelled (the entry would expire
    on its own within the presence TTL, but the board must not ring an empty room that long)."""
    with anyio.CancelScope(shield=True), contextlib.suppress(*REDIS_UNAVAILABLE):
        await mark_absent(redis, account)


async def with_ticks(source: AsyncIterator[T], every_s: float) -> AsyncGenerator[T | None, None]:
    """The source's items as they come, and None whenever `every_s` passes without one (for
    keep-alives and periodic work). Owns the pending read and cancels it when closed."""
    pending: asyncio.Future[T] = asyncio.ensure_future(anext(source))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=every_s)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            yield item
            pending = asyncio.ensure_future(anext(source))
    finally:
        pending.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.wait({pending}, timeout=CLOSE_WAIT_S)
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await aclose()


class EventStreamResponse(StreamingResponse):
    """`text/event-stream` that ends when the client goes away (whatever the server's ASGI
    version) and then always closes its generator, so the generator's `finally` runs now."""

    def __init__(self, events: AsyncGenerator[bytes, None]) -> None:
        super().__init__(events, media_type="text/event-stream",
                         headers={"cache-control": "no-store", "x-accel-buffering": "no"})
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    with contextlib.suppress(OSError):
                        await self.stream_response(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._events.aclose()
