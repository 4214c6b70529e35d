-- Approval requests, their votes, and the bindings granted at run time (access requests and
-- break-glass).

-- One row per request for approval. `policy` is the approval rule frozen at request time;
-- `plan_hash` is what the approvers sign off on (command, arguments, environment, plan).
-- `kind` is 'command' (a job on approval) or 'access' (a binding on approval).
CREATE TABLE approvals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    command         TEXT NOT NULL,
    args            TEXT NOT NULL,
    environment     TEXT,
    reason          TEXT,
    requester       TEXT NOT NULL,
    requester_user  TEXT NOT NULL,
    channel         TEXT NOT NULL DEFAULT '',
    plan            TEXT NOT NULL,
    plan_hash       TEXT NOT NULL,
    policy          TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_ms      INTEGER NOT NULL,
    decided_at      TEXT,
    deny_reason     TEXT,
    job_id          INTEGER,
    binding_id      INTEGER,
    message_channel TEXT,
    message_id      TEXT,
    request_id      TEXT NOT NULL
);
CREATE INDEX approvals_pending ON approvals (status, expires_ms);
CREATE INDEX approvals_tenant ON approvals (tenant, id);

-- One vote per distinct voter (a person counts once, whichever platform they click from).
CREATE TABLE approval_votes (
    approval_id INTEGER NOT NULL,
    voter       TEXT NOT NULL,
    decision    TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (approval_id, voter)
);

-- Role bindings granted at run time; the ones in warden.toml live in the config.
CREATE TABLE bindings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    role         TEXT NOT NULL,
    environments TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL,
    source       TEXT NOT NULL,
    granted_by   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_by   TEXT
);
CREATE INDEX bindings_active ON bindings (tenant, expires_ms);
