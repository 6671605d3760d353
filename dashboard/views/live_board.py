"""The supervisors' live board: every call in progress across workers, pushed to the page as
server-sent events whenever anything on the board changes. While the page is connected the
supervisor counts as present, so an escalation rings the board before any phone."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.permissions import Permission, require
from dashboard.rendering import render
from dashboard.views.live_stream import (
    KEEPALIVE,
    LIVE_STATE_DOWN,
    EventStreamResponse,
    end_presence,
    live_redis,
    sse,
    with_ticks,
)
from state.redis_live import REDIS_UNAVAILABLE
from supervision import board_updates, mark_present, supervisors_present

logger = logging.getLogger(__name__)
# presence lasts supervision.board.PRESENCE_TTL_S (15 s); renewed well inside it
PRESENCE_RENEW_S = 5.0


async def board_page(request: Request) -> Response:
    require(request, Permission.SUPERVISE_CALLS)
    live_redis(request)
    return render(request, "live_board.html", {"page_title": "Live board"})


async def board_events(request: Request) -> Response:
    user = require(request, Permission.SUPERVISE_CALLS)
    redis = live_redis(request)

    async def events() -> AsyncGenerator[bytes, None]:
        renewed = 0.0
        try:
            async for calls in with_ticks(board_updates(redis), PRESENCE_RENEW_S):
                if time.monotonic() - renewed >= PRESENCE_RENEW_S:
                    await mark_present(redis, user.name)
                    renewed = time.monotonic()
                if calls is None:
                    yield KEEPALIVE
                    continue
                yield sse("board", {"calls": [c.as_json() for c in calls],
                                    "present": await supervisors_present(redis)})
        except REDIS_UNAVAILABLE:
            logger.warning("live board: live state unreachable")
            yield sse("unavailable", {"message": LIVE_STATE_DOWN})
        finally:
            await end_presence(redis, user.name)

    return EventStreamResponse(events())


routes = [
    Route("/live", board_page, methods=["GET"], name="live_board"),
    Route("/live/events", board_events, methods=["GET"], name="live_board_events"),
]
