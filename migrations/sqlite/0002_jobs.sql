-- Jobs, their logs, pending confirmations, feature flags, and the server's own keys.

-- One row per run of a command. `args` holds the validated arguments (name -> text) needed to
-- run it; people only ever see the redacted form. A runner claims a queued job by setting
-- status = 'running' with its lease; a job whose lease ran out is recovered by any replica.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant           TEXT NOT NULL,
    command          TEXT NOT NULL,
    args             TEXT NOT NULL,
    environment      TEXT,
    requester        TEXT NOT NULL,
    requester_user   TEXT NOT NULL,
    approvers        TEXT NOT NULL DEFAULT '[]',
    dry_run          INTEGER NOT NULL DEFAULT 0,
    reason           TEXT,
    channel          TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    lease_owner      TEXT,
    lease_expires_ms INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    pid              INTEGER,
    message_channel  TEXT,
    message_id       TEXT,
    retry_of         INTEGER,
    request_id       TEXT NOT NULL
);
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_tenant ON jobs (tenant, id);

-- The append-only log of each job.
CREATE TABLE job_logs (
    job_id INTEGER NOT NULL,
    seq    INTEGER NOT NULL,
    at     TEXT NOT NULL,
    stream TEXT NOT NULL,
    text   TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- A high-risk command waiting for its requester to click Confirm (or Cancel).
CREATE TABLE confirmations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant         TEXT NOT NULL,
    command        TEXT NOT NULL,
    args           TEXT NOT NULL,
    reason         TEXT,
    requester      TEXT NOT NULL,
    requester_user TEXT NOT NULL,
    channel        TEXT NOT NULL DEFAULT '',
    plan           TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_ms     INTEGER NOT NULL,
    job_id         INTEGER
);

-- Feature flags per tenant and environment.
CREATE TABLE flags (
    tenant      TEXT NOT NULL,
    environment TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, environment, name)
);

-- Keys the server generates for itself (the job-link signing key), shared by every replica.
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);
