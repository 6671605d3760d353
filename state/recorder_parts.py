"""The call recorder's settings, its in-memory log entries and queued operations, and the wait
for a finished call to reach Postgres."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from state.protocols import CallEvent, CallInfo, LiveCallState
from state.redis_live import REDIS_UNAVAILABLE

logger = logging.getLogger("state.recorder")

_FLUSH_GIVES_UP: tuple[type[BaseException], ...] = (TimeoutError, *REDIS_UNAVAILABLE)


@dataclass(frozen=True)
class RecorderSettings:
    # the heartbeat lease: another worker may take the call once it lapses
    heartbeat_interval: float = 1.0
    heartbeat_ttl_ms: int = 3_000
    # events this recorder keeps in memory until the writer confirms them in Postgres: what
    # it can replay if Redis loses its data
    max_retained_events: int = 10_000
    # operations queued while Redis is down; past this the oldest events are dropped (logged)
    max_pending: int = 50_000
    reconnect_backoff_max: float = 2.0
    # how long finish() waits for Redis to take queued events and for Postgres to confirm
    flush_timeout: float = 5.0
    flush_poll_interval: float = 0.05


@dataclass
class LoggedEvent:
    seq: int
    event: CallEvent
    fields: dict[str, str]
    token: str
    confirmed: bool  # Redis has it under `seq`


@dataclass
class PendingOp:
    kind: str  # "event" | "slot" | "fields"
    logged: LoggedEvent | None = None
    name: str = ""
    data: Mapping[str, Any] | None = None


class CallSupersededError(RuntimeError):
    """A write for a call whose lease another worker took over; this job must stop."""


async def wait_until_persisted(live: LiveCallState, call_id: str, seq: int,
                               caught_up: asyncio.Event, settings: RecorderSettings) -> None:
    """Wait (bounded) until Redis holds everything and Postgres has `seq`."""
    loop = asyncio.get_running_loop()
    # checked by hand too: a client library that swallows the timeout's cancellation must
    # not turn this into an endless poll
    deadline = loop.time() + settings.flush_timeout
    try:
        async with asyncio.timeout_at(deadline):
            await caught_up.wait()
            while loop.time() < deadline:
                fields = await live.get_call(call_id)
                if not fields or int(fields.get("persisted_seq") or 0) >= seq:
                    return
                await asyncio.sleep(settings.flush_poll_interval)
    except _FLUSH_GIVES_UP:
        pass
    logger.warning("call finished before its record reached postgres",
                   extra={"call_id": call_id})


def call_hash_fields(call: CallInfo, now: datetime) -> dict[str, str]:
    """The live call hash of a call being opened (the worker is its heartbeat lease owner)."""
    fields = {
        "status": "active", "room": call.room, "worker": call.worker_id,
        "caller_number": call.caller_number or "", "playbook": call.playbook or "",
        "metadata": json.dumps(dict(call.metadata), separators=(",", ":"), default=str),
        "started_at": now.isoformat(), "heartbeat": str(int(now.timestamp() * 1000)),
    }
    retention = call.metadata.get("retention_days")
    if isinstance(retention, int) and not isinstance(retention, bool):
        fields["retention_days"] = str(retention)
    return fields
