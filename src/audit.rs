//! The audit log: append-only, per-tenant SHA-256 chains (`chain`), their verification
//! (`verify`), search filters (`search`), summaries for digests (`summary`), and the event
//! types shared with storage and the CLI.
//!
//! Every state change writes its event in the same transaction as the change (see
//! `storage::Tx::append_audit`). Events are never updated or deleted; the SQLite schema also
//! refuses UPDATE and DELETE with triggers, and `warden audit verify` catches what bypasses them.

pub mod chain;
pub mod search;
pub mod summary;
pub mod verify;

use serde::Serialize;

/// The chain that records requests from workspaces or guilds that belong to no tenant.
pub const SYSTEM_TENANT: &str = "_system";

/// An event about to be written. The storage layer assigns the id, the sequence number, the
/// time and the hashes.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The tenant whose chain receives the event.
    pub tenant: String,
    /// Who did it: a person's name or a platform identity.
    pub actor: String,
    /// The event kind, e.g. `command.invoked`.
    pub kind: String,
    /// What it is about, e.g. the command name or `J-42`.
    pub target: String,
    /// Where it happened, e.g. `slack:C01`, or empty.
    pub channel: String,
    /// The request that caused it.
    pub request_id: String,
    /// Structured details; secrets must already be redacted by the caller.
    pub details: serde_json::Value,
}

/// An event as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// The global id, shown to people as `E-{id}`.
    pub id: i64,
    /// The tenant whose chain holds it.
    pub tenant: String,
    /// Its 1-based position in that chain.
    pub seq: i64,
    /// UTC time, RFC 3339 with milliseconds.
    pub at: String,
    /// Who did it.
    pub actor: String,
    /// What happened.
    pub kind: String,
    /// What it happened to.
    pub target: String,
    /// Where it happened.
    pub channel: String,
    /// The request that caused it.
    pub request_id: String,
    /// Canonical JSON text of the details.
    pub details: String,
    /// The hash of the previous event of the same tenant, or `chain::GENESIS`.
    pub prev_hash: String,
    /// The hash of this event.
    pub hash: String,
}

impl AuditEvent {
    /// The id as people see it: `E-1033`.
    pub fn display_id(&self) -> String {
        format!("E-{}", self.id)
    }

    /// The fields the chain hash covers.
    pub fn chained(&self) -> chain::ChainedFields<'_> {
        chain::ChainedFields {
            tenant: &self.tenant,
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            kind: &self.kind,
            target: &self.target,
            channel: &self.channel,
            request_id: &self.request_id,
            details: &self.details,
        }
    }

    /// One JSON object for `warden audit export --format jsonl`; `details` is embedded as JSON,
    /// not as a string, so that tools like jq can query it.
    pub fn to_export_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.display_id(),
            "tenant": self.tenant,
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "kind": self.kind,
            "target": self.target,
            "channel": self.channel,
            "request_id": self.request_id,
            "details": serde_json::from_str::<serde_json::Value>(&self.details)
                .unwrap_or_else(|_| serde_json::Value::String(self.details.clone())),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        })
    }

    /// One line for `warden audit tail`.
    pub fn to_line(&self) -> String {
        format!(
            "{} {} [{}] {} {} {} {}",
            self.display_id(),
            self.at,
            self.tenant,
            self.actor,
            self.kind,
            self.target,
            self.details
        )
    }
}

/// Where a tenant's chain ends, as recorded in the same transaction as its last event. It lets
/// verification notice events removed from the end of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The tenant.
    pub tenant: String,
    /// The sequence number of its last event.
    pub seq: i64,
    /// The hash of its last event.
    pub hash: String,
}
