//! Helpers shared by the live pages' tests (`tests/pages.rs`, `tests/browser.rs`): signed links
//! minted with the server's own key, an SSE reader, a job that waits for the test, and the
//! Approve button of a request card.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::common::*;
use warden::links::{sign_dashboard_link, sign_job_link, DashboardGrant};
use warden::model::Role;

/// The server's link key.
pub fn link_key(app: &TestApp) -> Vec<u8> {
    app.server.state.service.runner.links().key().to_vec()
}

/// `/jobs/{id}?t=…` for job `id` of `tenant`, valid until `expires` (Unix seconds).
pub fn job_path(app: &TestApp, tenant: &str, id: i64, expires: i64) -> String {
    format!(
        "/jobs/{id}?t={}",
        sign_job_link(&link_key(app), tenant, id, expires)
    )
}

/// A dashboard token for `tenant` as `role`, valid until `expires`.
pub fn dashboard_token(app: &TestApp, tenant: &str, role: Role, expires: i64) -> String {
    sign_dashboard_link(
        &link_key(app),
        &DashboardGrant {
            tenant: tenant.into(),
            role,
            actor: "alice".into(),
            expires,
        },
    )
}

/// The path part of a link warden handed out (its host is the configured public URL).
pub fn local(link: &str, marker: &str) -> String {
    link[link
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {link}"))..]
        .to_string()
}

/// The link in an answer of `/ops dashboard`.
pub fn dashboard_link(answer: &str) -> String {
    let word = answer
        .split_whitespace()
        .find(|w| w.contains("/dashboard?t="))
        .unwrap_or_else(|| panic!("no dashboard link in {answer}"));
    local(word, "/dashboard?t=")
}

/// A command `name` whose job prints `first line`, waits until the test creates the returned
/// file, prints `second line` and succeeds.
pub fn waiting_job(dir: &Path, name: &str) -> ((String, String), PathBuf) {
    let go = dir.join(format!("{name}.go"));
    let script = dir.join(format!("{name}.sh"));
    std::fs::write(
        &script,
        format!(
            "echo 'first line <b>&'\nwhile [ ! -f '{}' ]; do sleep 0.05; done\necho 'second line'\n",
            go.display()
        ),
    )
    .unwrap();
    (
        (format!("{name}.toml"), script_command(name, &script, 0)),
        go,
    )
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Reads a `text/event-stream` response event by event.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
    pub closed: bool,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> SseReader {
        SseReader {
            response,
            buffer: String::new(),
            closed: false,
        }
    }

    /// The next event (comments skipped), or None when the stream closed or `wait` passed.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    event: "message".into(),
                    id: None,
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().into();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().into());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
            }
            if self.closed {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(_) => self.closed = true,
                Err(_) => return None,
            }
        }
    }

    /// Events until one satisfies `until` (returned last) or the stream ends; panics after
    /// `wait`.
    pub async fn until(
        &mut self,
        wait: Duration,
        until: impl Fn(&SseEvent) -> bool,
    ) -> Vec<SseEvent> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some(event) => {
                    let done = until(&event);
                    seen.push(event);
                    if done {
                        return seen;
                    }
                }
                None => panic!(
                    "the stream {} before the awaited event; saw {seen:#?}",
                    if self.closed { "closed" } else { "went quiet" }
                ),
            }
        }
    }
}

/// The Approve button (action id and value) of the request card warden posted for approval
/// `id`.
pub async fn approve_button(fake: &FakeSlack, id: i64) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for message in fake.calls_of("chat.postMessage") {
            if !message["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&format!("A-{id}:"))
            {
                continue;
            }
            for block in message["blocks"].as_array().into_iter().flatten() {
                for element in block["elements"].as_array().into_iter().flatten() {
                    if element["text"]["text"] == "Approve" {
                        return (
                            element["action_id"].as_str().unwrap().to_string(),
                            element["value"].as_str().unwrap().to_string(),
                        );
                    }
                }
            }
        }
        assert!(Instant::now() < deadline, "no request card for A-{id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
