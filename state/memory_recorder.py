"""`InMemoryCallRecorder`: the `CallRecorder` contract with no servers (unit tests, runs
without Redis), validating exactly as the Redis recorder does."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from state.events import OUTCOME, CallEventSerializer, InvalidEventError, normalize_outcome
from state.protocols import STATUS, CallEvent, CallInfo

logger = logging.getLogger("state.recorder")


class RecorderNotOpenError(RuntimeError):
    """record() or a state change before open()."""


class InMemoryCallRecorder:
    """The `CallRecorder` contract with no servers: unit tests and runs without a database.

    Validates exactly as the Redis recorder does; everything stays in this object.
    """

    def __init__(self, serializer: CallEventSerializer | None = None) -> None:
        self.serializer = serializer or CallEventSerializer()
        self.info: CallInfo | None = None
        self.events: list[tuple[int, CallEvent]] = []
        self.slots: dict[str, dict[str, Any]] = {}
        self.fields: dict[str, str] = {}
        self.outcome: dict[str, Any] | None = None
        self.heartbeats = 0
        self.closed = False
        self.on_superseded: Callable[[], None] | None = None  # never: no other worker here

    async def open(self, call: CallInfo) -> None:
        self.info = call
        self.fields.update({"status": "active", "room": call.room, "worker": call.worker_id})
        await self.record(STATUS, {"status": "opened"})

    async def record(self, kind: str, payload: Mapping[str, Any]) -> int:
        if self.info is None:
            raise RecorderNotOpenError("recorder is not open")
        try:
            encoded = self.serializer.encode_payload(kind, payload)
        except InvalidEventError as exc:
            logger.warning("call event rejected",
                           extra={"call_id": self.info.call_id, "reason": exc.reason})
            raise
        seq = len(self.events) + 1
        self.events.append((seq, CallEvent(kind=kind, payload=json.loads(encoded))))
        return seq

    async def save_slot(self, name: str, slot: Mapping[str, Any]) -> None:
        self.serializer.encode_payload("slot", slot)
        self.slots[name] = json.loads(json.dumps(dict(slot), default=str))

    async def load_slots(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.slots)

    async def recent_events(self, limit: int) -> Sequence[tuple[int, CallEvent]]:
        return list(self.events[-limit:]) if limit > 0 else []

    async def set_status(self, status: str, **fields: str) -> None:
        self.fields.update({"status": status, **fields})
        await self.record(STATUS, {"status": status, **fields})

    async def heartbeat(self) -> None:
        self.heartbeats += 1

    async def finish(self, outcome: Mapping[str, Any]) -> None:
        draft = normalize_outcome(outcome)
        self.fields["status"] = "ended"
        await self.record(OUTCOME, draft)
        self.outcome = draft

    async def aclose(self) -> None:
        self.closed = True
