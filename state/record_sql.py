"""The SQL of the system of record's writer, review and retention (state.postgres_record runs it).

The console's reads are in state/console_queries.py, its accounts in state/accounts.py.
"""

from __future__ import annotations

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
INSERT INTO transcript_turns (call_id, seq, role, text, at, interrupted)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (call_id, seq) DO NOTHING
"""

INSERT_EVENT = """
INSERT INTO call_events (call_id, seq, kind, payload, at) VALUES ($1, $2, $3, $4::jsonb, $5)
ON CONFLICT (call_id, seq) DO NOTHING
"""

# a replayed older draft never overwrites a newer one, and never an operator's edit
UPSERT_DRAFT_OUTCOME = """
INSERT INTO outcomes (call_id, fields, missing_fields, escalation_reason,
                      recommended_next_action, source_seq, unconfirmed_fields)
VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, $6, $7::jsonb)
ON CONFLICT (call_id) DO UPDATE SET
    fields = EXCLUDED.fields,
    missing_fields = EXCLUDED.missing_fields,
    unconfirmed_fields = EXCLUDED.unconfirmed_fields,
    version = outcomes.version + 1,
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

INSERT_BOOKING = """
INSERT INTO bookings (call_id, reference, kind, booked_for, booked_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (call_id, reference) DO NOTHING
"""

GET_CALL = "SELECT * FROM calls WHERE call_id = $1"
GET_TURNS = """
SELECT seq, role, text, at, interrupted FROM transcript_turns WHERE call_id = $1 ORDER BY seq
"""
GET_BOOKINGS = """
SELECT reference, kind, booked_for, booked_at FROM bookings WHERE call_id = $1
ORDER BY booked_at, reference
"""
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
    revision = $9, unconfirmed_fields = $10::jsonb, version = version + 1, updated_at = now()
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
RETENTION_SELECT = f"SELECT c.call_id {RETENTION_SCOPE} ORDER BY c.call_id"
RETENTION_DELETE_TURNS = "DELETE FROM transcript_turns WHERE call_id = ANY($1::text[])"
RETENTION_DELETE_EVENTS = "DELETE FROM call_events WHERE call_id = ANY($1::text[])"
RETENTION_MARK_CALLS = """
UPDATE calls SET recording_uri = NULL, purged_at = $2, updated_at = now()
WHERE call_id = ANY($1::text[])
"""


