//! Taking alerts from monitoring (SPEC §15): one transaction per payload records every alert,
//! its audit event and its card's outbox rows together, so an answered webhook never loses a
//! card. Storm control counts new cards per route and minute in the same transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::alerts::card::{self, CardAction, StormCounts};
use crate::alerts::{self, Alert, AlertStatus};
use crate::audit::{NewEvent, SYSTEM_TENANT};
use crate::chat::Message;
use crate::config::{AlertRoute, AlertSource};
use crate::model::ChannelRef;
use crate::outbox::{Card, Delivery, Outbound};
use crate::storage::{AlertRow, NewAlert, StormWindow, Tx};

use super::Service;

/// What became of a payload's alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Alerts in the payload.
    pub alerts: usize,
    /// Cards posted.
    pub posted: usize,
    /// Alerts folded into a storm's summary.
    pub folded: usize,
    /// Alerts that changed nothing (a repeat).
    pub repeated: usize,
    /// Alerts resolved.
    pub resolved: usize,
    /// Alerts that fired again after resolving.
    pub reopened: usize,
    /// Alerts no route takes.
    pub unrouted: usize,
}

/// A storm window touched by this payload, written back at the end.
struct Touched<'r> {
    window: StormWindow,
    route: &'r AlertRoute,
    minute: i64,
    /// Whether its summary card was already posted before this payload.
    posted: bool,
}

