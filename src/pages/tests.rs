use chrono::{DateTime, Utc};

use super::*;
use crate::audit::AuditEvent;

fn now() -> DateTime<Utc> {
    "2026-03-01T09:05:00Z".parse().unwrap()
}

fn event(id: i64, kind: &str, details: &str) -> AuditEvent {
    AuditEvent {
        id,
        tenant: "acme".into(),
        seq: id,
        at: "2026-03-01T09:00:00.250Z".into(),
        actor: "alice".into(),
        kind: kind.into(),
        target: "J-42".into(),
        channel: "slack:C01".into(),
        request_id: "req-1".into(),
        details: details.into(),
        prev_hash: "0".repeat(64),
        hash: "f".repeat(64),
    }
}

fn line(seq: i64, at: &str, stream: &str, text: &str) -> LogLineView {
    LogLineView {
        seq,
        at: at.into(),
        stream: stream.into(),
        text: text.into(),
    }
}

fn finished_job() -> JobView {
    JobView {
        thread_link: Some("https://acme.slack.com/archives/C1/p1?a=1&b=\"x\"".into()),
        id: 42,
        tenant: "acme".into(),
        command: "deploy".into(),
        args: vec![
            ("service".into(), "api".into()),
            ("version".into(), "v1.2.3".into()),
            ("token".into(), "[redacted]".into()),
        ],
        environment: Some("prod".into()),
        requester: "alice".into(),
        approvers: vec!["bob".into(), "carol".into()],
        status: "failed".into(),
        dry_run: true,
        reason: Some("hotfix for INC-7".into()),
        attempt: 2,
        created_at: "2026-03-01T09:00:00Z".into(),
        started_at: Some("2026-03-01T09:00:03Z".into()),
        finished_at: Some("2026-03-01T09:02:08.500Z".into()),
        error: Some("deployer answered 503".into()),
        log: vec![
            line(1, "2026-03-01T09:00:03.125Z", "info", "attempt 2 started"),
            line(
                2,
                "2026-03-01T09:00:04Z",
                "stdout",
                "rolling out api v1.2.3",
            ),
            line(3, "2026-03-01T09:02:08Z", "stderr", "upstream unavailable"),
        ],
        audit: vec![
            event(1033, "job.started", r#"{"attempt":2}"#),
            event(1034, "job.failed", r#"{"error":"deployer answered 503"}"#),
        ],
        fresh_link_hint: "/ops jobs show J-42".into(),
    }
}

#[test]
fn every_field_appears() {
    let html = render_job_page(&finished_job(), now());
    let expected = [
        "<!DOCTYPE html>",
        "<title>J-42 deploy · warden</title>",
        "J-42",
        "<code>deploy</code>",
        "class=\"badge s-failed\">failed</span>",
        "dry run",
        "acme",
        "alice",
        "prod",
        "bob, carol",
        "hotfix for INC-7",
        "<dt>Attempt</dt><dd>2</dd>",
        "<a href=\"https://acme.slack.com/archives/C1/p1?a=1&amp;b=&quot;x&quot;\"",
        "<div class=\"outcome bad\"><h2>Failed</h2><p>deployer answered 503</p></div>",
        "<code>service</code></td><td><code>api</code>",
        "<code>version</code></td><td><code>v1.2.3</code>",
        "[redacted]",
        "2026-03-01 09:00:00 UTC",
        "(5 min ago)",
        "2026-03-01 09:00:03 UTC",
        "3s in queue",
        "2026-03-01 09:02:08 UTC",
        "ran 2m 05s",
        "2m 08s",
        "09:00:03.125</span> inf attempt 2 started",
        "<span class=\"ln stdout\"",
        "09:00:04.000</span> out rolling out api v1.2.3",
        "<span class=\"ln stderr\"",
        "09:02:08.000</span> err upstream unavailable",
        "(3 lines)",
        "E-1033",
        "E-1034",
        "job.started",
        "job.failed",
        "<dt>attempt</dt><dd>2</dd>",
        "<dt>error</dt><dd>deployer answered 503</dd>",
    ];
    for needle in expected {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    assert!(html.contains("<meta name=\"referrer\" content=\"no-referrer\">"));
}

#[test]
fn a_success_is_never_shown_as_an_error() {
    let mut job = finished_job();
    job.status = "succeeded".into();
    job.error = Some("HTTP 200 OK (1.5 s)".into());
    let html = render_job_page(&job, now());
    assert!(html
        .contains("<div class=\"outcome ok\"><h2>Succeeded</h2><p>HTTP 200 OK (1.5 s)</p></div>"));
    assert!(!html.contains("Error"), "{html}");
    assert!(!html.contains("outcome bad"));
}

#[test]
fn pages_have_no_inline_script_or_style_and_finished_jobs_no_stream() {
    let html = render_job_page(&finished_job(), now());
    assert!(!html.contains("<style"), "{html}");
    assert!(!html.contains(" style="), "{html}");
    assert!(
        !html.contains("<script"),
        "a finished job's page is a snapshot"
    );
    assert!(!html.contains("data-stream"));

    let mut job = finished_job();
    job.status = "running".into();
    job.finished_at = None;
    let html = render_job_page(&job, now());
    let integrity = format!(
        "<script src=\"../assets/live.js\" integrity=\"{}\" defer></script>",
        SCRIPT_INTEGRITY.as_str()
    );
    assert!(html.contains(&integrity), "{html}");
    assert!(html.contains("data-stream=\"42/events\" data-cursor=\"3.1034\""));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"../assets/pages.css\""));
    // The token is read by the script from the address bar; it is never written in the page.
    assert!(!html.contains("?t="));
}

#[test]
fn log_lines_and_audit_details_are_escaped() {
    let mut job = finished_job();
    job.log = vec![line(
        1,
        "2026-03-01T09:00:04Z",
        "stdout",
        "<script>alert(1)</script> & 'quoted' \"too\"",
    )];
    job.audit = vec![event(
        7,
        "job.failed",
        r#"{"error":"<img src=x onerror=alert(1)>"}"#,
    )];
    job.command = "<b>deploy</b>".into();
    job.status = "\"><script>".into();
    job.args = vec![("<k>".into(), "</td><script>".into())];
    job.requester = "eve<".into();
    let html = render_job_page(&job, now());
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 'quoted' &quot;too&quot;"));
    assert!(html.contains("<dd>&lt;img src=x onerror=alert(1)&gt;</dd>"));
    // An unknown status gets a fixed class, never its own text inside the attribute.
    assert!(html.contains("class=\"badge s-unknown\">&quot;&gt;&lt;script&gt;</span>"));
}

#[test]
fn running_job_without_finished_at() {
    let mut job = finished_job();
    job.status = "running".into();
    job.finished_at = None;
    job.error = None;
    let html = render_job_page(&job, now());
    assert!(html.contains("class=\"badge s-running\">running</span>"));
    assert!(html.contains("<td>Finished</td><td>not yet</td><td>running for 4m 57s</td>"));
    assert!(html.contains("3s in queue"));
    assert!(!html.contains("<td>Total</td>"));
    assert!(!html.contains("outcome"));
}

#[test]
fn queued_job_with_no_log_and_no_optional_fields() {
    let job = JobView {
        thread_link: None,
        id: 7,
        tenant: "acme".into(),
        command: "whoami".into(),
        args: vec![],
        environment: None,
        requester: "alice".into(),
        approvers: vec![],
        status: "queued".into(),
        dry_run: false,
        reason: None,
        attempt: 1,
        created_at: "2026-03-01T09:00:00Z".into(),
        started_at: None,
        finished_at: None,
        error: None,
        log: vec![],
        audit: vec![],
        fresh_link_hint: "/ops jobs show J-7".into(),
    };
    let html = render_job_page(&job, now());
    for needle in [
        "J-7",
        "class=\"badge s-queued\">queued</span>",
        "No arguments.",
        "(0 lines)",
        "No log lines yet.",
        "No audit events.",
        "<td>Started</td><td>not yet</td><td></td>",
        "<dt>Approvers</dt><dd>none</dd>",
        "data-cursor=\"0.0\"",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    assert!(!html.contains("dry run"));
}

#[test]
fn cancelled_before_start_is_measured_from_creation() {
    let mut job = finished_job();
    job.status = "cancelled".into();
    job.started_at = None;
    job.finished_at = Some("2026-03-01T09:00:30Z".into());
    let html = render_job_page(&job, now());
    assert!(html.contains("<td>Started</td><td>never</td><td></td>"));
    assert!(html.contains("30s after creation"));
    assert!(html.contains("outcome warn\"><h2>Cancelled</h2>"));
}

#[test]
fn unparsable_times_are_shown_as_given() {
    let mut job = finished_job();
    job.created_at = "yesterday<ish>".into();
    let html = render_job_page(&job, now());
    assert!(html.contains("yesterday&lt;ish&gt;"));
}

#[test]
fn error_page_is_escaped() {
    let html = render_error_page("Link <expired>", "Ask for a new link & retry.", Depth::Top);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Link &lt;expired&gt; · warden</title>"));
    assert!(html.contains("<h1>Link &lt;expired&gt;</h1>"));
    assert!(html.contains("Ask for a new link &amp; retry."));
    assert!(html.contains("href=\"assets/pages.css\""));
}

#[test]
fn stream_patches_carry_only_what_is_new() {
    let mut job = finished_job();
    job.log = vec![line(4, "2026-03-01T09:03:00Z", "stdout", "<new> line")];
    job.audit = vec![];
    let patches = job_patches(&job, 4, false, now());
    assert_eq!(patches.len(), 2);
    assert_eq!((patches[0].op, patches[0].target), ("append", "log"));
    assert!(patches[0].html.contains("&lt;new&gt; line"));
    assert_eq!((patches[1].op, patches[1].target), ("replace", "log-count"));
    assert!(patches[1].html.contains("(4 lines)"));

    job.log.clear();
    let patches = job_patches(&job, 4, true, now());
    assert_eq!((patches[0].op, patches[0].target), ("replace", "summary"));
    assert!(patches[0].html.starts_with("<section id=\"summary\">"));

    let end = EndOfStream::expired("/ops jobs show J-42");
    assert_eq!(end.state, "link expired");
    assert!(end.patches[0].html.contains("This link has expired"));
    assert_eq!(
        "12.34".parse::<JobCursor>(),
        Ok(JobCursor { log: 12, audit: 34 })
    );
    assert!("12".parse::<JobCursor>().is_err());
    assert!("-1.2".parse::<JobCursor>().is_err());
}

fn dashboard() -> DashboardView {
    DashboardView {
        tenant: "acme".into(),
        role: "operator".into(),
        actor: "alice".into(),
        expires_at: "2026-03-01T21:05:00Z".into(),
        active: vec![JobRow {
            id: 9,
            command: "deploy".into(),
            args: vec![("token".into(), "[redacted]".into())],
            environment: Some("prod".into()),
            requester: "bob<".into(),
            status: "running".into(),
            dry_run: false,
            created_at: "2026-03-01T09:00:00Z".into(),
            started_at: Some("2026-03-01T09:01:00Z".into()),
            finished_at: None,
            page: "jobs/9?t=tok&x".into(),
        }],
        recent: vec![],
        approvals: vec![ApprovalRow {
            id: 3,
            command: "ship".into(),
            args: vec![("service".into(), "web".into())],
            environment: Some("prod".into()),
            requester: "alice".into(),
            reason: Some("INC-7 <fix>".into()),
            approved_by: vec!["carol".into()],
            needed: 2,
            created_at: "2026-03-01T09:00:00Z".into(),
            expires_at: "2026-03-01T09:30:00Z".into(),
            card_link: Some("javascript:alert(1)".into()),
        }],
        audit: vec![event(5, "approval.voted", r#"{"vote":"approve"}"#)],
        alerts: vec![AlertRow {
            id: 4,
            name: "HighErrorRate<script>".into(),
            severity: Some("critical".into()),
            summary: Some("5xx <b>above</b> 5%".into()),
            fired_at: "2026-03-01T08:50:00Z".into(),
            card_link: Some("javascript:alert(2)".into()),
        }],
    }
}

#[test]
fn dashboard_lists_every_section_escaped() {
    let html = render_dashboard_page(&dashboard(), 17, now());
    for needle in [
        "Dashboard of <code>acme</code>",
        "Opened by <strong>alice</strong> as <strong>operator</strong>",
        "read-only",
        "<a href=\"jobs/9?t=tok&amp;x\">J-9</a>",
        "bob&lt;",
        "token=[redacted]",
        "<strong>A-3</strong>",
        "1 of 2",
        "by carol",
        "INC-7 &lt;fix&gt;",
        "(in 25 min)",
        "No job has finished yet.",
        "E-5",
        "data-stream=\"dashboard/events\" data-cursor=\"17\"",
        "src=\"assets/live.js\"",
        "<strong>AL-4</strong>",
        "HighErrorRate&lt;script&gt;",
        "5xx &lt;b&gt;above&lt;/b&gt; 5%",
        "Firing alerts",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    // Only web links become links: a `javascript:` card link is dropped.
    assert!(!html.contains("javascript:"), "{html}");
    // Read-only: no form, no button.
    assert!(!html.contains("<form") && !html.contains("<button"));
}
