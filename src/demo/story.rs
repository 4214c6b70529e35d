//! The story the demo plays, scene by scene, through real signed requests: a command, a
//! refusal, a dry run, a production deploy with two approvals (and a refused self-approval),
//! live progress, a failure alert, a monitoring alert whose Restart button runs the fix, an
//! audit search, a digest, the chain verified, a job page.

use std::time::Duration;

use anyhow::Context;

use super::fakes::{Call, Feed};
use super::people::{text_of, Chat, ANA, BEN, CLEO, DAN};
use super::transcript::scene;
use crate::app::RunningServer;
use crate::storage::Store;

/// How long any one thing may take before the demo gives up.
const WAIT: Duration = Duration::from_secs(20);

/// What the demo needs on stage.
pub struct Stage<'a> {
    pub chat: &'a Chat,
    pub feed: &'a Feed,
    pub server: &'a RunningServer,
    pub public_url: &'a str,
    /// The bearer token the demo's Alertmanager source expects.
    pub alert_token: &'a str,
}

/// What the story leaves behind for the ending: the deploy's job page link.
pub struct Ending {
    pub job_link: String,
    /// The tenant dashboard's signed link, as `/ops dashboard` handed it to dan.
    pub dashboard_link: String,
}

/// The first `J-n` / `A-n` in `text`.
fn id_in(text: &str, prefix: &str) -> anyhow::Result<String> {
    let start = text
        .find(prefix)
        .with_context(|| format!("no {prefix}… id in warden's answer: {text}"))?;
    let digits: String = text[start + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    anyhow::ensure!(!digits.is_empty(), "no {prefix}… id in: {text}");
    Ok(format!("{prefix}{digits}"))
}

/// Whether `call` shows job `id` (`J-3`) in a final state.
fn finished(call: &Call, id: &str) -> bool {
    let text = text_of(&call.body);
    let first = text.lines().next().unwrap_or_default();
    matches!(call.method.as_str(), "chat.postMessage" | "chat.update")
        && first.starts_with(&format!("{id} "))
        && ["succeeded", "failed", "timed_out", "cancelled"]
            .iter()
            .any(|status| first.ends_with(status))
}

/// Whether `call` is a new message in `channel` whose text contains `needle`.
fn posted(call: &Call, channel: &str, needle: &str) -> bool {
    call.method == "chat.postMessage"
        && call.body["channel"] == channel
        && text_of(&call.body).contains(needle)
}

impl Stage<'_> {
    async fn job_finished(&self, id: &str) -> anyhow::Result<Call> {
        self.feed
            .wait_for(&format!("{id} to finish"), WAIT, |c| finished(c, id))
            .await
    }

    /// Plays every scene; the conversation is printed as it goes.
    pub async fn play(&self) -> anyhow::Result<Ending> {
        let chat = self.chat;
        println!(
            "{}",
            scene("ana, an engineer, asks warden what she may run")
        );
        chat.type_command(ANA, "help").await?;

        println!(
            "{}",
            scene("dan is a viewer: warden refuses him, and says why")
        );
        chat.type_command(DAN, "deploy web v2.4.1 env=staging")
            .await?;

        println!(
            "{}",
            scene("a dry run: the deployer answers with its plan, nothing changes")
        );
        let dry = chat
            .type_command(ANA, "deploy web v2.4.1 env=prod --dry-run")
            .await?;
        self.job_finished(&id_in(&text_of(&dry), "J-")?).await?;

        println!(
            "{}",
            scene("the production deploy needs two approvals from the SRE team")
        );
        let asked = chat
            .type_command(
                ANA,
                "deploy web v2.4.1 env=prod --reason \"fixes checkout timeouts (INC-2231)\"",
            )
            .await?;
        let request_id = id_in(&text_of(&asked), "A-")?;
        let request = self
            .feed
            .wait_for(&format!("request {request_id} in #deploys"), WAIT, |c| {
                posted(c, "C0DEPLOYS", &format!("{request_id}:"))
            })
            .await?;

        println!("{}", scene("ana tries to approve her own request"));
        chat.click(ANA, &request.body, "Approve").await?;

        println!("{}", scene("ben and cleo approve"));
        chat.click(BEN, &request.body, "Approve").await?;
        chat.click(CLEO, &request.body, "Approve").await?;

        println!(
            "{}",
            scene(
                "the deploy runs on the request's card: edited in place, the story in its thread"
            )
        );
        let job = self
            .feed
            .wait_for("the approved deploy's job on its card", WAIT, |c| {
                matches!(c.method.as_str(), "chat.postMessage" | "chat.update")
                    && text_of(&c.body).starts_with("J-")
                    && text_of(&c.body).contains("approved by")
            })
            .await?;
        let deploy_id = id_in(&text_of(&job.body), "J-")?;
        let done = self.job_finished(&deploy_id).await?;
        let job_link = text_of(&done.body)
            .lines()
            .find_map(|l| l.strip_prefix("Details: ").map(str::to_string))
            .context("the job message has no link to its page")?;

        println!(
            "{}",
            scene("a restart in staging: the log streams into the message")
        );
        let restart = chat.type_command(ANA, "restart api").await?;
        self.job_finished(&id_in(&text_of(&restart), "J-")?).await?;

        println!(
            "{}",
            scene(
                "a job fails: the outcome and Retry in its thread, an alert in #alerts links to it"
            )
        );
        let migrate = chat.type_command(ANA, "migrate web").await?;
        let failed = id_in(&text_of(&migrate), "J-")?;
        self.job_finished(&failed).await?;
        self.feed
            .wait_for(&format!("the alert for {failed}"), WAIT, |c| {
                posted(c, "C0ALERTS", &failed)
            })
            .await?;

        println!(
            "{}",
            scene("monitoring fires an alert: its card in #alerts, with a Restart button")
        );
        chat.alert(self.alert_token, "firing").await?;
        let card = self
            .feed
            .wait_for("the alert's card in #alerts", WAIT, |c| {
                posted(c, "C0ALERTS", "FIRING")
            })
            .await?;

        println!(
            "{}",
            scene("ana clicks Restart: the command runs as her, guarded, in the alert's thread")
        );
        let clicked = chat.click(ANA, &card.body, "Restart").await?;
        let restart = id_in(&text_of(&clicked), "J-")?;
        self.job_finished(&restart).await?;

        println!(
            "{}",
            scene("the alert resolves: the same card is edited, the thread says so")
        );
        chat.alert(self.alert_token, "resolved").await?;
        self.feed
            .wait_for("the resolved card", WAIT, |c| {
                c.method == "chat.update" && text_of(&c.body).contains("RESOLVED")
            })
            .await?;

        println!("{}", scene("cleo searches the audit log from chat"));
        chat.type_command(CLEO, "audit kind=approval").await?;

        println!("{}", scene("the digest (daily at 09:00 UTC; sent now, as `warden digest send --tenant demo` does)"));
        self.send_digest().await?;
        self.feed
            .wait_for("the digest in #audit", WAIT, |c| posted(c, "C0AUDIT", ""))
            .await?;

        println!("{}", scene("warden audit verify"));
        let store = &self.server.state.service.store;
        let events = verify(store).await?;
        println!("audit chain verified: {events} events, every tenant intact");

        println!(
            "{}",
            scene("the job page, behind a signed link (valid 24 h)")
        );
        let page = reqwest::get(&job_link).await?;
        let status = page.status();
        let html = page.text().await.unwrap_or_default();
        anyhow::ensure!(status.is_success(), "the job page answered {status}");
        println!("{job_link}");
        anyhow::ensure!(
            html.contains(&deploy_id) && html.contains("job.succeeded"),
            "the job page does not show {deploy_id}"
        );
        println!(
            "GET {} → {status}: {deploy_id}'s full log, timeline and audit trail",
            job_link.split('?').next().unwrap_or_default(),
        );

        println!(
            "{}",
            scene("the tenant's live dashboard: `/ops dashboard` answers dan alone with a signed link")
        );
        let answer = chat.type_command(DAN, "dashboard").await?;
        let dashboard_link = text_of(&answer)
            .split_whitespace()
            .find(|w| w.contains("/dashboard?t="))
            .map(str::to_string)
            .context("the dashboard answer has no link")?;
        let page = reqwest::get(&dashboard_link).await?;
        let status = page.status();
        let html = page.text().await.unwrap_or_default();
        anyhow::ensure!(status.is_success(), "the dashboard answered {status}");
        anyhow::ensure!(
            html.contains("Dashboard of") && html.contains(&deploy_id),
            "the dashboard does not list {deploy_id}"
        );
        println!("{dashboard_link}");
        println!(
            "GET {} → {status}: running and recent jobs, pending approvals and the latest audit events, live (open it in a browser)",
            dashboard_link.split('?').next().unwrap_or_default(),
        );
        self.feed.flush();
        Ok(Ending {
            job_link,
            dashboard_link,
        })
    }

    async fn send_digest(&self) -> anyhow::Result<()> {
        let service = &self.server.state.service;
        let mut fresh = Vec::with_capacity(32);
        fresh.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        fresh.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        let key = service.store.server_key("job-links", &fresh).await?;
        crate::digests::send_now(
            &service.store,
            &service.directory,
            self.public_url,
            &key,
            "demo",
            chrono::Utc::now(),
        )
        .await
    }
}

/// Walks every tenant's chain, as `warden audit verify` does; returns the number of events.
async fn verify(store: &Store) -> anyhow::Result<u64> {
    match store.verify_audit().await? {
        Ok(events) => Ok(events),
        Err(broken) => anyhow::bail!("audit chain BROKEN at {broken}"),
    }
}
