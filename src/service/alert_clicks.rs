//! Clicks on an alert's card (SPEC §15): an action runs its command as the person who
//! clicked, through the whole guard, like a typed command; Silence asks Alertmanager for a
//! silence of exactly this alert, for an operator. Both answer in the alert's thread.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::alerts::card::{self, CardAction, CardActionKind};
use crate::alerts::{self, Alert, AlertStatus};
use crate::audit::NewEvent;
use crate::chat::{ArgsInput, ButtonKind, Click, Invocation, Message, Reply};
use crate::commands::args::RawArgs;
use crate::guard;
use crate::model::{ChannelRef, Role};
use crate::policy;
use crate::storage::AlertRow;

use super::alerts::stored_actions;
use super::clicks::claim_click;
use super::{Handled, Service};

/// A click's alert and action, checked: the alert is the tenant's, still firing, and the
/// action is still what the route offers.
struct Clicked {
    row: AlertRow,
    alert: Alert,
    action: CardAction,
    channel: ChannelRef,
}

impl Service {
    /// An alert action or Silence click.
    pub(super) async fn alert_click(
        &self,
        click: &Click,
        inv: &Invocation,
        tenant: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let clicked = match self.clicked(click, tenant).await? {
            Ok(clicked) => clicked,
            Err(text) => return Ok((Reply::ephemeral(text), Handled::Refused)),
        };
        match (&clicked.action.kind, click.kind) {
            (CardActionKind::Command { .. }, ButtonKind::AlertAction) => {
                self.run_alert_action(click, inv, tenant, clicked, now)
                    .await
            }
            (CardActionKind::Silence { seconds }, ButtonKind::Silence) => {
                let seconds = *seconds;
                self.silence(click, inv, tenant, clicked, seconds, now)
                    .await
            }
            _ => Ok((
                Reply::ephemeral(format!("{} is not offered on this card.", click.value)),
                Handled::Refused,
            )),
        }
    }

