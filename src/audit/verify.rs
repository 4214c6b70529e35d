//! Walks the audit chains and names the first event that was altered, removed or inserted.

use std::collections::HashMap;

use super::chain::{event_hash, GENESIS};
use super::{AuditEvent, ChainHead};

/// The first break found, in the order events were written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {reason}")]
pub struct Broken {
    /// `E-n`, or `tenant X` when the break is at the end of a chain.
    pub location: String,
    /// What is wrong, in one sentence.
    pub reason: String,
}

/// A streaming verifier: feed events in id order with `push`, then call `finish` with the chain
/// heads. Memory stays proportional to the number of tenants, not events.
#[derive(Debug, Default)]
pub struct Verifier {
    last: HashMap<String, (i64, String)>,
    events: u64,
}

impl Verifier {
    /// Checks one event against its predecessor in the same tenant's chain.
    pub fn push(&mut self, event: &AuditEvent) -> Result<(), Broken> {
        let broken = |reason: String| Broken {
            location: event.display_id(),
            reason,
        };
        let (prev_seq, prev_hash) = self
            .last
            .get(&event.tenant)
            .cloned()
            .unwrap_or((0, GENESIS.to_string()));
        if event.seq != prev_seq + 1 {
            return Err(broken(format!(
                "tenant `{}` expected seq {} but found {}: events were removed or inserted before it",
                event.tenant,
                prev_seq + 1,
                event.seq
            )));
        }
        if event.prev_hash != prev_hash {
            return Err(broken(format!(
                "prev_hash does not match the hash of the previous `{}` event: an earlier event was altered, removed or inserted",
                event.tenant
            )));
        }
        let computed = event_hash(&event.prev_hash, &event.chained());
        if computed != event.hash {
            return Err(broken(
                "its content does not match its hash: the event was altered".to_string(),
            ));
        }
        self.last
            .insert(event.tenant.clone(), (event.seq, event.hash.clone()));
        self.events += 1;
        Ok(())
    }

    /// Compares where each chain ended with the recorded heads, which catches events removed
    /// from the end of a chain. Returns the number of events verified.
    pub fn finish(self, heads: &[ChainHead]) -> Result<u64, Broken> {
        for head in heads {
            let (seq, hash) = self
                .last
                .get(&head.tenant)
                .cloned()
                .unwrap_or((0, GENESIS.to_string()));
            if seq != head.seq || hash != head.hash {
                return Err(Broken {
                    location: format!("tenant `{}`", head.tenant),
                    reason: format!(
                        "the chain ends at seq {seq} but its head records seq {}: events were removed from the end, or the head was altered",
                        head.seq
                    ),
                });
            }
        }
        for tenant in self.last.keys() {
            if !heads.iter().any(|h| &h.tenant == tenant) {
                return Err(Broken {
                    location: format!("tenant `{tenant}`"),
                    reason: "the chain has events but no recorded head: the head was removed"
                        .to_string(),
                });
            }
        }
        Ok(self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> (Vec<AuditEvent>, Vec<ChainHead>) {
        let mut prev = GENESIS.to_string();
        let mut out = Vec::new();
        for i in 1..=n {
            let mut e = AuditEvent {
                id: i,
                tenant: "acme".into(),
                seq: i,
                at: "2026-11-22T00:00:00.000Z".into(),
                actor: "alice".into(),
                kind: "command.invoked".into(),
                target: "help".into(),
                channel: String::new(),
                request_id: format!("r{i}"),
                details: "{}".into(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = event_hash(&e.prev_hash, &e.chained());
            prev = e.hash.clone();
            out.push(e);
        }
        let head = ChainHead {
            tenant: "acme".into(),
            seq: n,
            hash: prev,
        };
        (out, vec![head])
    }

    fn run(events: &[AuditEvent], heads: &[ChainHead]) -> Result<u64, Broken> {
        let mut v = Verifier::default();
        for e in events {
            v.push(e)?;
        }
        v.finish(heads)
    }

    #[test]
    fn intact_chain_verifies() {
        let (events, heads) = chain(5);
        assert_eq!(run(&events, &heads), Ok(5));
    }

    #[test]
    fn altered_removed_and_truncated_are_named() {
        let (mut events, heads) = chain(5);
        events[2].details = "{\"x\":1}".into();
        assert_eq!(run(&events, &heads).unwrap_err().location, "E-3");

        let (mut events, heads) = chain(5);
        events.remove(1);
        assert_eq!(run(&events, &heads).unwrap_err().location, "E-3");

        let (mut events, heads) = chain(5);
        events.pop();
        assert_eq!(run(&events, &heads).unwrap_err().location, "tenant `acme`");

        let (events, _) = chain(2);
        assert!(run(&events, &[]).is_err());
    }
}
