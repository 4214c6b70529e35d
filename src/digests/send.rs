//! Building and posting digests: the IO half of `digests`.
//!
//! The summary is read and the tenant's chain verified before the write transaction starts
//! (reads go to other pool connections and do not hold the write lock); then one transaction
//! claims the slot, enqueues the digest (and, when the chain is broken, an alert) and appends
//! the `digest.sent` event. A replica that loses the claim rolls back and sends nothing.

use anyhow::Context;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::json;

use crate::audit::summary::{summarize, Summary};
use crate::audit::verify::{Broken, Verifier};
use crate::audit::{AuditEvent, NewEvent};
use crate::chat::Message;
use crate::config::{Digest, Directory};
use crate::model::ChannelRef;
use crate::outbox::{Delivery, Outbound};
use crate::storage::Store;

/// How far before a window events are read to look up the command of a job and when an
/// approval was requested.
pub const LOOKBACK_DAYS: i64 = 7;

/// Sends every `[[digests]]` entry whose slot is due at `now`. Returns how many were sent by
/// this call; a slot that another replica claimed first is not counted. A digest that cannot
/// be sent is logged and the others are still tried.
pub async fn tick(
    store: &Store,
    directory: &Directory,
    public_url: &str,
    link_key: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    for digest in &directory.digests {
        match tick_one(store, directory, digest, public_url, link_key, now).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(error) => tracing::warn!(
                tenant.id = %digest.tenant,
                digest.channel = %digest.channel,
                "sending a scheduled digest failed: {error:#}"
            ),
        }
    }
    Ok(sent)
}

async fn tick_one(
    store: &Store,
    directory: &Directory,
    digest: &Digest,
    public_url: &str,
    link_key: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let channel = digest.channel.to_string();
    let last = store.last_digest_slot(&digest.tenant, &channel).await?;
    let Some(slot) = super::due(&digest.schedule, last, now) else {
        return Ok(false);
    };
    let (from, to) = super::window(&digest.schedule, slot);
    let link = job_linker(public_url, link_key, &digest.tenant, now);
    let summary = summary_for(store, &digest.tenant, from, to, &link).await?;
    let post = Post {
        tenant: &digest.tenant,
        channel: &digest.channel,
        alert_channel: alert_channel(directory, &digest.tenant),
        target: slot.to_rfc3339_opts(SecondsFormat::Secs, true),
        trigger: format!("schedule {}", digest.schedule),
    };
    post.commit(store, Some(slot), &summary, now).await
}

/// Sends one digest of `tenant` for the last 24 hours now, without a slot, to the channel of
/// its first `[[digests]]` entry or else its `audit_channel` (`warden digest send`). It is
/// audited like a scheduled one, and alerts the same way when the chain is broken.
pub async fn send_now(
    store: &Store,
    directory: &Directory,
    public_url: &str,
    link_key: &[u8],
    tenant: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let known = directory
        .tenants
        .get(tenant)
        .with_context(|| format!("unknown tenant `{tenant}`"))?;
    let channel = directory
        .digests
        .iter()
        .find(|d| d.tenant == tenant)
        .map(|d| d.channel.clone())
        .or_else(|| known.audit_channel.clone())
        .with_context(|| {
            format!("tenant `{tenant}` has no [[digests]] entry and no audit_channel to post to")
        })?;
    let link = job_linker(public_url, link_key, tenant, now);
    let summary = summary_for(store, tenant, now - Duration::hours(24), now, &link).await?;
    let post = Post {
        tenant,
        channel: &channel,
        alert_channel: alert_channel(directory, tenant),
        target: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        trigger: "manual".to_string(),
    };
    post.commit(store, None, &summary, now).await?;
    Ok(())
}

