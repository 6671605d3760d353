"""One live call for a supervisor: its transcript and checklist as server-sent events, and the
commands (whisper, take over, hand back, end, accept a ringing escalation, listen start/stop)
sent to whichever worker holds the call, as the signed-in account.

A command POST answers JSON to the page's script (`accept: application/json`), or redirects
back to the page with the outcome in the query for a plain form post.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import quote

import redis.asyncio as aioredis
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from dashboard.permissions import Permission, require
from dashboard.rendering import render
from dashboard.services import services
from dashboard.views.live_audio import live_media_headers, livekit_settings
from dashboard.views.live_board import PRESENCE_RENEW_S
from dashboard.views.live_stream import (
    ENTRY_ID,
    KEEPALIVE,
    LIVE_STATE_DOWN,
    EventStreamResponse,
    checked_call_id,
    end_presence,
    live_redis,
    sse,
    with_ticks,
)
from state.redis_live import REDIS_UNAVAILABLE, call_key
from supervision import (
    Action,
    CommandRefusedError,
    LiveCall,
    SupervisionClient,
    live_calls,
    mark_present,
    transcript_feed,
)

logger = logging.getLogger(__name__)
STATE_EVERY_S = 1.0
# URL slug -> command
ACTIONS: dict[str, Action] = {
    "whisper": "whisper", "take-over": "take_over", "hand-back": "hand_back",
    "end": "end_call", "accept": "accept_escalation",
    "listen-start": "listen_start", "listen-stop": "listen_stop",
}
DONE: dict[str, str] = {
    "whisper": "Whisper sent to the agent.",
    "take_over": "You have taken the call over. The agent is silent.",
    "hand_back": "Handed back to the agent.",
    "end_call": "The call is being ended.",
    "accept_escalation": "Accepted: you have taken the call over.",
    "listen_start": "Listening.",
    "listen_stop": "Stopped listening.",
}
# a plain form post comes back with only the code; these are the sentences for it
REFUSED: dict[str, str] = {
    "call_ended": "This call has ended.",
    "no_worker": "No agent holds this call any more.",
    "no_reply": "The agent did not answer in time.",
    "already_supervised": "Someone has already taken this call over.",
    "not_supervised": "Nobody has taken this call over.",
    "not_ringing": "This call is not ringing any more.",
    "in_transfer": "This call is being transferred by phone.",
    "whisper_empty": "Type the guidance first.",
    "whisper_too_long": "Guidance is limited to 500 characters.",
}
FORMAT_REASONS = frozenset({"whisper_empty", "whisper_too_long", "whisper_bad_character",
                            "bad_account", "bad_action", "text_only_for_whisper"})


async def _live_call(redis: aioredis.Redis, call_id: str) -> LiveCall | None:
    return next((c for c in await live_calls(redis) if c.call_id == call_id), None)


async def call_page(request: Request) -> Response:
    require(request, Permission.SUPERVISE_CALLS)
    redis = live_redis(request)
    call_id = checked_call_id(request)
    try:
        call = await _live_call(redis, call_id)
        playbook_path = await redis.hget(call_key(call_id), "playbook")
    except REDIS_UNAVAILABLE:
        raise HTTPException(503, LIVE_STATE_DOWN) from None
    playbook = services(request).playbooks.get(
        playbook_path.decode() if isinstance(playbook_path, bytes) else None)
    notice = request.query_params.get("done")
    refused = request.query_params.get("refused")
    # listening and the take-over microphone need LiveKit; without it the page still works
    media = None
    if call is not None:
        with contextlib.suppress(HTTPException):
            media = live_media_headers(livekit_settings(request))
    response = render(request, "live_call.html", {
        "page_title": "Live call", "call_id": call_id, "call": call,
        "live_audio": media is not None, "fields": list(playbook.fields.items()),
        "notice": DONE.get(notice or ""), "refusal": REFUSED.get(refused or "") if refused
        else None}, status_code=200 if call is not None else 404)
    if media is not None:
        response.headers.update(media)
    return response


async def call_events(request: Request) -> Response:
    user = require(request, Permission.SUPERVISE_CALLS)
    redis = live_redis(request)
    call_id = checked_call_id(request)
    resume = request.headers.get("last-event-id")
    after = resume if resume and ENTRY_ID.match(resume) else None

    async def events() -> AsyncGenerator[bytes, None]:
        renewed = sent_state_at = 0.0
        last_state: dict[str, Any] | None = None
        try:
            feed = transcript_feed(redis, call_id, after=after)
            async for item in with_ticks(feed, STATE_EVERY_S):
                now = time.monotonic()
                if now - renewed >= PRESENCE_RENEW_S:
                    await mark_present(redis, user.name)
                    renewed = now
                if item is not None:
                    yield sse("feed", item.as_json(), entry_id=item.entry_id)
                if now - sent_state_at >= STATE_EVERY_S:
                    sent_state_at = now
                    call = await _live_call(redis, call_id)
                    state = call.as_json() if call is not None else None
                    if state != last_state:
                        last_state = state
                        yield sse("call", state)
                    elif item is None:
                        yield KEEPALIVE
            yield sse("ended", {"call_id": call_id})
        except REDIS_UNAVAILABLE:
            logger.warning("live call: live state unreachable", extra={"call_id": call_id})
            yield sse("unavailable", {"message": LIVE_STATE_DOWN})
        finally:
            await end_presence(redis, user.name)

    return EventStreamResponse(events())


async def command(request: Request) -> Response:
    user = require(request, Permission.SUPERVISE_CALLS)
    redis = live_redis(request)
    call_id = checked_call_id(request)
    action = ACTIONS.get(str(request.path_params["action"]))
    if action is None:
        raise HTTPException(404, "No such command.")
    form = await request.form()
    raw_text = form.get("text")
    text = raw_text if action == "whisper" and isinstance(raw_text, str) else None
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        reply = await SupervisionClient(redis).send(call_id, action, account=user.name,
                                                    role=user.role, text=text)
    except CommandRefusedError as exc:
        logger.info("supervision command refused", extra={
            "call_id": call_id, "action": action, "user": user.name, "reason": exc.reason})
        if not wants_json:
            return RedirectResponse(f"/live/{call_id}?refused={quote(exc.reason)}",
                                    status_code=303)
        return JSONResponse({"ok": False, "action": action, "reason": exc.reason,
                             "message": exc.message},
                            status_code=422 if exc.reason in FORMAT_REASONS else 409)
    except REDIS_UNAVAILABLE:
        raise HTTPException(503, LIVE_STATE_DOWN) from None
    logger.info("supervision command sent",
                extra={"call_id": call_id, "action": action, "user": user.name})
    if not wants_json:
        return RedirectResponse(f"/live/{call_id}?done={action}", status_code=303)
    return JSONResponse({"ok": True, "action": action, "message": DONE[action],
                         "data": dict(reply.data)})


routes = [
    Route("/live/{call_id}", call_page, methods=["GET"], name="live_call"),
    Route("/live/{call_id}/events", call_events, methods=["GET"], name="live_call_events"),
    Route("/live/{call_id}/{action}", command, methods=["POST"], name="live_call_command"),
]
