-- The foundation: replay keys, rate-limit uses and the audit chain.

-- One row per verified request that was acted on, keyed by its Slack signature, Discord
-- interaction id or Events API event id. A second request with the same key is answered but
-- never acted on again. Rows are purged after expires_at (Unix seconds), once the signature
-- window has closed and a replay would be rejected as stale anyway.
CREATE TABLE replay_keys (
    key        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX replay_keys_expires ON replay_keys (expires_at);

-- One row per accepted use of a rate-limited command, counted in a sliding window.
CREATE TABLE rate_uses (
    tenant    TEXT NOT NULL,
    principal TEXT NOT NULL,
    command   TEXT NOT NULL,
    at_ms     INTEGER NOT NULL
);
CREATE INDEX rate_uses_key ON rate_uses (tenant, principal, command, at_ms);

-- The audit log: append-only, chained per tenant by prev_hash/hash (see src/audit/chain.rs).
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL,
    channel    TEXT NOT NULL,
    request_id TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    UNIQUE (tenant, seq)
);
CREATE INDEX audit_events_tenant_kind ON audit_events (tenant, kind, id);

-- Where each tenant's chain ends; written in the same transaction as the event it points at.
CREATE TABLE audit_heads (
    tenant TEXT PRIMARY KEY NOT NULL,
    seq    INTEGER NOT NULL,
    hash   TEXT NOT NULL
);

-- Append-only, enforced by the database: anything that wants to change history must first
-- drop these triggers, and then `warden audit verify` still names the altered event.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
