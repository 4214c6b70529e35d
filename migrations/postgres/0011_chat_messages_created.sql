-- When each delivered message was remembered, so that `chat_messages` can be purged after its
-- retention (WARDEN_RETENTION_CHAT_MESSAGES). Rows written before this migration, or by an
-- older replica during a rolling upgrade, read 0: old, and purged once nothing live uses them.
ALTER TABLE chat_messages ADD COLUMN created_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX chat_messages_created ON chat_messages (created_ms);
