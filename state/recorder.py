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
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from state.events import (
    OUTCOME,
    CallEventSerializer,
    InvalidEventError,
    normalize_outcome,
)
from state.memory_recorder import InMemoryCallRecorder, RecorderNotOpenError
from state.protocols import STATUS, CallEvent, CallInfo, LiveCallState
from state.recorder_parts import (
    CallSupersededError,
    LoggedEvent,
    PendingOp,
    RecorderSettings,
    call_hash_fields,
    wait_until_persisted,
)
from state.redis_live import REDIS_UNAVAILABLE
from state.retained_events import RetainedEvents
from state.tasks import cancel_and_wait

logger = logging.getLogger(__name__)


class RedisCallRecorder:
    """One call's recorder. Create one per call, `await open(info)`, `await aclose()` at the end.

    The worker id in `CallInfo` is the heartbeat lease owner. Opening a call whose hash already
    exists (a re-dispatched call, after `claim_orphaned_call`) resumes it: the seq counter and
    slots are loaded from Redis and nothing is overwritten but the worker and status.
    """

    def __init__(self, live: LiveCallState, *, settings: RecorderSettings | None = None,
                 serializer: CallEventSerializer | None = None) -> None:
        self.live = live
        self.settings = settings or RecorderSettings()
        self.serializer = serializer or CallEventSerializer()
        self._info: CallInfo | None = None
        self._instance = uuid.uuid4().hex[:16]
        self._ops = 0
        self._last_seq = 0
        self._retained = RetainedEvents(self.settings.max_retained_events)
        self._slots: dict[str, dict[str, Any]] = {}
        self._fields: dict[str, str] = {}
        self._pending: deque[PendingOp] = deque()
        self._degraded = False
        self._caught_up = asyncio.Event()  # set while nothing waits for Redis
        self._caught_up.set()
        self._restore_needed = False
        self._resumed = False
        self._finished = False
        self._closed = False
        self._recovery_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._superseded = False
        # called once when the lease turns out to belong to another worker (this job froze
        # past its lease and a replacement took the call): the job must leave without a word
        self.on_superseded: Callable[[], None] | None = None


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
    def superseded(self) -> bool:
        """True once another worker holds this call: nothing more is written for it."""
        return self._superseded

    @property
    def backlog(self) -> int:
        """Operations waiting in memory for Redis (0 while Redis takes them)."""
        return len(self._pending)

    @property
    def resumed(self) -> bool:
        """True when open() found the call already live (a re-dispatched call)."""
        return self._resumed

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def call_worker(self) -> str:
        if self._info is None:
            raise RecorderNotOpenError("recorder is not open")
        return self._info.worker_id


    async def open(self, call: CallInfo) -> None:
        if self._info is not None:
            raise RuntimeError("recorder already open")
        self._info = call
        self._fields = call_hash_fields(call, datetime.now(UTC))
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
        if self._superseded:
            raise CallSupersededError("another worker holds this call")
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
        logged = LoggedEvent(seq=0, event=event, fields=fields,
                             token=f"{self._instance}:{self._ops}", confirmed=False)
        if not self.degraded:
            try:
                seq = await self.live.append(call_id, fields, desired_seq=self._last_seq + 1,
                                             token=logged.token, owner=self.call_worker)
            except REDIS_UNAVAILABLE:
                self._enter_degraded()
            else:
                if seq < 0:
                    self._supersede()
                    raise CallSupersededError("another worker holds this call")
                logged.seq, logged.confirmed = seq, True
                self._last_seq = max(self._last_seq, seq)
                self._retained.keep(logged)
                return seq
        self._last_seq += 1
        logged.seq = self._last_seq
        self._retained.keep(logged)
        self._enqueue(PendingOp("event", logged=logged))
        return logged.seq

    async def save_slot(self, name: str, slot: Mapping[str, Any]) -> None:
        if self._superseded:
            raise CallSupersededError("another worker holds this call")
        try:
            self.serializer.encode_payload("slot", slot)
        except InvalidEventError as exc:
            logger.warning("slot rejected", extra={"call_id": self.call_id,
                                                   "reason": exc.reason})
            raise
        value = json.loads(json.dumps(dict(slot), default=str))
        self._slots[name] = value
        await self._apply(PendingOp("slot", name=name, data=value))

    async def load_slots(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._slots)

    async def recent_events(self, limit: int) -> Sequence[tuple[int, CallEvent]]:
        events = self._retained.by_seq()
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
        if self._superseded:
            raise CallSupersededError("another worker holds this call")
        update = {"status": status, **fields}
        self._fields.update(update)
        await self._apply(PendingOp("fields", data=update))
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
        if self._superseded:
            # the replacement owns the call and stores its outcome
            await self._stop_heartbeat()
            return
        draft = normalize_outcome(outcome)
        ended = {"status": "ended", "ended_at": datetime.now(UTC).isoformat()}
        self._fields.update(ended)
        await self._apply(PendingOp("fields", data=ended))
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


    async def _beat(self) -> None:
        state, persisted = await self.live.heartbeat(self.call_id, self.call_worker,
                                                     self.settings.heartbeat_ttl_ms)
        if state == -1:
            # Redis lost the call (restarted empty): restore it from memory
            self._restore_needed = True
            self._enter_degraded()
        elif state == 0:
            self._supersede()
        else:
            self._retained.confirm_persisted(persisted)

    def _supersede(self) -> None:
        if self._superseded:
            return
        self._superseded = True
        # queued writes were this job's view of a call it no longer holds
        self._pending.clear()
        self._caught_up.set()
        logger.warning("call taken over by another worker", extra={"call_id": self.call_id})
        if self.on_superseded is not None:
            try:
                self.on_superseded()
            except Exception:
                logger.exception("superseded callback failed", extra={"call_id": self.call_id})

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

    async def _apply(self, op: PendingOp) -> None:
        if self._info is None:
            raise RecorderNotOpenError("recorder is not open")
        if not self.degraded:
            try:
                await self._send(op)
            except REDIS_UNAVAILABLE:
                self._enter_degraded()
            else:
                if self._superseded:
                    raise CallSupersededError("another worker holds this call")
                return
        self._enqueue(op)

    async def _send(self, op: PendingOp) -> None:
        call_id = self.call_id
        if op.kind == "event":
            assert op.logged is not None
            logged = op.logged
            seq = await self.live.append(call_id, logged.fields, desired_seq=logged.seq,
                                         token=logged.token, owner=self.call_worker)
            if seq < 0:
                self._supersede()
                return
            logged.seq, logged.confirmed = seq, True
            self._last_seq = max(self._last_seq, seq)
        elif op.kind == "slot":
            assert op.data is not None
            if not await self.live.save_slots(call_id, {op.name: op.data},
                                              owner=self.call_worker):
                self._supersede()
        else:
            assert op.data is not None
            if not await self.live.set_fields(call_id, {k: str(v) for k, v in op.data.items()},
                                              owner=self.call_worker):
                self._supersede()

    def _enqueue(self, op: PendingOp) -> None:
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
            for logged in self._retained.lost_with_redis():
                await self.live.append(call_id, logged.fields, desired_seq=logged.seq,
                                       token=logged.token, fixed=True)
            self._restore_needed = False
        while self._pending and not self._superseded:
            await self._send(self._pending[0])
            if self._pending:
                self._pending.popleft()
        if not self._finished and not self._superseded:
            await self._beat()

    async def _flush(self, seq: int) -> None:
        """Wait (bounded) until Redis holds everything and Postgres has `seq`."""
        await wait_until_persisted(self.live, self.call_id, seq, self._caught_up, self.settings)


__all__ = ["CallSupersededError", "InMemoryCallRecorder", "RecorderNotOpenError",
           "RecorderSettings", "RedisCallRecorder"]
