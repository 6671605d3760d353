"""What the agent, tools and dashboard know about storage: these Protocols, nothing else.

- `CallRecorder`: one call's record as the agent writes it (`state.recorder`: Redis at once,
  Postgres shortly after; or in memory).
- `LiveCallState`: live call state (`state.redis_live.RedisLiveState`).
- `RecordStore`: the durable system of record (`state.postgres_record.PostgresRecordStore`).

The worker's composition root (`agent.composition`) picks the implementations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    # row and entry types of the implementations; they import nothing from here
    from state.record_rows import CallBatch, OutcomeDraft, RetentionCounts, TurnRow
    from state.redis_live import RawEntry

# event kinds; a transcript turn is an event of kind "turn" with payload {"role", "text"}
TURN = "turn"
TOOL_CALL = "tool_call"
SLOT_CHANGED = "slot_changed"
ESCALATION = "escalation"
STATUS = "status"
# a supervisor's action on a live call: {"action", "by", ...} (see `state.events`)
SUPERVISION = "supervision"


@dataclass(frozen=True)
class CallEvent:
    kind: str
    payload: Mapping[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class CallInfo:
    call_id: str
    room: str
    worker_id: str
    caller_number: str | None = None
    playbook: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


class CallRecorder(Protocol):
    """One call's record as the agent sees it: written as it happens, never lost.

    `record` returns at once (hot path); durability to Postgres happens behind it.
    `on_superseded`, when set, is called once if another worker turns out to hold the call
    (this job froze past its heartbeat lease and was replaced); writes then raise.
    """

    on_superseded: Callable[[], None] | None

    async def open(self, call: CallInfo) -> None: ...

    async def record(self, kind: str, payload: Mapping[str, Any]) -> int:
        """Append an event; returns its sequence number within the call."""
        ...

    async def save_slot(self, name: str, slot: Mapping[str, Any]) -> None: ...

    async def load_slots(self) -> dict[str, dict[str, Any]]: ...

    async def recent_events(self, limit: int) -> Sequence[tuple[int, CallEvent]]: ...

    async def set_status(self, status: str, **fields: str) -> None: ...

    async def heartbeat(self) -> None: ...

    async def finish(self, outcome: Mapping[str, Any]) -> None:
        """Store the draft outcome and flush everything to the system of record."""
        ...

    async def aclose(self) -> None: ...


class LiveCallState(Protocol):
    """Live call state: per call a hash, a slot hash, an event stream, a heartbeat lease, and the
    indexes of live calls and of calls with events not yet in the system of record."""

    async def open_call(self, call_id: str, fields: Mapping[str, str],
                        lease: tuple[str, int] | None = None) -> tuple[bool, int]: ...

    async def set_fields(self, call_id: str, fields: Mapping[str, str], *,
                         owner: str = "") -> bool: ...

    async def get_call(self, call_id: str) -> dict[str, str]: ...

    async def call_exists(self, call_id: str) -> bool: ...

    async def seq(self, call_id: str) -> int: ...

    async def live_calls(self) -> list[str]: ...

    async def save_slots(self, call_id: str, slots: Mapping[str, Mapping[str, Any]], *,
                         owner: str = "") -> bool: ...

    async def load_slots(self, call_id: str) -> dict[str, dict[str, Any]]: ...

    async def append(self, call_id: str, fields: Mapping[str, str], *, desired_seq: int,
                     token: str = "", fixed: bool = False, owner: str = "") -> int: ...

    async def read_after(self, call_id: str, after_id: str | None,
                         count: int) -> list[RawEntry]: ...

    async def read_latest(self, call_id: str, count: int) -> list[RawEntry]: ...

    async def dirty_calls(self, limit: int) -> list[str]: ...

    async def mark_dirty(self, call_id: str) -> None: ...

    async def ack(self, call_id: str, last_entry_id: str | None, last_seq: int,
                  expire_seconds: int) -> int: ...

    async def dead_letter(self, call_id: str, entry: RawEntry, reason: str) -> None: ...

    async def heartbeat(self, call_id: str, worker_id: str, ttl_ms: int) -> tuple[int, int]:
        """Renew the lease: (state, persisted_seq); state -1 lost data, 0 superseded, 1 ok."""
        ...

    async def claim(self, call_id: str, worker_id: str, ttl_ms: int) -> int: ...

    async def heartbeat_alive(self, call_ids: Sequence[str]) -> list[bool]: ...

    async def take_writer_lease(self, call_id: str, owner: str, ttl_ms: int) -> bool: ...

    async def release_writer_lease(self, call_id: str, owner: str) -> None: ...


class RecordStore(Protocol):
    """The system of record: calls, transcript turns, events, outcomes and their revisions."""

    async def write_batch(self, batch: CallBatch) -> None: ...

    async def write_batch_rowwise(self, batch: CallBatch) -> list[tuple[int, str]]: ...

    async def list_calls(self, *, limit: int = 50,
                         approval_status: str | None = None) -> list[dict[str, Any]]: ...

    async def recent_turns(self, call_id: str, limit: int) -> list[TurnRow]: ...

    async def get_call(self, call_id: str) -> dict[str, Any] | None: ...

    async def store_draft_outcome(self, call_id: str, draft: OutcomeDraft) -> None: ...

    async def revise_outcome(self, call_id: str, action: str, by: str, at: datetime,
                             change: Any, *, expected_version: int | None = None
                             ) -> tuple[dict[str, Any], bool]: ...

    async def retention_counts(self, now: datetime, days: int | None,
                               default_days: int) -> RetentionCounts: ...

    async def retention_purge(self, now: datetime, days: int | None,
                              default_days: int) -> RetentionCounts: ...
