-- The Discord Gateway's lease (SPEC §14). Expand only: one new table.

-- One row per transport that only one replica may hold at a time (today: `discord_gateway`,
-- since Discord gives an application's interactions to one Gateway session). `owner` names
-- the replica holding it (host/pid/random), `expires_ms` when the lease lapses unless
-- renewed (Unix milliseconds, by the holder's clock). The holder closes its session before
-- `expires_ms` when it cannot renew, so a replica that takes a lapsed lease never overlaps it.
CREATE TABLE transport_leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
