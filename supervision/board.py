"""The live board's data, for the console's server-sent-event endpoints: every live call across
workers (from Redis), supervisors' presence on the board, and one call's transcript feed.

Workers keep a `board` JSON field on each live call's hash (stage, missing fields, escalation
flags, ringing; see `agent.supervision`), next to `supervisor` and `monitoring`; this module
only reads Redis, so the board sees calls of every worker alike.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from state.events import CallEventSerializer, InvalidEventError
from state.protocols import CallEvent
from state.redis_live import LIVE_INDEX, call_key, events_key
from supervision.protocol import (
    BOARD_FIELD,
    MONITORING_FIELD,
    PRESENCE_KEY,
    SUPERVISOR_FIELD,
    check_account,
)

PRESENCE_TTL_S = 15.0
BOARD_POLL_S = 0.5
FEED_BLOCK_MS = 1000
# what the transcript page shows: turns, the checklist filling in, escalations, supervisors
FEED_KINDS = frozenset({"turn", "slot_changed", "tool_call", "escalation", "supervision",
                        "status"})


@dataclass(frozen=True)
class LiveCall:
    call_id: str
    room: str
    status: str
    started_at: str
    duration_s: float
    stage: str
    missing_fields: list[str]
    escalation_flags: list[str]  # escalation, caller_asked_for_person, transfer_unanswered
    ringing: Mapping[str, Any] | None  # {reason, fields, missing_fields, until} while ringing
    supervisor: str | None
    monitoring: list[str]
    test_call: bool

    def as_json(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "room": self.room, "status": self.status,
                "started_at": self.started_at, "duration_s": round(self.duration_s, 1),
                "stage": self.stage, "missing_fields": self.missing_fields,
                "escalation_flags": self.escalation_flags,
                "ringing": dict(self.ringing) if self.ringing else None,
                "supervisor": self.supervisor, "monitoring": self.monitoring,
                "test_call": self.test_call}


@dataclass(frozen=True)
class FeedItem:
    """One entry of a call's live feed; `entry_id` resumes the feed after a reconnect."""

    entry_id: str
    seq: int
    event: CallEvent
    received_at: float = field(default_factory=time.monotonic)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.entry_id, "seq": self.seq, "kind": self.event.kind,
                "at": self.event.at.isoformat(), "payload": dict(self.event.payload)}


# ---- presence --------------------------------------------------------------------------------

async def mark_present(redis: aioredis.Redis, account: str,
                       ttl_s: float = PRESENCE_TTL_S) -> None:
    """A supervisor's board is open: call it every few seconds while the page is connected."""
    check_account(account)
    await redis.zadd(PRESENCE_KEY, {account: (time.time() + ttl_s) * 1000})


async def mark_absent(redis: aioredis.Redis, account: str) -> None:
    await redis.zrem(PRESENCE_KEY, account)


async def supervisors_present(redis: aioredis.Redis) -> list[str]:
    now_ms = time.time() * 1000
    await redis.zremrangebyscore(PRESENCE_KEY, "-inf", now_ms)
    members: list[Any] = await redis.zrangebyscore(PRESENCE_KEY, now_ms, "+inf")
    return sorted(_text(m) for m in members)


# ---- live calls -------------------------------------------------------------------------------

async def live_calls(redis: aioredis.Redis, *, now: datetime | None = None) -> list[LiveCall]:
    """Every call in progress, oldest first."""
    now = now or datetime.now(UTC)
    ids = sorted(_text(i) for i in await redis.smembers(LIVE_INDEX))
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for call_id in ids:
            pipe.hgetall(call_key(call_id))
        hashes = await pipe.execute()
    calls = []
    for call_id, raw in zip(ids, hashes, strict=True):
        fields = {_text(k): _text(v) for k, v in raw.items()}
        if not fields or fields.get("status") == "ended":
            continue
        calls.append(_live_call(call_id, fields, now))
    calls.sort(key=lambda c: c.started_at)
    return calls


def _live_call(call_id: str, fields: Mapping[str, str], now: datetime) -> LiveCall:
    board = _json_object(fields.get(BOARD_FIELD))
    metadata = _json_object(fields.get("metadata"))
    started = fields.get("started_at", "")
    try:
        duration = (now - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        duration = 0.0
    monitoring = _json_list(fields.get(MONITORING_FIELD))
    ringing = board.get("ringing")
    return LiveCall(
        call_id=call_id, room=fields.get("room", ""), status=fields.get("status", ""),
        started_at=started, duration_s=max(0.0, duration),
        stage=str(board.get("stage") or fields.get("status") or ""),
        missing_fields=[str(m) for m in board.get("missing_fields", []) or []],
        escalation_flags=[str(f) for f in board.get("escalation_flags", []) or []],
        ringing=ringing if isinstance(ringing, dict) else None,
        supervisor=fields.get(SUPERVISOR_FIELD) or None,
        monitoring=[str(m) for m in monitoring],
        test_call=metadata.get("test_call") is True)


async def board_updates(redis: aioredis.Redis, *, poll_s: float = BOARD_POLL_S
                        ) -> AsyncIterator[list[LiveCall]]:
    """The board's calls, yielded at once and then whenever anything on it changed (the
    duration aside); for an SSE endpoint: `async for calls in board_updates(redis)`."""
    last: list[dict[str, Any]] | None = None
    while True:
        calls = await live_calls(redis)
        shape = [{**c.as_json(), "duration_s": None} for c in calls]
        if shape != last:
            last = shape
            yield calls
        await asyncio.sleep(poll_s)


# ---- one call's transcript --------------------------------------------------------------------

async def transcript_feed(redis: aioredis.Redis, call_id: str, *, after: str | None = None,
                          block_ms: int = FEED_BLOCK_MS,
                          kinds: frozenset[str] = FEED_KINDS) -> AsyncIterator[FeedItem]:
    """The call's events from the start (or after entry id `after`) as they are appended, until
    the call has ended and everything was read. Blocks on Redis (XREAD), so a turn is yielded
    as soon as the worker recorded it."""
    serializer = CallEventSerializer()
    last_id = after or "0-0"
    stream = events_key(call_id)
    while True:
        response: Any = await redis.xread({stream: last_id}, count=100, block=block_ms)
        entries: list[Any] = _stream_entries(response)
        for entry_id, fields in entries:
            last_id = _text(entry_id)
            try:
                decoded = serializer.decode(fields)
            except InvalidEventError:
                continue  # a corrupt entry is the writer's to dead-letter, not the page's
            if decoded.event.kind in kinds:
                yield FeedItem(entry_id=last_id, seq=decoded.seq, event=decoded.event)
        if not entries:
            status = await redis.hget(call_key(call_id), "status")
            if status is None or _text(status) == "ended":
                return


def _stream_entries(response: Any) -> list[Any]:
    """XREAD's answer for one stream: RESP2 gives [[name, entries]], RESP3 {name: entries}."""
    if not response:
        return []
    if isinstance(response, dict):
        return list(next(iter(response.values())))
    return list(response[0][1])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _json_object(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json_list(raw: str | None) -> list[Any]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
