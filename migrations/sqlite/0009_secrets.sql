-- Secrets at rest (SPEC §16): the values of `secret = true` arguments are kept apart from the
-- arguments (which hold `[redacted]` in their place), sealed with WARDEN_ENCRYPTION_KEYS and
-- bound to their row, and erased once nothing can need them any more. Expand only.
ALTER TABLE jobs ADD COLUMN secrets TEXT;
ALTER TABLE confirmations ADD COLUMN secrets TEXT;
ALTER TABLE approvals ADD COLUMN secrets TEXT;
