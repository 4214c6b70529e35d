-- Alerts from monitoring (SPEC §15). Expand only: two new tables.

-- One row per alert, known by its tenant and fingerprint: its card (outbox key `alert:ID`)
-- is posted once and edited as the alert fires, resolves and fires again. `alert` is the
-- latest payload as warden's neutral JSON; `actions` the buttons the card offers, filled in
-- from the alert when they were shown, so that a click runs what the card showed. A folded
-- alert (a storm) has no card of its own: `storm` names the summary card it is counted on.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    source TEXT NOT NULL,
    route INTEGER NOT NULL,
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    alert TEXT NOT NULL,
    actions TEXT NOT NULL,
    storm INTEGER,
    fired_ms INTEGER NOT NULL,
    resolved_ms INTEGER,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (tenant, fingerprint)
);
CREATE INDEX alerts_firing ON alerts (tenant, status);

-- New cards per route and minute: past the route's `storm` threshold, the minute's further
-- alerts are folded into one summary card (outbox key `alert-storm:ID`), edited as more
-- arrive, so a storm cannot flood a channel or the outbox.
CREATE TABLE alert_storms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    source TEXT NOT NULL,
    route INTEGER NOT NULL,
    minute INTEGER NOT NULL,
    cards INTEGER NOT NULL,
    folded INTEGER NOT NULL DEFAULT 0,
    channel TEXT NOT NULL,
    UNIQUE (tenant, source, route, minute)
);
