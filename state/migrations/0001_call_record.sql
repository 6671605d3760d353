-- The system of record for calls. Every row written from the live stream is keyed by
-- (call_id, seq), so replaying the stream never creates a duplicate.

CREATE TABLE calls (
    call_id        text PRIMARY KEY,
    room           text NOT NULL DEFAULT '',
    worker_id      text,
    status         text NOT NULL DEFAULT 'active',
    caller_number  text,
    playbook       text,
    metadata       jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- the playbook's retention days at the time of the call; NULL means the operator's default
    retention_days integer CHECK (retention_days IS NULL OR retention_days >= 0),
    -- where the call's audio lives (object store URI); cleared by retention
    recording_uri  text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    purged_at      timestamptz
);
CREATE INDEX calls_started_at_idx ON calls (started_at DESC);

CREATE TABLE transcript_turns (
    call_id    text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    seq        bigint NOT NULL CHECK (seq > 0),
    role       text NOT NULL,
    text       text NOT NULL,
    at         timestamptz NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (call_id, seq)
);

-- every event that is not a transcript turn: tool calls, slot changes, escalations, takeovers
CREATE TABLE call_events (
    call_id    text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    seq        bigint NOT NULL CHECK (seq > 0),
    kind       text NOT NULL,
    payload    jsonb NOT NULL,
    at         timestamptz NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE outcomes (
    call_id                 text PRIMARY KEY REFERENCES calls (call_id) ON DELETE CASCADE,
    fields                  jsonb NOT NULL DEFAULT '{}'::jsonb,
    missing_fields          jsonb NOT NULL DEFAULT '[]'::jsonb,
    escalation_reason       text,
    recommended_next_action text,
    approval_status         text NOT NULL DEFAULT 'draft'
                            CHECK (approval_status IN ('draft', 'approved')),
    approved_by             text,
    approved_at             timestamptz,
    revision                integer NOT NULL DEFAULT 0,
    -- the stream seq the draft came from: a replayed older draft never overwrites a newer one
    source_seq              bigint,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outcomes_approval_status_idx ON outcomes (approval_status);

CREATE TABLE outcome_revisions (
    call_id    text NOT NULL REFERENCES outcomes (call_id) ON DELETE CASCADE,
    revision   integer NOT NULL,
    action     text NOT NULL CHECK (action IN ('edit', 'approve')),
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    before     jsonb NOT NULL,
    after      jsonb NOT NULL,
    PRIMARY KEY (call_id, revision)
);