    async fn clicked(
        &self,
        click: &Click,
        tenant: &str,
    ) -> anyhow::Result<Result<Clicked, String>> {
        let Some((id, index)) = alerts::parse_action_value(&click.value) else {
            return Ok(Err(format!("`{}` is not an alert action.", click.value)));
        };
        let row = self.store.alert(id).await?.filter(|r| r.tenant == tenant);
        let Some(row) = row else {
            return Ok(Err(format!(
                "There is no alert {} in this tenant.",
                alerts::display_id(id)
            )));
        };
        let alert: Alert = serde_json::from_str(&row.alert)?;
        if alert.status != AlertStatus::Firing {
            return Ok(Err(format!(
                "{} has resolved, so its actions are no longer offered; nothing was run. Type the command if it is still needed.",
                alerts::display_id(id)
            )));
        }
        let Some(action) = stored_actions(&row).into_iter().nth(index) else {
            return Ok(Err(format!("{} is not offered on this card.", click.value)));
        };
        // The card shows what was configured when it was posted; a click runs it only if the
        // configuration still offers exactly that, so removing or changing an action in
        // warden.toml takes effect on cards already in the channel.
        let route = self
            .directory
            .alert_routes
            .get(row.route as usize)
            .filter(|r| r.source == row.source && r.tenant == row.tenant);
        let current = route.map(|r| card::actions_for(r, &alert));
        if current.as_ref().and_then(|c| c.get(index)) != Some(&action) {
            return Ok(Err(format!(
                "The actions of {} changed since its card was posted (warden's configuration was updated), so `{}` was not run. Type the command if it is still needed.",
                alerts::display_id(id),
                action.label
            )));
        }
        let channel: ChannelRef = row.channel.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Ok(Clicked {
            row,
            alert,
            action,
            channel,
        }))
    }

    /// Runs the action's command as the clicker, through the whole guard (role, environment,
    /// rate limit, confirmation, approval), like a typed command from the alert's channel.
    async fn run_alert_action(
        &self,
        click: &Click,
        inv: &Invocation,
        tenant: &str,
        clicked: Clicked,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let CardActionKind::Command {
            command,
            args,
            dry_run,
        } = &clicked.action.kind
        else {
            anyhow::bail!("run_alert_action called for a non-command action");
        };
        let typed = Invocation {
            channel: Some(clicked.row.channel.clone()),
            command: command.clone(),
            input: ArgsInput::Structured(RawArgs {
                positional: Vec::new(),
                named: args.clone(),
                dry_run: *dry_run,
                reason: None,
            }),
            // The command's card, its job and its approval live in the alert's thread.
            thread: Some(crate::chat::InThread {
                key: alerts::card_key(clicked.row.id),
                title: format!(
                    "{} {}",
                    alerts::display_id(clicked.row.id),
                    clicked.row.name
                ),
            }),
            ..inv.clone()
        };
        let (reply, handled) = self.handle(&typed, now).await?;
        if handled == Handled::Replay {
            return Ok((reply, handled));
        }
        let principal = policy::principal_for(&self.directory, tenant, &click.user);
        let actor = guard::actor_name(&principal);
        let line = clicked.action.command_line().unwrap_or_default();
        let outcome = match handled {
            Handled::Ok => "accepted",
            _ => "refused",
        };
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            NewEvent {
                tenant: tenant.to_string(),
                actor: actor.clone(),
                kind: "alert.action".to_string(),
                target: alerts::display_id(clicked.row.id),
                channel: clicked.row.channel.clone(),
                request_id: inv.request_id.clone(),
                details: json!({
                    "alert": clicked.alert.name,
                    "action": clicked.action.label,
                    "command": line,
                    "outcome": outcome,
                }),
            },
            now,
        );
        let text = match handled {
            Handled::Ok => format!(
                "{actor} clicked *{}*: `{line}`. {}",
                clicked.action.label,
                first_line(&reply.text)
            ),
            _ => format!(
                "{actor} clicked *{}*: `{line}` was refused; nothing was run.",
                clicked.action.label
            ),
        };
        tx.enqueue(&self.alert_reply(&clicked, text), now).await?;
        tx.commit().await?;
        Ok((reply, handled))
    }

    /// Creates an Alertmanager silence of exactly this alert (every label an equality
    /// matcher), for an operator of the tenant. The click is claimed before the call, so a
    /// repeated click never creates a second silence.
    async fn silence(
        &self,
        click: &Click,
        inv: &Invocation,
        tenant: &str,
        clicked: Clicked,
        seconds: u64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let principal = policy::principal_for(&self.directory, tenant, &click.user);
        let actor = guard::actor_name(&principal);
        let runtime = self.bindings.get(now).await;
        let grants = policy::grants_for(
            self.directory.bindings.iter().chain(runtime.iter()),
            &principal,
            now,
        );
        let target = alerts::display_id(clicked.row.id);
        let mut tx = self.store.begin().await?;
        if let Some(answer) = claim_click(&mut tx, click, now).await? {
            return Ok(answer);
        }
        let event = |kind: &str, details: serde_json::Value| NewEvent {
            tenant: tenant.to_string(),
            actor: actor.clone(),
            kind: kind.to_string(),
            target: target.clone(),
            channel: clicked.row.channel.clone(),
            request_id: inv.request_id.clone(),
            details,
        };
        if let Err(denied) = policy::authorize(&grants, Role::Operator, None) {
            tx.append_audit(
                event(
                    "command.refused",
                    json!({ "step": "authorize", "button": "silence", "alert": clicked.alert.name, "reason": denied.to_string() }),
                ),
                now,
            );
            tx.commit().await?;
            self.metrics.refuse(guard::Step::Authorize.as_str());
            return Ok((
                Reply::ephemeral(format!(
                    "You cannot silence {target}: {denied}. Nothing was done."
                )),
                Handled::Refused,
            ));
        }
        tx.commit().await?;
        let silence_url = self
            .directory
            .alert_sources
            .get(&clicked.row.source)
            .and_then(|s| s.silence_url.clone());
        let Some(silence_url) = silence_url else {
            return Ok((
                Reply::ephemeral(format!(
                    "The source of {target} has no silence_url any more; nothing was done."
                )),
                Handled::Refused,
            ));
        };
        let body = alerts::silence::request(clicked.row.id, &clicked.alert, &actor, now, seconds);
        let answer = self
            .silences
            .post(alerts::silence::url(&silence_url))
            .json(&body)
            .send()
            .await;
        let silence = match answer {
            Ok(r) if r.status().is_success() => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .as_ref()
                .and_then(alerts::silence::silence_id)
                .ok_or_else(|| "Alertmanager's answer had no silence id".to_string()),
            Ok(r) => Err(format!(
                "Alertmanager answered HTTP {}",
                r.status().as_u16()
            )),
            Err(e) if e.is_timeout() => Err("Alertmanager did not answer within 2 s".to_string()),
            Err(_) => Err("Alertmanager could not be reached".to_string()),
        };
        let ends = now + chrono::Duration::seconds(seconds as i64);
        let mut tx = self.store.begin().await?;
        let (reply, handled) = match silence {
            Ok(id) => {
                tx.append_audit(
                    event(
                        "alert.silenced",
                        json!({ "alert": clicked.alert.name, "silence": id, "until": ends.to_rfc3339(), "matchers": clicked.alert.labels }),
                    ),
                    now,
                );
                let text = format!(
                    "{actor} silenced `{}` until {} (Alertmanager silence `{id}`).",
                    clicked.alert.name,
                    ends.format("%Y-%m-%d %H:%M UTC")
                );
                tx.enqueue(&self.alert_reply(&clicked, text.clone()), now)
                    .await?;
                (Reply::ephemeral(text), Handled::Ok)
            }
            Err(why) => {
                tx.append_audit(
                    event(
                        "alert.silence_failed",
                        json!({ "alert": clicked.alert.name, "reason": why }),
                    ),
                    now,
                );
                (
                    Reply::ephemeral(format!(
                        "{target} was not silenced: {why}. Try again, or silence it in Alertmanager."
                    )),
                    Handled::Refused,
                )
            }
        };
        tx.commit().await?;
        Ok((reply, handled))
    }
}

impl Service {
    /// A reply in the thread of the clicked alert's card.
    fn alert_reply(&self, clicked: &Clicked, text: String) -> crate::outbox::Outbound {
        crate::threads::reply(
            &clicked.row.tenant,
            &clicked.channel,
            self.alert_card(&clicked.row, &clicked.channel),
            Message {
                text,
                buttons: Vec::new(),
            },
            Vec::new(),
            false,
        )
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
