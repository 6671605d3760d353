"""The background writer: drains every call's Redis event stream into Postgres.

Each round takes the calls marked dirty, and for each (under a short Redis lease, so several
writers share the work without doing it twice) reads the entries after its cursor, writes them
in one transaction keyed by (call_id, seq), then moves the cursor. Dying anywhere in between
only means the next round writes the same rows again, to no effect.

- Postgres down: nothing is acknowledged, entries stay in Redis, rounds back off and retry.
- A corrupt entry (undecodable, oversized, refused by Postgres) goes to `calls:deadletter`
  with its reason and is skipped; the rest of the stream keeps draining.

Run one per worker process: `RecordWriter(...).start()` / `aclose()`, or `python -m state.writer`
with INTAKE_REDIS_URL and INTAKE_DATABASE_URL set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from state.events import OUTCOME, CallEventSerializer, InvalidEventError, normalize_outcome
from state.postgres_record import (
    PG_UNAVAILABLE,
    CallBatch,
    CallRow,
    EventRow,
    OutcomeDraft,
    PostgresRecordStore,
    TurnRow,
    is_row_error,
)
from state.protocols import TURN, LiveCallState, RecordStore
from state.redis_live import REDIS_UNAVAILABLE, RawEntry, RedisLiveState
from state.tasks import cancel_and_wait

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriterSettings:
    batch_size: int = 500
    # how often an idle writer looks for new entries: bounds the time to Postgres
    poll_interval: float = 0.05
    max_calls_per_round: int = 64
    # batches one call may take per round before the next call gets its turn
    max_batches_per_call: int = 8
    concurrency: int = 4
    lease_ms: int = 5_000
    # how long a finished call's keys stay in Redis after everything is in Postgres
    expire_after_persist_s: int = 900
    max_backoff: float = 5.0


def call_row_from_hash(call_id: str, fields: Mapping[str, str]) -> CallRow | None:
    """The `calls` row as the live hash describes it; None if the hash is gone."""
    if not fields:
        return None

    def when(name: str) -> datetime | None:
        try:
            value = datetime.fromisoformat(fields.get(name, ""))
        except ValueError:
            return None
        return value if value.tzinfo is not None else None

    try:
        metadata = json.loads(fields.get("metadata", "{}"))
    except ValueError:
        metadata = {}
    try:
        retention = int(fields["retention_days"]) if fields.get("retention_days") else None
    except ValueError:
        retention = None
    return CallRow(
        call_id=call_id, room=fields.get("room", ""), worker_id=fields.get("worker") or None,
        status=fields.get("status") or "active",
        caller_number=fields.get("caller_number") or None,
        playbook=fields.get("playbook") or None,
        metadata=metadata if isinstance(metadata, dict) else {},
        retention_days=retention, recording_uri=fields.get("recording_uri") or None,
        started_at=when("started_at"), ended_at=when("ended_at"),
    )


class RecordWriter:
    """Moves events from Redis to Postgres; owns one background task."""

    def __init__(self, live: LiveCallState, store: RecordStore, *,
                 settings: WriterSettings | None = None, writer_id: str | None = None) -> None:
        self.live = live
        self.store = store
        self.settings = settings or WriterSettings()
        self.writer_id = writer_id or f"writer-{uuid.uuid4().hex[:12]}"
        self.serializer = CallEventSerializer()
        self._task: asyncio.Task[None] | None = None
        self._semaphore = asyncio.Semaphore(self.settings.concurrency)
        self.persisted = 0  # rows handed to Postgres (including replays it ignored)
        self.dead_lettered = 0

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="record-writer")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def run(self) -> None:
        backoff = 0.0
        while True:
            try:
                handled = await self.drain_once()
            except PG_UNAVAILABLE + REDIS_UNAVAILABLE:
                backoff = min(self.settings.max_backoff, max(0.1, backoff * 2))
                logger.warning("record writer: storage unavailable, retrying",
                               extra={"writer_id": self.writer_id, "backoff_s": backoff})
                await asyncio.sleep(backoff * (0.5 + random.random() / 2))
                continue
            except Exception:
                backoff = min(self.settings.max_backoff, max(0.1, backoff * 2))
                logger.exception("record writer: round failed",
                                 extra={"writer_id": self.writer_id})
                await asyncio.sleep(backoff)
                continue
            if backoff:
                logger.info("record writer: storage back", extra={"writer_id": self.writer_id})
                backoff = 0.0
            if not handled:
                await asyncio.sleep(self.settings.poll_interval)

    async def drain_once(self) -> int:
        """One round over the dirty calls; returns how many entries it handled."""
        call_ids = await self.live.dirty_calls(self.settings.max_calls_per_round)
        if not call_ids:
            return 0
        results = await asyncio.gather(*(self._drain_call_guarded(c) for c in call_ids),
                                       return_exceptions=True)
        handled = 0
        for result in results:
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                raise result
            handled += result
        return handled

    async def drain_all(self) -> int:
        """Drain until no call is dirty (tests, shutdown, the benchmark)."""
        total = 0
        while True:
            handled = await self.drain_once()
            total += handled
            if not handled and not await self.live.dirty_calls(1):
                return total
            if not handled:
                await asyncio.sleep(self.settings.poll_interval)

    # --- one call ------------------------------------------------------------------------------

    async def _drain_call_guarded(self, call_id: str) -> int:
        async with self._semaphore:
            if not await self.live.take_writer_lease(call_id, self.writer_id,
                                                     self.settings.lease_ms):
                return 0  # another writer is on it
            try:
                return await self._drain_call(call_id)
            finally:
                with contextlib.suppress(*REDIS_UNAVAILABLE):
                    await self.live.release_writer_lease(call_id, self.writer_id)

    async def _drain_call(self, call_id: str) -> int:
        handled = 0
        for _ in range(self.settings.max_batches_per_call):
            call_fields = await self.live.get_call(call_id)
            cursor = call_fields.get("persisted_id") or None
            entries = await self.live.read_after(call_id, cursor, self.settings.batch_size)
            batch, last_seq = await self._build_batch(call_id, call_fields, entries)
            if len(batch):
                await self._write(batch)
            last_id = entries[-1].entry_id if entries else None
            state = await self.live.ack(call_id, last_id, last_seq,
                                        self.settings.expire_after_persist_s)
            handled += len(entries)
            if state == 2:
                logger.info("call record complete in postgres", extra={"call_id": call_id})
            if state != 0 or len(entries) < self.settings.batch_size:
                break
        return handled

    async def _build_batch(self, call_id: str, call_fields: Mapping[str, str],
                           entries: list[RawEntry]) -> tuple[CallBatch, int]:
        batch = CallBatch(call=call_row_from_hash(call_id, call_fields), call_id=call_id)
        last_seq = 0
        for entry in entries:
            try:
                decoded = self.serializer.decode(entry.fields)
                if decoded.event.kind == OUTCOME:
                    outcome = normalize_outcome(decoded.event.payload)
            except InvalidEventError as exc:
                await self._dead_letter(call_id, entry, exc.reason)
                continue
            seq, event = decoded.seq, decoded.event
            last_seq = max(last_seq, seq)
            if event.kind == TURN:
                batch.turns.append(TurnRow(seq, str(event.payload["role"]),
                                           str(event.payload["text"]), event.at,
                                           event.payload.get("interrupted") is True))
                continue
            batch.events.append(EventRow(seq, event.kind, event.payload, event.at))
            if event.kind == OUTCOME:
                batch.outcome = OutcomeDraft(
                    fields=outcome["fields"], missing_fields=outcome["missing_fields"],
                    escalation_reason=outcome["escalation_reason"],
                    recommended_next_action=outcome["recommended_next_action"],
                    source_seq=seq, unconfirmed_fields=outcome["unconfirmed_fields"],
                    bookings=outcome["bookings"])
        return batch, last_seq

    async def _write(self, batch: CallBatch) -> None:
        try:
            await self.store.write_batch(batch)
        except Exception as exc:
            if not is_row_error(exc):
                raise
            # one row Postgres refuses must not hold back the others: isolate it
            logger.warning("record writer: batch refused, writing row by row",
                           extra={"call_id": batch.call_id})
            failed = await self.store.write_batch_rowwise(batch)
            for seq, reason in failed:
                self.dead_lettered += 1
                logger.warning("record writer: row refused by postgres, skipped",
                               extra={"call_id": batch.call_id, "seq": seq,
                                      "reason": reason})
        self.persisted += len(batch)

    async def _dead_letter(self, call_id: str, entry: RawEntry, reason: str) -> None:
        self.dead_lettered += 1
        logger.warning("record writer: corrupt stream entry moved aside",
                       extra={"call_id": call_id, "entry_id": entry.entry_id, "reason": reason})
        await self.live.dead_letter(call_id, entry, reason)


async def _main() -> None:
    import os
    import signal

    from state.postgres_record import create_pool
    from state.redis_live import connect_redis

    logging.basicConfig(level=logging.INFO)
    client = connect_redis(os.environ["INTAKE_REDIS_URL"], timeout=5.0)
    pool: Any = await create_pool(os.environ["INTAKE_DATABASE_URL"])
    batch = int(os.environ.get("INTAKE_WRITER_BATCH_SIZE", "500"))
    writer = RecordWriter(RedisLiveState(client), PostgresRecordStore(pool),
                          settings=WriterSettings(batch_size=batch))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    writer.start()
    print("record writer running", flush=True)
    try:
        await stop.wait()
    finally:
        await writer.aclose()
        await pool.close()
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(_main())
