"""The system of record in Postgres (asyncpg pool). Every SQL statement of the project is here.

Rows that come from the live stream are keyed by (call_id, seq) and inserted with
ON CONFLICT DO NOTHING, so a writer that dies after committing and before moving its cursor
simply writes the same rows again to no effect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

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

# --- SQL ---------------------------------------------------------------------------------------

UPSERT_CALL = """
INSERT INTO calls (call_id, room, worker_id, status, caller_number, playbook, metadata,
                   retention_days, recording_uri, started_at, ended_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, COALESCE($10, now()), $11)
ON CONFLICT (call_id) DO UPDATE SET
    room = CASE WHEN EXCLUDED.room <> '' THEN EXCLUDED.room ELSE calls.room END,
    worker_id = COALESCE(EXCLUDED.worker_id, calls.worker_id),
    status = EXCLUDED.status,
    caller_number = COALESCE(EXCLUDED.caller_number, calls.caller_number),
    playbook = COALESCE(EXCLUDED.playbook, calls.playbook),
    metadata = EXCLUDED.metadata,
    retention_days = COALESCE(EXCLUDED.retention_days, calls.retention_days),
    recording_uri = CASE WHEN calls.purged_at IS NULL
                         THEN COALESCE(EXCLUDED.recording_uri, calls.recording_uri) END,
    ended_at = COALESCE(EXCLUDED.ended_at, calls.ended_at),
    updated_at = now()
"""

ENSURE_CALL = "INSERT INTO calls (call_id) VALUES ($1) ON CONFLICT (call_id) DO NOTHING"

INSERT_TURN = """
INSERT INTO transcript_turns (call_id, seq, role, text, at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (call_id, seq) DO NOTHING
"""

INSERT_EVENT = """
INSERT INTO call_events (call_id, seq, kind, payload, at) VALUES ($1, $2, $3, $4::jsonb, $5)
ON CONFLICT (call_id, seq) DO NOTHING
"""

# a replayed older draft never overwrites a newer one, and never an operator's edit
UPSERT_DRAFT_OUTCOME = """
INSERT INTO outcomes (call_id, fields, missing_fields, escalation_reason,
                      recommended_next_action, source_seq)
VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, $6)
ON CONFLICT (call_id) DO UPDATE SET
    fields = EXCLUDED.fields,
    missing_fields = EXCLUDED.missing_fields,
    escalation_reason = EXCLUDED.escalation_reason,
    recommended_next_action = EXCLUDED.recommended_next_action,
    source_seq = EXCLUDED.source_seq,
    updated_at = now()
WHERE outcomes.revision = 0 AND outcomes.approval_status = 'draft'
  AND COALESCE(outcomes.source_seq, 0) < COALESCE(EXCLUDED.source_seq, 0)
"""

LIST_CALLS = """
SELECT c.call_id, c.room, c.status, c.started_at, c.ended_at, c.playbook,
       o.approval_status, o.escalation_reason,
       (SELECT count(*) FROM transcript_turns t WHERE t.call_id = c.call_id) AS turns
FROM calls c LEFT JOIN outcomes o USING (call_id)
WHERE ($1::text IS NULL OR o.approval_status = $1 OR ($1 = 'none' AND o.call_id IS NULL))
ORDER BY c.started_at DESC, c.call_id
LIMIT $2
"""

GET_CALL = "SELECT * FROM calls WHERE call_id = $1"
GET_TURNS = "SELECT seq, role, text, at FROM transcript_turns WHERE call_id = $1 ORDER BY seq"
GET_RECENT_TURNS = """
SELECT seq, role, text, at FROM
  (SELECT * FROM transcript_turns WHERE call_id = $1 ORDER BY seq DESC LIMIT $2) recent
ORDER BY seq
"""
GET_EVENTS = "SELECT seq, kind, payload, at FROM call_events WHERE call_id = $1 ORDER BY seq"
GET_OUTCOME = "SELECT * FROM outcomes WHERE call_id = $1"
GET_OUTCOME_FOR_UPDATE = "SELECT * FROM outcomes WHERE call_id = $1 FOR UPDATE"
GET_REVISIONS = """
SELECT revision, action, changed_by, changed_at, before, after
FROM outcome_revisions WHERE call_id = $1 ORDER BY revision
"""
MAX_SEQ = """
SELECT GREATEST((SELECT max(seq) FROM transcript_turns WHERE call_id = $1),
                (SELECT max(seq) FROM call_events WHERE call_id = $1))
"""
COUNT_ROWS = """
SELECT (SELECT count(*) FROM transcript_turns WHERE call_id = $1)
     + (SELECT count(*) FROM call_events WHERE call_id = $1)
"""

UPDATE_OUTCOME = """
UPDATE outcomes SET fields = $2::jsonb, missing_fields = $3::jsonb, escalation_reason = $4,
    recommended_next_action = $5, approval_status = $6, approved_by = $7, approved_at = $8,
    revision = $9, updated_at = now()
WHERE call_id = $1
"""
INSERT_REVISION = """
INSERT INTO outcome_revisions (call_id, revision, action, changed_by, changed_at, before, after)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)
"""

# calls whose transcript is older than their retention: the playbook's days unless overridden
RETENTION_SCOPE = """
FROM calls c
WHERE c.purged_at IS NULL
  AND c.started_at < $1::timestamptz
                     - make_interval(days => COALESCE($2::int, c.retention_days, $3::int))
