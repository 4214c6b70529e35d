//! The hash chain: how an audit event's hash is computed from its fields and its predecessor's
//! hash. Pure functions, shared by the writer (storage) and the verifier.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event of every tenant's chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an event that the chain protects. The global id is not among them: it is
/// assigned by the database on insert, and the per-tenant `seq` already fixes the order.
#[derive(Debug, Clone, Serialize)]
pub struct ChainedFields<'a> {
    /// The tenant whose chain this event belongs to (`_system` for unknown workspaces).
    pub tenant: &'a str,
    /// The 1-based position of the event in its tenant's chain.
    pub seq: i64,
    /// UTC time, RFC 3339 with milliseconds.
    pub at: &'a str,
    /// Who did it.
    pub actor: &'a str,
    /// What happened (`command.invoked`, …).
    pub kind: &'a str,
    /// What it happened to.
    pub target: &'a str,
    /// Where it happened (platform channel), or empty.
    pub channel: &'a str,
    /// The request id that caused it.
    pub request_id: &'a str,
    /// The details as stored (canonical JSON text).
    pub details: &'a str,
}

/// Computes the hex SHA-256 of an event: over its predecessor's hash and a canonical JSON
/// serialization of its fields. JSON (rather than a joined string) makes field boundaries
/// unambiguous, so no two different events can serialize to the same bytes.
pub fn event_hash(prev_hash: &str, fields: &ChainedFields<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(fields).expect("plain strings always serialize"));
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(details: &str) -> ChainedFields<'_> {
        ChainedFields {
            tenant: "acme",
            seq: 1,
            at: "2026-11-22T00:00:00.000Z",
            actor: "alice",
            kind: "command.invoked",
            target: "help",
            channel: "slack:C1",
            request_id: "r1",
            details,
        }
    }

    #[test]
    fn hash_depends_on_every_input() {
        let base = event_hash(GENESIS, &fields("{}"));
        assert_eq!(base.len(), 64);
        assert_eq!(base, event_hash(GENESIS, &fields("{}")));
        assert_ne!(base, event_hash(GENESIS, &fields("{\"a\":1}")));
        assert_ne!(base, event_hash(&"1".repeat(64), &fields("{}")));
        let mut other = fields("{}");
        other.seq = 2;
        assert_ne!(base, event_hash(GENESIS, &other));
    }
}

/// Property tests: any single-byte change to any protected field changes the hash, so the
/// verifier (which recomputes it) finds the altered event.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        "[ -~]{0,24}|\\PC{0,12}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_single_byte_change_changes_the_hash(
            fields in prop::collection::vec(text(), 8),
            seq in 1i64..1_000_000,
            field in 0usize..8,
            position in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let hash_of = |f: &[String]| {
                event_hash(GENESIS, &ChainedFields {
                    tenant: &f[0],
                    seq,
                    at: &f[1],
                    actor: &f[2],
                    kind: &f[3],
                    target: &f[4],
                    channel: &f[5],
                    request_id: &f[6],
                    details: &f[7],
                })
            };
            let before = hash_of(&fields);
            let mut bytes = fields[field].clone().into_bytes();
            if bytes.is_empty() {
                bytes.push(byte);
            } else {
                let i = position.index(bytes.len());
                if bytes[i] == byte {
                    return Ok(());
                }
                bytes[i] = byte;
            }
            // Only a change that still reads as text can be stored in a text column.
            let Ok(changed) = String::from_utf8(bytes) else {
                return Ok(());
            };
            let mut altered = fields.clone();
            altered[field] = changed;
            prop_assert_ne!(before, hash_of(&altered));
        }
    }
}
