-- Scheduled commands (SPEC §17). Expand only: two new tables.

-- One row per slot of a schedule that has fired (or, with `baseline = 1`, the slot that was
-- current when the schedule was first seen, which does not fire). A slot is claimed in the
-- transaction that records its run, so it fires once however many replicas tick; the latest
-- row tells when the schedule last fired.
CREATE TABLE schedule_slots (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    slot_ms INTEGER NOT NULL,
    fired_ms INTEGER NOT NULL,
    baseline INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, name, slot_ms)
);

-- A paused schedule: present while paused, read by every replica at every tick.
CREATE TABLE schedule_pauses (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    paused_by TEXT NOT NULL,
    paused_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
);
