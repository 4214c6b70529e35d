-- Conversations in threads (SPEC §13): every message about a piece of work is a reply under
-- its card. Expand only: every column is nullable, so older rows mean "no thread".

-- The card key a row waits for: a thread reply is posted under that card, and a post that
-- links to a card's thread (a failure alert) carries its link. Like an update waiting for its
-- post, such a row is not claimable until the card's message id is known (or its post ended
-- without one, when the row falls back to a top-level post).
ALTER TABLE outbox ADD COLUMN parent TEXT;

-- Discord: the thread started from the card (replies are posted to it). Both platforms: a
-- link to the card, for alerts, the job page and audit searches.
ALTER TABLE chat_messages ADD COLUMN thread_id TEXT;
ALTER TABLE chat_messages ADD COLUMN link TEXT;

-- The card a job's story is told on when it is not the job's own message: the approval's
-- card for a job it created, the first job's card for a retry.
ALTER TABLE jobs ADD COLUMN card TEXT;

-- When the one reminder of a pending approval was posted (Unix ms), so that it is posted once
-- across replicas.
ALTER TABLE approvals ADD COLUMN reminded_ms INTEGER;
