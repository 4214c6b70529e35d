-- Updates look up their post by key while claiming; index it.
CREATE INDEX outbox_key ON outbox (key, kind, status);
