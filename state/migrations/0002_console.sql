-- The operator console: accounts and server-side sessions, bookings as rows of their own, what
-- the list filters on, and a version on each outcome for optimistic concurrency.

CREATE TABLE console_users (
    user_id       bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    role          text NOT NULL CHECK (role IN ('operator', 'supervisor', 'admin')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- the cookie holds a random token; only its SHA-256 is stored, so a database dump signs no one in
CREATE TABLE console_sessions (
    token_hash  text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES console_users (user_id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_id);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- appointments and callbacks the booking backend confirmed, from the call's outcome
CREATE TABLE bookings (
    call_id    text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    reference  text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('appointment', 'callback')),
    booked_for text,
    booked_at  timestamptz NOT NULL,
    PRIMARY KEY (call_id, reference)
);

ALTER TABLE transcript_turns ADD COLUMN interrupted boolean NOT NULL DEFAULT false;

ALTER TABLE outcomes
    ADD COLUMN unconfirmed_fields jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- bumped by every write to the row: an editor's save names the version it started from
    ADD COLUMN version integer NOT NULL DEFAULT 1;

-- list filters and search
CREATE INDEX calls_caller_number_idx ON calls (caller_number);
CREATE INDEX calls_call_id_pattern_idx ON calls (call_id text_pattern_ops);
CREATE INDEX outcomes_escalated_idx ON outcomes (call_id) WHERE escalation_reason IS NOT NULL;
CREATE INDEX outcomes_incomplete_idx ON outcomes (call_id)
    WHERE missing_fields <> '[]'::jsonb OR unconfirmed_fields <> '[]'::jsonb;
CREATE INDEX outcome_revisions_edits_idx ON outcome_revisions (call_id) WHERE action = 'edit';

-- an admin may reopen an approved outcome; that is a revision too
ALTER TABLE outcome_revisions DROP CONSTRAINT outcome_revisions_action_check,
    ADD CONSTRAINT outcome_revisions_action_check
        CHECK (action IN ('edit', 'approve', 'reopen'));
