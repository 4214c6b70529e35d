-- The pacing bucket of each outbox lane (chat channel), shared by every process on this
-- database: `tokens` left at `at_ms`. It is read and updated in the transaction that claims
-- the lane's next row, so several replicas pace one channel together.
CREATE TABLE outbox_pacing (
    lane   TEXT PRIMARY KEY NOT NULL,
    tokens REAL NOT NULL,
    at_ms  INTEGER NOT NULL
);
