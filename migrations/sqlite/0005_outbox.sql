-- The durable outbox: every outgoing chat message is a row, written in the same transaction as
-- the state change that caused it, then delivered (with retries) by a dispatcher.

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT NOT NULL,
    -- 'post' (a new message in `channel`), 'update' (edit the message posted under `key`),
    -- 'reply' (answer through a request's response_url / follow-up in `reply_to`).
    kind            TEXT NOT NULL,
    -- The ordering lane: messages of one lane are delivered in id order ('slack:C01', or the
    -- reply handle's lane for replies).
    lane            TEXT NOT NULL,
    channel         TEXT,
    -- A post remembers the delivered message under `key`; an update edits the message of `key`
    -- and waits until it has been posted.
    key             TEXT,
    reply_to        TEXT,
    -- Where to answer instead when the post fails for good (the bot is not in the channel).
    fallback        TEXT,
    message         TEXT NOT NULL,
    important       INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_expires_ms INTEGER,
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    delivered_ms    INTEGER
);
CREATE INDEX outbox_ready ON outbox (status, next_attempt_ms, id);
CREATE INDEX outbox_lane ON outbox (lane, status, id);

-- Messages delivered from the outbox, by key, so later updates can edit them in place.
CREATE TABLE chat_messages (
    key        TEXT PRIMARY KEY NOT NULL,
    channel    TEXT NOT NULL,
    message_id TEXT NOT NULL
);

-- Digest slots that have been claimed: a slot fires once, whatever the number of replicas.
CREATE TABLE digest_slots (
    tenant  TEXT NOT NULL,
    channel TEXT NOT NULL,
    slot_ms INTEGER NOT NULL,
    sent_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, channel, slot_ms)
);
