"""`CallRecorder` implementations: Redis-backed for real calls, in-memory for tests.

`RedisCallRecorder.record` validates, encodes and appends with one Redis round trip (a Lua
script that takes the next per-call seq and XADDs atomically); Postgres is never on this path.

If Redis is unreachable the call goes on: events get provisional seqs (the next numbers this
recorder would expect, so they usually become the final ones), slots and status live in memory,
and an owned task retries until Redis is back and replays everything in order. If Redis came
back empty (restarted without persistence) the recorder also restores the call hash, the slots
and every event it holds that the writer had not yet confirmed in Postgres.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from state.events import (
    OUTCOME,
    CallEventSerializer,
    InvalidEventError,
    normalize_outcome,
)
from state.protocols import STATUS, CallEvent, CallInfo
from state.redis_live import REDIS_UNAVAILABLE, RedisLiveState
from state.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

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
class _Logged:
    seq: int
    event: CallEvent
    fields: dict[str, str]
    token: str
    confirmed: bool  # Redis has it under `seq`


@dataclass
class _Op:
    kind: str  # "event" | "slot" | "fields"
    logged: _Logged | None = None
    name: str = ""
    data: Mapping[str, Any] | None = None


class RecorderNotOpenError(RuntimeError):
    """record() or a state change before open()."""


class RedisCallRecorder:
    """One call's recorder. Create one per call, `await open(info)`, `await aclose()` at the end.

    The worker id in `CallInfo` is the heartbeat lease owner. Opening a call whose hash already
    exists (a re-dispatched call, after `claim_orphaned_call`) resumes it: the seq counter and
    slots are loaded from Redis and nothing is overwritten but the worker and status.
    """

    def __init__(self, live: RedisLiveState, *, settings: RecorderSettings | None = None,
                 serializer: CallEventSerializer | None = None) -> None:
        self.live = live
        self.settings = settings or RecorderSettings()
        self.serializer = serializer or CallEventSerializer()
        self._info: CallInfo | None = None
        self._instance = uuid.uuid4().hex[:16]
        self._ops = 0
        self._last_seq = 0
        self._persisted_seq = 0
        self._log: deque[_Logged] = deque()
        self._slots: dict[str, dict[str, Any]] = {}
        self._fields: dict[str, str] = {}
        self._pending: deque[_Op] = deque()
        self._degraded = False
        self._caught_up = asyncio.Event()  # set while nothing waits for Redis
        self._caught_up.set()
        self._restore_needed = False
        self._resumed = False
        self._finished = False
        self._closed = False
        self._recovery_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self.superseded = False

    # --- properties ----------------------------------------------------------------------------

    @property
    def call_id(self) -> str:
        if self._info is None:
            raise RecorderNotOpenError("recorder is not open")
        return self._info.call_id

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and operations wait in memory."""
        return self._degraded or bool(self._pending)

    @property
    def resumed(self) -> bool:
        """True when open() found the call already live (a re-dispatched call)."""
        return self._resumed

    @property
    def last_seq(self) -> int:
        return self._last_seq

    # --- CallRecorder --------------------------------------------------------------------------

    async def open(self, call: CallInfo) -> None:
        if self._info is not None:
            raise RuntimeError("recorder already open")
        self._info = call
        now = datetime.now(UTC)
        self._fields = {
            "status": "active", "room": call.room, "worker": call.worker_id,
            "caller_number": call.caller_number or "", "playbook": call.playbook or "",
            "metadata": json.dumps(dict(call.metadata), separators=(",", ":"), default=str),
            "started_at": now.isoformat(), "heartbeat": str(int(now.timestamp() * 1000)),
        }
        retention = call.metadata.get("retention_days")
        if isinstance(retention, int) and not isinstance(retention, bool):
            self._fields["retention_days"] = str(retention)
        try:
            existed, seq = await self.live.open_call(
                call.call_id, self._fields,
                lease=(call.worker_id, self.settings.heartbeat_ttl_ms))
            if existed:
                self._resumed = True
                self._last_seq = max(self._last_seq, seq)
                self._slots = await self.live.load_slots(call.call_id)
                current = await self.live.get_call(call.call_id)
                self._fields = {k: v for k, v in current.items()
                                if k not in ("persisted_id", "persisted_seq", "epoch")}
            await self._beat()
        except REDIS_UNAVAILABLE:
            self._enter_degraded()
            self._restore_needed = True
        if self.settings.heartbeat_interval > 0:
            self._heartbeat_task = asyncio.create_task(self._heartbeat_loop(),
                                                       name=f"call-heartbeat-{call.call_id}")
        await self.record(STATUS, {"status": "resumed" if self._resumed else "opened"})

    async def record(self, kind: str, payload: Mapping[str, Any]) -> int:
        event = CallEvent(kind=kind, payload=payload)
        try:
            fields = self.serializer.fields_without_seq(event)
        except InvalidEventError as exc:
            logger.warning("call event rejected",
                           extra={"call_id": self._info.call_id if self._info else None,
                                  "reason": exc.reason})
            raise
        # the payload is frozen as encoded, so later mutation by the caller changes nothing
        event = CallEvent(kind=kind, payload=json.loads(fields["payload"]), at=event.at)
        call_id = self.call_id
        self._ops += 1
        logged = _Logged(seq=0, event=event, fields=fields, token=f"{self._instance}:{self._ops}",
                         confirmed=False)
        if not self.degraded:
            try:
                seq = await self.live.append(call_id, fields, desired_seq=self._last_seq + 1,
                                             token=logged.token)
            except REDIS_UNAVAILABLE:
                self._enter_degraded()
            else:
                logged.seq, logged.confirmed = seq, True
                self._last_seq = max(self._last_seq, seq)
                self._retain(logged)
                return seq
        self._last_seq += 1
        logged.seq = self._last_seq
        self._retain(logged)
        self._enqueue(_Op("event", logged=logged))
        return logged.seq

    async def save_slot(self, name: str, slot: Mapping[str, Any]) -> None:
        try:
            self.serializer.encode_payload("slot", slot)
        except InvalidEventError as exc:
            logger.warning("slot rejected", extra={"call_id": self.call_id,
                                                   "reason": exc.reason})
            raise
        value = json.loads(json.dumps(dict(slot), default=str))
        self._slots[name] = value
        await self._apply(_Op("slot", name=name, data=value))

    async def load_slots(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._slots)

    async def recent_events(self, limit: int) -> Sequence[tuple[int, CallEvent]]:
        events = {logged.seq: logged.event for logged in self._log}
        if self._resumed and len(events) < limit and not self.degraded:
            with contextlib.suppress(*REDIS_UNAVAILABLE):
                for entry in await self.live.read_latest(self.call_id, limit):
                    try:
                        decoded = self.serializer.decode(entry.fields)
                    except InvalidEventError:
                        continue
                    events.setdefault(decoded.seq, decoded.event)
        return sorted(events.items(), key=lambda item: item[0])[-limit:] if limit > 0 else []

    async def set_status(self, status: str, **fields: str) -> None:
        update = {"status": status, **fields}
        self._fields.update(update)
        await self._apply(_Op("fields", data=update))
        await self.record(STATUS, update)

    async def heartbeat(self) -> None:
        if self._info is None or self._finished:
            return
        if self.degraded:
            return  # the recovery task restores the lease with everything else
        try:
            await self._beat()
        except REDIS_UNAVAILABLE:
            self._enter_degraded()

    async def finish(self, outcome: Mapping[str, Any]) -> None:
        draft = normalize_outcome(outcome)
        ended = {"status": "ended", "ended_at": datetime.now(UTC).isoformat()}
        self._fields.update(ended)
        await self._apply(_Op("fields", data=ended))
        seq = await self.record(OUTCOME, draft)
        self._finished = True
        await self._stop_heartbeat()
        await self._flush(seq)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._stop_heartbeat()
        if self._pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.flush_timeout):
                    await self._caught_up.wait()
        task, self._recovery_task = self._recovery_task, None
        await cancel_and_wait(task)
        if self._pending:
            logger.error("call recorder closed with events Redis never took",
                         extra={"call_id": self._info.call_id if self._info else None,
                                "pending": len(self._pending)})

    # --- internals -----------------------------------------------------------------------------

    async def _beat(self) -> None:
        state, persisted = await self.live.heartbeat(self.call_id, self.call_worker,
                                                     self.settings.heartbeat_ttl_ms)
        if state == -1:
            # Redis lost the call (restarted empty): restore it from memory
            self._restore_needed = True
            self._enter_degraded()
        elif state == 0:
            if not self.superseded:
                logger.warning("call taken over by another worker",
                               extra={"call_id": self.call_id})
            self.superseded = True
        else:
            self._confirm_persisted(persisted)

    @property
    def call_worker(self) -> str:
        if self._info is None:
            raise RecorderNotOpenError("recorder is not open")
        return self._info.worker_id

    def _confirm_persisted(self, persisted: int) -> None:
        self._persisted_seq = max(self._persisted_seq, persisted)
        while self._log and self._log[0].confirmed and self._log[0].seq <= self._persisted_seq:
            self._log.popleft()

    def _retain(self, logged: _Logged) -> None:
        self._log.append(logged)
        while len(self._log) > self.settings.max_retained_events:
            self._log.popleft()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            try:
                await self.heartbeat()
            except Exception:
                logger.exception("call heartbeat failed", extra={"call_id": self.call_id})

    async def _stop_heartbeat(self) -> None:
        task, self._heartbeat_task = self._heartbeat_task, None
        await cancel_and_wait(task)

    async def _apply(self, op: _Op) -> None:
        if self._info is None:
            raise RecorderNotOpenError("recorder is not open")
        if not self.degraded:
            try:
                await self._send(op)
                return
            except REDIS_UNAVAILABLE:
                self._enter_degraded()
        self._enqueue(op)

    async def _send(self, op: _Op) -> None:
        call_id = self.call_id
        if op.kind == "event":
            assert op.logged is not None
            logged = op.logged
            seq = await self.live.append(call_id, logged.fields, desired_seq=logged.seq,
                                         token=logged.token)
            logged.seq, logged.confirmed = seq, True
            self._last_seq = max(self._last_seq, seq)
        elif op.kind == "slot":
            assert op.data is not None
            await self.live.save_slots(call_id, {op.name: op.data})
        else:
            assert op.data is not None
            await self.live.set_fields(call_id, {k: str(v) for k, v in op.data.items()})

    def _enqueue(self, op: _Op) -> None:
        self._caught_up.clear()
        self._pending.append(op)
        if len(self._pending) > self.settings.max_pending:
            self._pending.popleft()
            logger.error("call recorder queue full, oldest operation dropped",
                         extra={"call_id": self.call_id})
        self._ensure_recovery()

    def _enter_degraded(self) -> None:
        if not self._degraded:
            logger.warning("redis unavailable, call state kept in memory",
                           extra={"call_id": self._info.call_id if self._info else None})
        self._degraded = True
        self._caught_up.clear()
        self._ensure_recovery()

    def _ensure_recovery(self) -> None:
        if self._closed and self._recovery_task is None:
            return
        if self._recovery_task is None or self._recovery_task.done():
            self._recovery_task = asyncio.create_task(
                self._recover(), name=f"call-recorder-recovery-{self.call_id}")

    async def _recover(self) -> None:
        backoff = 0.05
        while self._degraded or self._pending:
            try:
                await self._catch_up()
            except REDIS_UNAVAILABLE:
                await asyncio.sleep(backoff)
                backoff = min(self.settings.reconnect_backoff_max, backoff * 2)
                continue
            self._degraded = False
            self._caught_up.set()
            logger.info("redis back, call state caught up", extra={"call_id": self.call_id})

    async def _catch_up(self) -> None:
        call_id = self.call_id
        if self._restore_needed or not await self.live.call_exists(call_id):
            # Redis came back empty: the lease comes back with the call, not after the events
            await self.live.open_call(call_id, self._fields,
                                      lease=(self.call_worker, self.settings.heartbeat_ttl_ms))
            await self.live.save_slots(call_id, self._slots)
            # what Redis held and Postgres had not confirmed: put it back under its own seq
            for logged in list(self._log):
                if logged.confirmed and logged.seq > self._persisted_seq:
                    await self.live.append(call_id, logged.fields, desired_seq=logged.seq,
                                           token=logged.token, fixed=True)
            self._restore_needed = False
        while self._pending:
            await self._send(self._pending[0])
            self._pending.popleft()
        if not self._finished:
            await self._beat()

    async def _flush(self, seq: int) -> None:
        """Wait (bounded) until Redis holds everything and Postgres has `seq`."""
        loop = asyncio.get_running_loop()
        # checked by hand too: a client library that swallows the timeout's cancellation must
        # not turn this into an endless poll
        deadline = loop.time() + self.settings.flush_timeout
        try:
            async with asyncio.timeout_at(deadline):
                await self._caught_up.wait()
                while loop.time() < deadline:
                    fields = await self.live.get_call(self.call_id)
                    if not fields or int(fields.get("persisted_seq") or 0) >= seq:
                        return
                    await asyncio.sleep(self.settings.flush_poll_interval)
        except _FLUSH_GIVES_UP:
            pass
        logger.warning("call finished before its record reached postgres",
                       extra={"call_id": self.call_id})


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