impl Service {
    /// Records a payload's alerts from `source`, in one transaction.
    pub async fn ingest_alerts(
        &self,
        source: &AlertSource,
        alerts: &[Alert],
        request_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<IngestReport> {
        let now_ms = now.timestamp_millis();
        let minute = alerts::storm_minute(now_ms);
        let actor = format!("alerts:{}", source.name);
        let mut report = IngestReport {
            alerts: alerts.len(),
            ..IngestReport::default()
        };
        let mut tx = self.store.begin().await?;
        // Windows by (tenant, route) for this minute, and storms touched by id.
        let mut windows: HashMap<(String, usize), i64> = HashMap::new();
        let mut touched: BTreeMap<i64, Touched<'_>> = BTreeMap::new();
        for alert in alerts {
            let Some(route) =
                alerts::route_for(&self.directory.alert_routes, &source.name, &alert.labels)
            else {
                report.unrouted += 1;
                tx.append_audit(
                    NewEvent {
                        tenant: SYSTEM_TENANT.to_string(),
                        actor: actor.clone(),
                        kind: "alert.unrouted".to_string(),
                        target: alert.name.clone(),
                        channel: String::new(),
                        request_id: request_id.to_string(),
                        details: json!({
                            "source": source.name,
                            "fingerprint": alert.fingerprint,
                            "status": alert.status.as_str(),
                            "labels": alert.labels,
                        }),
                    },
                    now,
                );
                continue;
            };
            let event = |kind: &str, target: String, details: serde_json::Value| NewEvent {
                tenant: route.tenant.clone(),
                actor: actor.clone(),
                kind: kind.to_string(),
                target,
                channel: route.channel.to_string(),
                request_id: request_id.to_string(),
                details,
            };
            let existing = tx
                .alert_by_fingerprint(&route.tenant, &alert.fingerprint)
                .await?;
            let Some(row) = existing else {
                // A new alert: its own card while the route's minute has room, else folded.
                let key = (route.tenant.clone(), route.index);
                let window_id = match windows.get(&key) {
                    Some(id) => *id,
                    None => {
                        let w = tx
                            .storm_window(
                                &route.tenant,
                                &source.name,
                                route.index as i64,
                                minute,
                                &route.channel.to_string(),
                            )
                            .await?;
                        windows.insert(key, w.id);
                        touched.entry(w.id).or_insert(Touched {
                            window: w,
                            route,
                            minute,
                            posted: w.folded > 0,
                        });
                        w.id
                    }
                };
                let t = touched.get_mut(&window_id).expect("inserted above");
                let fold = t.window.cards >= i64::from(route.storm);
                if fold {
                    t.window.folded += 1;
                } else {
                    t.window.cards += 1;
                }
                let actions = card::actions_for(route, alert);
                let fired_ms = alert.starts_at.map_or(now_ms, |t| t.timestamp_millis());
                let resolved_ms = (alert.status == AlertStatus::Resolved)
                    .then(|| alert.ends_at.map_or(now_ms, |t| t.timestamp_millis()));
                let id = tx
                    .insert_alert(
                        &NewAlert {
                            tenant: &route.tenant,
                            fingerprint: &alert.fingerprint,
                            source: &source.name,
                            route: route.index as i64,
                            channel: &route.channel.to_string(),
                            name: &alert.name,
                            status: alert.status.as_str(),
                            alert: &serde_json::to_string(alert)?,
                            actions: &serde_json::to_string(&actions)?,
                            storm: fold.then_some(window_id),
                            fired_ms,
                            resolved_ms,
                        },
                        now_ms,
                    )
                    .await?;
                tx.append_audit(
                    event(
                        "alert.received",
                        alerts::display_id(id),
                        json!({
                            "name": alert.name,
                            "source": source.name,
                            "fingerprint": alert.fingerprint,
                            "status": alert.status.as_str(),
                            "severity": alert.severity(),
                            "folded": fold,
                        }),
                    ),
                    now,
                );
                if fold {
                    report.folded += 1;
                } else {
                    report.posted += 1;
                    let message = card::card(
                        id,
                        &source.name,
                        alert,
                        ms(fired_ms),
                        resolved_ms.map(|r| (r - fired_ms) / 1000),
                        &actions,
                    );
                    tx.enqueue(
                        &Outbound {
                            tenant: route.tenant.clone(),
                            delivery: Delivery::Post {
                                channel: route.channel.clone(),
                                key: Some(alerts::card_key(id)),
                                fallback: None,
                                thread: None,
                            },
                            message,
                            important: true,
                        },
                        now,
                    )
                    .await?;
                }
                continue;
            };
            let was = AlertStatus::parse(&row.status).unwrap_or(AlertStatus::Firing);
            match (was, alert.status) {
                (AlertStatus::Firing, AlertStatus::Firing)
                | (AlertStatus::Resolved, AlertStatus::Resolved) => report.repeated += 1,
                (AlertStatus::Firing, AlertStatus::Resolved) => {
                    report.resolved += 1;
                    let resolved_ms = alert
                        .ends_at
                        .map_or(now_ms, |t| t.timestamp_millis())
                        .max(row.fired_ms);
                    let after = (resolved_ms - row.fired_ms) / 1000;
                    tx.update_alert(
                        row.id,
                        "resolved",
                        &serde_json::to_string(alert)?,
                        &row.actions,
                        row.fired_ms,
                        Some(resolved_ms),
                        now_ms,
                    )
                    .await?;
                    tx.append_audit(
                        event(
                            "alert.resolved",
                            alerts::display_id(row.id),
                            json!({ "name": alert.name, "source": source.name, "fingerprint": alert.fingerprint, "duration_s": after }),
                        ),
                        now,
                    );
                    let actions = stored_actions(&row);
                    let message = card::card(
                        row.id,
                        &source.name,
                        alert,
                        ms(row.fired_ms),
                        Some(after),
                        &actions,
                    );
                    self.alert_changed(
                        &mut tx,
                        &row,
                        route,
                        message,
                        card::resolved_reply(alert, after),
                        &mut touched,
                        now,
                    )
                    .await?;
                }
                (AlertStatus::Resolved, AlertStatus::Firing) => {
                    report.reopened += 1;
                    let fired_ms = alert
                        .starts_at
                        .map_or(now_ms, |t| t.timestamp_millis())
                        .max(row.resolved_ms.unwrap_or(0));
                    let actions = card::actions_for(route, alert);
                    tx.update_alert(
                        row.id,
                        "firing",
                        &serde_json::to_string(alert)?,
                        &serde_json::to_string(&actions)?,
                        fired_ms,
                        None,
                        now_ms,
                    )
                    .await?;
                    tx.append_audit(
                        event(
                            "alert.received",
                            alerts::display_id(row.id),
                            json!({ "name": alert.name, "source": source.name, "fingerprint": alert.fingerprint, "status": "firing", "severity": alert.severity(), "reopened": true }),
                        ),
                        now,
                    );
                    let message =
                        card::card(row.id, &source.name, alert, ms(fired_ms), None, &actions);
                    self.alert_changed(
                        &mut tx,
                        &row,
                        route,
                        message,
                        card::refiring_reply(alert),
                        &mut touched,
                        now,
                    )
                    .await?;
                }
            }
        }
        // Every storm touched: its counts stored, and its summary posted once and then edited.
        // An update replaces the pending one of the same key, so a storm leaves one row.
        for (id, t) in &touched {
            tx.set_storm_window(&t.window).await?;
            if t.window.folded == 0 {
                continue;
            }
            let counts = StormCounts {
                by_name: tx.storm_counts(*id).await?,
            };
            let message =
                card::storm_card(t.route.index, ms(t.minute * 60_000), t.route.storm, &counts);
            let key = alerts::storm_key(*id);
            let delivery = if t.posted {
                Delivery::Update {
                    channel: t.route.channel.clone(),
                    key,
                }
            } else {
                Delivery::Post {
                    channel: t.route.channel.clone(),
                    key: Some(key),
                    fallback: None,
                    thread: None,
                }
            };
            tx.enqueue(
                &Outbound {
                    tenant: t.route.tenant.clone(),
                    delivery,
                    message,
                    important: true,
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        for (outcome, n) in [
            ("posted", report.posted),
            ("folded", report.folded),
            ("repeated", report.repeated),
            ("resolved", report.resolved),
            ("reopened", report.reopened),
            ("unrouted", report.unrouted),
        ] {
            for _ in 0..n {
                self.metrics.alert(outcome);
            }
        }
        Ok(report)
    }

    /// An alert that resolved or fired again: its card is edited and a reply goes in its
    /// thread; a folded alert has no card, so its storm's summary is edited instead.
    #[allow(clippy::too_many_arguments)]
    async fn alert_changed<'r>(
        &self,
        tx: &mut Tx,
        row: &AlertRow,
        route: &'r AlertRoute,
        message: Message,
        reply: Message,
        touched: &mut BTreeMap<i64, Touched<'r>>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let channel: ChannelRef = row.channel.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(storm) = row.storm {
            if let std::collections::btree_map::Entry::Vacant(entry) = touched.entry(storm) {
                if let Some((minute, _)) = tx.storm_minute_of(storm).await? {
                    // A resolution does not change the window's counts: it is read as it is.
                    let window = tx
                        .storm_window(&row.tenant, &row.source, row.route, minute, &row.channel)
                        .await?;
                    entry.insert(Touched {
                        window,
                        route,
                        minute,
                        posted: true,
                    });
                }
            }
            return Ok(());
        }
        let key = alerts::card_key(row.id);
        tx.enqueue(
            &Outbound {
                tenant: row.tenant.clone(),
                delivery: Delivery::Update {
                    channel: channel.clone(),
                    key: key.clone(),
                },
                message,
                important: true,
            },
            now,
        )
        .await?;
        tx.enqueue(
            &crate::threads::reply(
                &row.tenant,
                &channel,
                self.alert_card(row, &channel),
                reply,
                Vec::new(),
                false,
            ),
            now,
        )
        .await?;
        Ok(())
    }

    /// The card of a stored alert, for replies in its thread.
    pub(crate) fn alert_card(&self, row: &AlertRow, channel: &ChannelRef) -> Card {
        let guild = self
            .directory
            .tenants
            .get(&row.tenant)
            .and_then(|t| t.discord_guild.as_deref());
        crate::threads::card(
            alerts::card_key(row.id),
            format!("{} {}", alerts::display_id(row.id), row.name),
            channel,
            guild,
        )
    }
}

/// The actions stored with an alert (none if the row cannot be read: a card then shows none).
pub(crate) fn stored_actions(row: &AlertRow) -> Vec<CardAction> {
    serde_json::from_str(&row.actions).unwrap_or_default()
}

fn ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