/// Reads `tenant`'s events of `[from, to)` (and [`LOOKBACK_DAYS`] before, for lookups),
/// verifies its whole chain in the same pass, and summarises them.
pub async fn summary_for(
    store: &Store,
    tenant: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    job_link: &(dyn Fn(i64) -> String + Sync),
) -> anyhow::Result<Summary> {
    let read_from = from - Duration::days(LOOKBACK_DAYS);
    let mut verifier = Verifier::default();
    let mut broken: Option<Broken> = None;
    let mut events: Vec<AuditEvent> = Vec::new();
    store
        .for_each_audit_event(Some(tenant), |event| {
            if broken.is_none() {
                if let Err(b) = verifier.push(&event) {
                    broken = Some(b);
                }
            }
            let at = DateTime::parse_from_rfc3339(&event.at).map(|t| t.with_timezone(&Utc));
            if at.is_ok_and(|at| at >= read_from && at < to) {
                events.push(event);
            }
            Ok(())
        })
        .await
        .with_context(|| format!("reading the audit log of `{tenant}`"))?;
    let chain = match broken {
        Some(b) => Err(b),
        None => {
            let heads: Vec<_> = store
                .audit_heads()
                .await?
                .into_iter()
                .filter(|h| h.tenant == tenant)
                .collect();
            verifier.finish(&heads)
        }
    };
    Ok(summarize(
        &events,
        tenant,
        from,
        to,
        chain.map_err(|b| b.to_string()),
        job_link,
    ))
}

fn job_linker<'a>(
    public_url: &'a str,
    key: &'a [u8],
    tenant: &'a str,
    now: DateTime<Utc>,
) -> impl Fn(i64) -> String + 'a {
    move |id| crate::links::job_url(public_url, key, tenant, id, now.timestamp())
}

fn alert_channel(directory: &Directory, tenant: &str) -> Option<ChannelRef> {
    directory
        .tenants
        .get(tenant)
        .and_then(|t| t.alert_channel.clone())
}

/// One digest about to be written.
struct Post<'a> {
    tenant: &'a str,
    channel: &'a ChannelRef,
    alert_channel: Option<ChannelRef>,
    /// The `digest.sent` event's target: the slot, or the time of a manual send.
    target: String,
    trigger: String,
}

impl Post<'_> {
    /// In one transaction: claims `slot` (when given; returns false if it was taken), enqueues
    /// the digest and, when the chain is broken, the alert, and appends `digest.sent`.
    async fn commit(
        &self,
        store: &Store,
        slot: Option<DateTime<Utc>>,
        summary: &Summary,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let channel = self.channel.to_string();
        let mut tx = store.begin().await?;
        if let Some(slot) = slot {
            if !tx
                .claim_digest_slot(self.tenant, &channel, slot, now)
                .await?
            {
                return Ok(false);
            }
        }
        let digest = Outbound {
            tenant: self.tenant.to_string(),
            delivery: Delivery::Post {
                channel: self.channel.clone(),
                key: None,
                fallback: None,
                thread: None,
            },
            message: Message {
                text: summary.text(),
                buttons: Vec::new(),
            },
            important: false,
        };
        tx.enqueue(&digest, now).await?;
        let mut alerted = false;
        if let Err(at) = &summary.chain {
            match &self.alert_channel {
                Some(alert) => {
                    tx.enqueue(&broken_chain_alert(self.tenant, alert, at), now)
                        .await?;
                    alerted = true;
                }
                None => tracing::warn!(
                    tenant.id = %self.tenant,
                    "the audit chain is broken but the tenant has no alert_channel"
                ),
            }
        }
        let mut details = summary.details();
        details["trigger"] = json!(self.trigger);
        details["alerted"] = json!(alerted);
        tx.append_audit(
            NewEvent {
                tenant: self.tenant.to_string(),
                actor: "warden".to_string(),
                kind: "digest.sent".to_string(),
                target: self.target.clone(),
                channel,
                request_id: String::new(),
                details,
            },
            now,
        );
        tx.commit().await?;
        Ok(true)
    }
}

/// The important alert posted when a tenant's audit chain does not verify.
fn broken_chain_alert(tenant: &str, channel: &ChannelRef, at: &str) -> Outbound {
    Outbound {
        tenant: tenant.to_string(),
        delivery: Delivery::Post {
            channel: channel.clone(),
            key: None,
            fallback: None,
            thread: None,
        },
        message: Message {
            text: format!(
                "ALERT: the audit chain of tenant `{tenant}` is BROKEN at {at}\n\
                 An event was altered, removed or inserted outside warden. \
                 Run `warden audit verify` and follow the runbook."
            ),
            buttons: Vec::new(),
        },
        important: true,
    }
}
