"""What the agent and tools know about storage: these Protocols, nothing else.

Implementations: `state.redis_live` (live call state), `state.postgres_record` (system of
record), and a recorder that writes to Redis at once and to Postgres shortly after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

# event kinds; a transcript turn is an event of kind "turn" with payload {"role", "text"}
TURN = "turn"
TOOL_CALL = "tool_call"
SLOT_CHANGED = "slot_changed"
ESCALATION = "escalation"
TAKEOVER = "takeover"
STATUS = "status"


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
    """

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
