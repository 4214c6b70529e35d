-- Where to answer about a job when its channel cannot be posted in (the bot is not in the
-- channel, or no bot token): Slack's response_url or a Discord interaction follow-up. It is a
-- short-lived credential (30 and 15 minutes), kept only with the job it belongs to.
ALTER TABLE jobs ADD COLUMN reply_to TEXT;
