"""Support for re-dispatching a call whose worker died (the worker module drives it).

A worker periodically calls `find_orphaned_calls`; for each orphan it calls
`claim_orphaned_call` (atomic: of several workers exactly one wins) and, if it won, dispatches
a new agent into the room; that agent opens a `RedisCallRecorder` for the same call id, which
resumes it (`agent.resume` restores the checklist and turns through the recorder).
"""

from __future__ import annotations

from dataclasses import dataclass

from state.protocols import LiveCallState

# statuses in which a call is over and must not be re-dispatched
FINAL_STATUSES = frozenset({"ended"})


@dataclass(frozen=True)
class OrphanedCall:
    call_id: str
    room: str
    worker_id: str  # the worker whose heartbeat lapsed
    status: str
    last_heartbeat_ms: int | None


async def find_orphaned_calls(live: LiveCallState) -> list[OrphanedCall]:
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


async def claim_orphaned_call(live: LiveCallState, call_id: str, new_worker_id: str, *,
                              lease_ms: int = 3_000) -> bool:
    """Take the call's heartbeat lease for `new_worker_id` if it has lapsed. Exactly one of
    several concurrent claimers gets True; the winner must start heartbeating (by opening a
    recorder with this worker id) within `lease_ms`."""
    return await live.claim(call_id, new_worker_id, lease_ms) > 0


async def close_orphaned_call(live: LiveCallState, call_id: str) -> None:
    """Mark a call whose room is gone as ended, so its keys expire once it is in Postgres."""
    await live.set_fields(call_id, {"status": "ended"})
    await live.mark_dirty(call_id)