"""
RETENTION_COUNT = f"""
SELECT count(*) AS calls,
       coalesce(sum((SELECT count(*) FROM transcript_turns t WHERE t.call_id = c.call_id)), 0)
         AS turns,
       coalesce(sum((SELECT count(*) FROM call_events e WHERE e.call_id = c.call_id)), 0)
         AS events,
       count(c.recording_uri) AS audio_refs
{RETENTION_SCOPE}
"""
RETENTION_SELECT_FOR_UPDATE = f"SELECT c.call_id {RETENTION_SCOPE} FOR UPDATE"
RETENTION_DELETE_TURNS = "DELETE FROM transcript_turns WHERE call_id = ANY($1::text[])"
RETENTION_DELETE_EVENTS = "DELETE FROM call_events WHERE call_id = ANY($1::text[])"
RETENTION_MARK_CALLS = """
UPDATE calls SET recording_uri = NULL, purged_at = $2, updated_at = now()
WHERE call_id = ANY($1::text[])
"""


# --- rows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRow:
    call_id: str
    room: str = ""
    worker_id: str | None = None
    status: str = "active"
    caller_number: str | None = None
    playbook: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    retention_days: int | None = None
    recording_uri: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class TurnRow:
    seq: int
    role: str
    text: str
    at: datetime


@dataclass(frozen=True)
class EventRow:
    seq: int
    kind: str
    payload: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class OutcomeDraft:
    fields: Mapping[str, Any]
    missing_fields: Sequence[str]
    escalation_reason: str | None
    recommended_next_action: str | None
    source_seq: int | None = None


@dataclass
class CallBatch:
    """What one transaction writes for one call."""

    call: CallRow | None
    call_id: str
    turns: list[TurnRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    outcome: OutcomeDraft | None = None

    def __len__(self) -> int:
        return len(self.turns) + len(self.events) + (1 if self.outcome else 0)


@dataclass(frozen=True)
class RetentionCounts:
    calls: int
    turns: int
    events: int
    audio_refs: int


class OutcomeNotFoundError(LookupError):
    """The call has no outcome yet."""


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
            draft.escalation_reason, draft.recommended_next_action, draft.source_seq)


def outcome_snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """The reviewable part of an outcome row, JSON-ready."""
    approved_at = row["approved_at"]
    return {
        "fields": _loads(row["fields"]),
        "missing_fields": _loads(row["missing_fields"]),
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
                    (batch.call_id, t.seq, t.role, t.text, t.at) for t in batch.turns])
            if batch.events:
                await conn.executemany(INSERT_EVENT, [
                    (batch.call_id, e.seq, e.kind, _dumps(dict(e.payload)), e.at)
                    for e in batch.events])
            if batch.outcome is not None:
                await conn.execute(UPSERT_DRAFT_OUTCOME,
                                   *_outcome_args(batch.call_id, batch.outcome))

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
                (t.seq, INSERT_TURN, (batch.call_id, t.seq, t.role, t.text, t.at))
                for t in batch.turns]
            rows += [(e.seq, INSERT_EVENT,
                      (batch.call_id, e.seq, e.kind, _dumps(dict(e.payload)), e.at))
                     for e in batch.events]
            if batch.outcome is not None:
                rows.append((batch.outcome.source_seq or 0, UPSERT_DRAFT_OUTCOME,
                             _outcome_args(batch.call_id, batch.outcome)))
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
        """The whole record: call, turns, events, outcome and revisions, JSON-ready."""
        async with self.pool.acquire() as conn:
            call = await conn.fetchrow(GET_CALL, call_id)
            if call is None:
                return None
            turns = await conn.fetch(GET_TURNS, call_id)
            events = await conn.fetch(GET_EVENTS, call_id)
            outcome = await conn.fetchrow(GET_OUTCOME, call_id)
            revisions = await conn.fetch(GET_REVISIONS, call_id)
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
                       "at": _iso(t["at"])} for t in turns],
            "events": [{"seq": int(e["seq"]), "kind": e["kind"], "payload": _loads(e["payload"]),
                        "at": _iso(e["at"])} for e in events],
            "outcome": None if outcome is None else {
                **outcome_snapshot(outcome), "revision": int(outcome["revision"]),
                "source_seq": outcome["source_seq"],
                "created_at": _iso(outcome["created_at"]),
                "updated_at": _iso(outcome["updated_at"]),
            },
            "revisions": [{
                "revision": int(r["revision"]), "action": r["action"],
                "changed_by": r["changed_by"], "changed_at": _iso(r["changed_at"]),
                "before": _loads(r["before"]), "after": _loads(r["after"]),
            } for r in revisions],
        }

    # --- review --------------------------------------------------------------------------------

    async def store_draft_outcome(self, call_id: str, draft: OutcomeDraft) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(ENSURE_CALL, call_id)
            await conn.execute(UPSERT_DRAFT_OUTCOME, *_outcome_args(call_id, draft))

    async def revise_outcome(self, call_id: str, action: str, by: str, at: datetime,
                             change: Any) -> tuple[dict[str, Any], bool]:
        """Apply `change(snapshot) -> new snapshot | None` under a row lock; a new snapshot is
        saved with a revision row (who, when, before, after). Returns (snapshot, changed)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(GET_OUTCOME_FOR_UPDATE, call_id)
            if row is None:
                raise OutcomeNotFoundError(call_id)
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
                datetime.fromisoformat(approved_at) if approved_at else None, revision)
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
