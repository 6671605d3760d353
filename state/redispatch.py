"""Support for re-dispatching a call whose worker died (the worker module drives it).

A worker periodically calls `find_orphaned_calls`; for each orphan it calls
`claim_orphaned_call` (atomic: of several workers exactly one wins) and, if it won, dispatches
a new agent into the room; that agent opens a `RedisCallRecorder` for the same call id (which
resumes it) and reads `load_resume_context` to pick up without greeting or re-asking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from state.events import CallEventSerializer, InvalidEventError
from state.postgres_record import PostgresRecordStore
from state.protocols import TURN
from state.redis_live import RedisLiveState

# statuses in which a call is over and must not be re-dispatched
FINAL_STATUSES = frozenset({"ended"})


@dataclass(frozen=True)
class OrphanedCall:
    call_id: str
    room: str
    worker_id: str  # the worker whose heartbeat lapsed
    status: str
    last_heartbeat_ms: int | None


@dataclass(frozen=True)
class ResumeTurn:
    seq: int
    role: str
    text: str


@dataclass(frozen=True)
class ResumeContext:
    call_id: str
    room: str
    status: str
    slots: dict[str, dict[str, Any]]
    recent_turns: list[ResumeTurn]
    last_seq: int


async def find_orphaned_calls(live: RedisLiveState) -> list[OrphanedCall]:
    """Live calls, not ended, whose worker's heartbeat lease has expired."""
    call_ids = await live.live_calls()
    alive = await live.heartbeat_alive(call_ids)
    orphans: list[OrphanedCall] = []
    for call_id, has_heartbeat in zip(call_ids, alive, strict=True):
        if has_heartbeat:
            continue
        fields = await live.get_call(call_id)
        status = fields.get("status", "")
        if not fields or status in FINAL_STATUSES:
            continue
        heartbeat = fields.get("heartbeat", "")
        orphans.append(OrphanedCall(
            call_id=call_id, room=fields.get("room", ""), worker_id=fields.get("worker", ""),
            status=status, last_heartbeat_ms=int(heartbeat) if heartbeat.isdigit() else None))
    return orphans


async def claim_orphaned_call(live: RedisLiveState, call_id: str, new_worker_id: str, *,
                              lease_ms: int = 3_000) -> bool:
    """Take the call's heartbeat lease for `new_worker_id` if it has lapsed. Exactly one of
    several concurrent claimers gets True; the winner must start heartbeating (by opening a
    recorder with this worker id) within `lease_ms`."""
    return await live.claim(call_id, new_worker_id, lease_ms) > 0


async def close_orphaned_call(live: RedisLiveState, call_id: str) -> None:
    """Mark a call whose room is gone as ended, so its keys expire once it is in Postgres."""
    await live.set_fields(call_id, {"status": "ended"})
    await live.mark_dirty(call_id)


async def load_resume_context(live: RedisLiveState, call_id: str, *, turns: int = 20,
                              store: PostgresRecordStore | None = None,
                              scan_events: int = 500) -> ResumeContext | None:
    """Slots and the last `turns` transcript turns, for the agent that picks the call up.
    Reads Redis; falls back to Postgres for turns if Redis no longer holds the stream."""
    fields = await live.get_call(call_id)
    if not fields:
        return None
    slots = await live.load_slots(call_id)
    serializer = CallEventSerializer()
    recent: list[ResumeTurn] = []
    for entry in await live.read_latest(call_id, scan_events):
        try:
            decoded = serializer.decode(entry.fields)
        except InvalidEventError:
            continue
        if decoded.event.kind == TURN:
            recent.append(ResumeTurn(decoded.seq, str(decoded.event.payload["role"]),
                                     str(decoded.event.payload["text"])))
    if not recent and store is not None:
        recent = [ResumeTurn(t.seq, t.role, t.text) for t in await store.recent_turns(call_id,
                                                                                       turns)]
    recent.sort(key=lambda t: t.seq)
    return ResumeContext(call_id=call_id, room=fields.get("room", ""),
                         status=fields.get("status", ""), slots=slots,
                         recent_turns=_last(recent, turns), last_seq=await live.seq(call_id))


def _last(items: Sequence[ResumeTurn], n: int) -> list[ResumeTurn]:
    return list(items[-n:]) if n > 0 else []
