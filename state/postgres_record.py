"""The system of record in Postgres (asyncpg pool): the writer's and review's SQL is here; the
console's reads are in state/console_queries.py, its accounts in state/accounts.py.

Rows that come from the live stream are keyed by (call_id, seq) and inserted with
ON CONFLICT DO NOTHING, so a writer that dies after committing and before moving its cursor
simply writes the same rows again to no effect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from state.record_rows import (
    CallBatch,
    CallRow,
    EventRow,
    OutcomeConflictError,
    OutcomeDraft,
    OutcomeNotFoundError,
    RetentionCounts,
    TurnRow,
)
from state.record_sql import (
    COUNT_ROWS,
    ENSURE_CALL,
    GET_BOOKINGS,
    GET_CALL,
    GET_EVENTS,
    GET_OUTCOME,
    GET_OUTCOME_FOR_UPDATE,
    GET_RECENT_TURNS,
    GET_REVISIONS,
    GET_TURNS,
    INSERT_BOOKING,
    INSERT_EVENT,
    INSERT_REVISION,
    INSERT_TURN,
    LIST_CALLS,
    MAX_SEQ,
    RETENTION_COUNT,
    RETENTION_DELETE_EVENTS,
    RETENTION_DELETE_TURNS,
    RETENTION_MARK_CALLS,
    RETENTION_SELECT,
    RETENTION_SELECT_FOR_UPDATE,
    UPDATE_OUTCOME,
    UPSERT_CALL,
    UPSERT_DRAFT_OUTCOME,
)

# Errors meaning "Postgres is not reachable now": retry later, the events wait in Redis.
PG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)



def is_row_error(exc: BaseException) -> bool:
    """True if Postgres (or asyncpg encoding the arguments) refused the data itself, as
    opposed to the server being unreachable. asyncpg's client-side data errors derive from
    both InterfaceError and ValueError."""
    if isinstance(exc, ValueError):
        return True
    return isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, PG_UNAVAILABLE)


OUTCOME_TOP_LEVEL = ("escalation_reason", "recommended_next_action")

def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _call_args(call: CallRow) -> tuple[Any, ...]:
    return (call.call_id, call.room, call.worker_id, call.status, call.caller_number,
            call.playbook, _dumps(dict(call.metadata)), call.retention_days, call.recording_uri,
            call.started_at, call.ended_at)


def _outcome_args(call_id: str, draft: OutcomeDraft) -> tuple[Any, ...]:
    return (call_id, _dumps(dict(draft.fields)), _dumps(list(draft.missing_fields)),
            draft.escalation_reason, draft.recommended_next_action, draft.source_seq,
            _dumps(list(draft.unconfirmed_fields)))


def _booking_args(call_id: str, draft: OutcomeDraft) -> list[tuple[Any, ...]]:
    return [(call_id, str(b["reference"]), str(b["kind"]), b.get("when"),
             datetime.fromisoformat(str(b["at"]))) for b in draft.bookings]


def outcome_snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """The reviewable part of an outcome row, JSON-ready."""
    approved_at = row["approved_at"]
    return {
        "fields": _loads(row["fields"]),
        "missing_fields": _loads(row["missing_fields"]),
        "unconfirmed_fields": _loads(row["unconfirmed_fields"]),
        "escalation_reason": row["escalation_reason"],
        "recommended_next_action": row["recommended_next_action"],
        "approval_status": row["approval_status"],
        "approved_by": row["approved_by"],
        "approved_at": approved_at.isoformat() if approved_at else None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def create_pool(database_url: str, *, max_size: int = 10) -> Any:
    """A pool that opens connections lazily, so a writer can start while Postgres is down."""
    return await asyncpg.create_pool(database_url, min_size=0, max_size=max_size,
                                     command_timeout=30)


class PostgresRecordStore:
    """The durable call record, built from an asyncpg pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    # --- the writer's side ---------------------------------------------------------------------

    async def write_batch(self, batch: CallBatch) -> None:
        """One call's rows in one transaction; idempotent."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self._write_call(conn, batch)
            if batch.turns:
                await conn.executemany(INSERT_TURN, [
                    (batch.call_id, t.seq, t.role, t.text, t.at, t.interrupted)
                    for t in batch.turns])
            if batch.events:
                await conn.executemany(INSERT_EVENT, [
                    (batch.call_id, e.seq, e.kind, _dumps(dict(e.payload)), e.at)
                    for e in batch.events])
            if batch.outcome is not None:
                await conn.execute(UPSERT_DRAFT_OUTCOME,
                                   *_outcome_args(batch.call_id, batch.outcome))
                if batch.outcome.bookings:
                    await conn.executemany(INSERT_BOOKING,
                                           _booking_args(batch.call_id, batch.outcome))

    async def write_batch_rowwise(self, batch: CallBatch) -> list[tuple[int, str]]:
        """Like write_batch, but each row in its own savepoint: returns (seq, error class) of
        the rows Postgres refused, having written all the others."""
        failed: list[tuple[int, str]] = []
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                async with conn.transaction():
                    await self._write_call(conn, batch)
            except Exception as exc:
                if not is_row_error(exc):
                    raise
                await conn.execute(ENSURE_CALL, batch.call_id)
            rows: list[tuple[int, str, tuple[Any, ...]]] = [
                (t.seq, INSERT_TURN, (batch.call_id, t.seq, t.role, t.text, t.at, t.interrupted))
                for t in batch.turns]
            rows += [(e.seq, INSERT_EVENT,
                      (batch.call_id, e.seq, e.kind, _dumps(dict(e.payload)), e.at))
                     for e in batch.events]
            if batch.outcome is not None:
                rows.append((batch.outcome.source_seq or 0, UPSERT_DRAFT_OUTCOME,
                             _outcome_args(batch.call_id, batch.outcome)))
                rows += [(batch.outcome.source_seq or 0, INSERT_BOOKING, args)
                         for args in _booking_args(batch.call_id, batch.outcome)]
            for seq, sql, args in rows:
                try:
                    async with conn.transaction():
                        await conn.execute(sql, *args)
                except Exception as exc:
                    if not is_row_error(exc):
                        raise
                    failed.append((seq, type(exc).__name__))
        return failed

    async def _write_call(self, conn: Any, batch: CallBatch) -> None:
        if batch.call is not None:
            await conn.execute(UPSERT_CALL, *_call_args(batch.call))
        else:
            await conn.execute(ENSURE_CALL, batch.call_id)

    # --- reads ---------------------------------------------------------------------------------

    async def max_seq(self, call_id: str) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(MAX_SEQ, call_id)
        return int(value or 0)

    async def count_rows(self, call_id: str) -> int:
        async with self.pool.acquire() as conn:
            return int(await conn.fetchval(COUNT_ROWS, call_id))

    async def list_calls(self, *, limit: int = 50,
                         approval_status: str | None = None) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(LIST_CALLS, approval_status, limit)
        return [{
            "call_id": r["call_id"], "room": r["room"], "status": r["status"],
            "started_at": _iso(r["started_at"]), "ended_at": _iso(r["ended_at"]),
            "playbook": r["playbook"], "approval_status": r["approval_status"],
            "escalation_reason": r["escalation_reason"], "turns": int(r["turns"]),
        } for r in rows]

    async def recent_turns(self, call_id: str, limit: int) -> list[TurnRow]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(GET_RECENT_TURNS, call_id, limit)
        return [TurnRow(int(r["seq"]), r["role"], r["text"], r["at"]) for r in rows]

    async def get_call(self, call_id: str) -> dict[str, Any] | None:
        """The whole record: call, turns, events, outcome and revisions, JSON-ready.

        One snapshot for all six reads: the recorder's last batch (the hang-up, the outcome)
        commits at once, and a read between two of these queries saw the outcome without the
        events stored with it (an eval scored a call the agent ended as the caller's hang-up)."""
        async with self.pool.acquire() as conn, conn.transaction(
                isolation="repeatable_read", readonly=True):
            call = await conn.fetchrow(GET_CALL, call_id)
            if call is None:
                return None
            turns = await conn.fetch(GET_TURNS, call_id)
            events = await conn.fetch(GET_EVENTS, call_id)
            outcome = await conn.fetchrow(GET_OUTCOME, call_id)
            revisions = await conn.fetch(GET_REVISIONS, call_id)
            bookings = await conn.fetch(GET_BOOKINGS, call_id)
        return {
            "call": {
                "call_id": call["call_id"], "room": call["room"], "worker_id": call["worker_id"],
                "status": call["status"], "caller_number": call["caller_number"],
                "playbook": call["playbook"], "metadata": _loads(call["metadata"]),
                "retention_days": call["retention_days"],
                "recording_uri": call["recording_uri"],
                "started_at": _iso(call["started_at"]), "ended_at": _iso(call["ended_at"]),
                "purged_at": _iso(call["purged_at"]),
            },
            "turns": [{"seq": int(t["seq"]), "role": t["role"], "text": t["text"],
                       "at": _iso(t["at"]), "interrupted": bool(t["interrupted"])}
                      for t in turns],
            "events": [{"seq": int(e["seq"]), "kind": e["kind"], "payload": _loads(e["payload"]),
                        "at": _iso(e["at"])} for e in events],
            "outcome": None if outcome is None else {
                **outcome_snapshot(outcome), "revision": int(outcome["revision"]),
                "version": int(outcome["version"]),
                "source_seq": outcome["source_seq"],
                "created_at": _iso(outcome["created_at"]),
                "updated_at": _iso(outcome["updated_at"]),
            },
            "revisions": [{
                "revision": int(r["revision"]), "action": r["action"],
                "changed_by": r["changed_by"], "changed_at": _iso(r["changed_at"]),
                "before": _loads(r["before"]), "after": _loads(r["after"]),
            } for r in revisions],
            "bookings": [{"reference": b["reference"], "kind": b["kind"],
                          "when": b["booked_for"], "at": _iso(b["booked_at"])}
                         for b in bookings],
        }

    # --- review --------------------------------------------------------------------------------

    async def store_draft_outcome(self, call_id: str, draft: OutcomeDraft) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(ENSURE_CALL, call_id)
            await conn.execute(UPSERT_DRAFT_OUTCOME, *_outcome_args(call_id, draft))
            if draft.bookings:
                await conn.executemany(INSERT_BOOKING, _booking_args(call_id, draft))

    async def revise_outcome(self, call_id: str, action: str, by: str, at: datetime,
                             change: Any, *, expected_version: int | None = None
                             ) -> tuple[dict[str, Any], bool]:
        """Apply `change(snapshot) -> new snapshot | None` under a row lock; a new snapshot is
        saved with a revision row (who, when, before, after). Returns (snapshot, changed).
        With `expected_version`, raise OutcomeConflictError if the row has moved on since."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(GET_OUTCOME_FOR_UPDATE, call_id)
            if row is None:
                raise OutcomeNotFoundError(call_id)
            if expected_version is not None and int(row["version"]) != expected_version:
                raise OutcomeConflictError(int(row["version"]))
            before = outcome_snapshot(row)
            after: dict[str, Any] | None = change(before)
            if after is None or after == before:
                return before, False
            revision = int(row["revision"]) + 1
            approved_at = after["approved_at"]
            await conn.execute(
                UPDATE_OUTCOME, call_id, _dumps(after["fields"]), _dumps(after["missing_fields"]),
                after["escalation_reason"], after["recommended_next_action"],
                after["approval_status"], after["approved_by"],
                datetime.fromisoformat(approved_at) if approved_at else None, revision,
                _dumps(after.get("unconfirmed_fields", [])))
            await conn.execute(INSERT_REVISION, call_id, revision, action, by, at,
                               _dumps(before), _dumps(after))
            return after, True

    # --- retention -----------------------------------------------------------------------------

    async def retention_counts(self, now: datetime, days: int | None,
                               default_days: int) -> RetentionCounts:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(RETENTION_COUNT, now, days, default_days)
        return RetentionCounts(int(row["calls"]), int(row["turns"]), int(row["events"]),
                               int(row["audio_refs"]))

    async def retention_call_ids(self, now: datetime, days: int | None,
                                 default_days: int) -> list[str]:
        """The calls `retention_purge` with the same arguments would purge (their audio is
        deleted first, so a failed deletion leaves the reference for the next run)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(RETENTION_SELECT, now, days, default_days)
        return [str(r["call_id"]) for r in rows]

    async def retention_purge(self, now: datetime, days: int | None,
                              default_days: int) -> RetentionCounts:
        """Delete transcripts and events, clear audio references; calls and outcomes stay."""
        async with self.pool.acquire() as conn, conn.transaction():
            counts_row = await conn.fetchrow(RETENTION_COUNT, now, days, default_days)
            ids = [r["call_id"] for r in
                   await conn.fetch(RETENTION_SELECT_FOR_UPDATE, now, days, default_days)]
            if ids:
                await conn.execute(RETENTION_DELETE_TURNS, ids)
                await conn.execute(RETENTION_DELETE_EVENTS, ids)
                await conn.execute(RETENTION_MARK_CALLS, ids, now)
        return RetentionCounts(int(counts_row["calls"]), int(counts_row["turns"]),
                               int(counts_row["events"]), int(counts_row["audio_refs"]))


# rows and errors live in state.record_rows; importers of this module may keep using them here
__all__ = [
    "OUTCOME_TOP_LEVEL",
    "PG_UNAVAILABLE",
    "CallBatch",
    "CallRow",
    "EventRow",
    "OutcomeConflictError",
    "OutcomeDraft",
    "OutcomeNotFoundError",
    "PostgresRecordStore",
    "RetentionCounts",
    "TurnRow",
    "create_pool",
    "is_row_error",
    "outcome_snapshot",
]
