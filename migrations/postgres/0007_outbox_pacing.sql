-- PostgreSQL twin of migrations/sqlite/0007_outbox_pacing.sql.
-- The pacing bucket of each outbox lane (chat channel), shared by every process on this
-- database: `tokens` left at `at_ms`. It is read and updated in the transaction that claims
-- the lane's next row, so several replicas pace one channel together.
CREATE TABLE outbox_pacing (
    lane   TEXT PRIMARY KEY NOT NULL,
    tokens DOUBLE PRECISION NOT NULL,
    at_ms  BIGINT NOT NULL
);
