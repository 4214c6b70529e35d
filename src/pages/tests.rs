use chrono::TimeDelta;

use super::job::human_duration;
use super::*;
use crate::audit::AuditEvent;

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

fn line(at: &str, stream: &str, text: &str) -> LogLineView {
    LogLineView {
        at: at.into(),
        stream: stream.into(),
        text: text.into(),
    }
}

fn finished_job() -> JobView {
    JobView {
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
            line("2026-03-01T09:00:03.125Z", "info", "attempt 2 started"),
            line("2026-03-01T09:00:04Z", "stdout", "rolling out api v1.2.3"),
            line("2026-03-01T09:02:08Z", "stderr", "upstream unavailable"),
        ],
        audit: vec![
            event(1033, "job.started", r#"{"attempt":2}"#),
            event(1034, "job.failed", r#"{"error":"deployer answered 503"}"#),
        ],
    }
}

#[test]
fn every_field_appears() {
    let html = render_job_page(&finished_job());
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
        "deployer answered 503",
        "<code>service</code></td><td><code>api</code>",
        "<code>version</code></td><td><code>v1.2.3</code>",
        "[redacted]",
        "2026-03-01 09:00:00 UTC",
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
        "{&quot;attempt&quot;:2}",
    ];
    for needle in expected {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    assert!(!html.contains("<script"), "pages carry no scripts");
    assert!(html.contains("<meta name=\"referrer\" content=\"no-referrer\">"));
}

#[test]
fn log_lines_and_audit_details_are_escaped() {
    let mut job = finished_job();
    job.log = vec![line(
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
    let html = render_job_page(&job);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html
        .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;quoted&#39; &quot;too&quot;"));
    assert!(html.contains("{&quot;error&quot;:&quot;&lt;img src=x onerror=alert(1)&gt;&quot;}"));
    // An unknown status gets a fixed class, never its own text inside the attribute.
    assert!(html.contains("class=\"badge s-unknown\">&quot;&gt;&lt;script&gt;</span>"));
}

#[test]
fn running_job_without_finished_at() {
    let mut job = finished_job();
    job.status = "running".into();
    job.finished_at = None;
    job.error = None;
    let html = render_job_page(&job);
    assert!(html.contains("class=\"badge s-running\">running</span>"));
    assert!(html.contains("<tr><td>Finished</td><td>not yet</td><td></td></tr>"));
    assert!(html.contains("3s in queue"));
    assert!(!html.contains("<tr><td>Total</td>"));
    assert!(!html.contains("<h2>Error</h2>"));
}

#[test]
fn queued_job_with_no_log_and_no_optional_fields() {
    let job = JobView {
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
    };
    let html = render_job_page(&job);
    for needle in [
        "J-7",
        "class=\"badge s-queued\">queued</span>",
        "No arguments.",
        "(0 lines)",
        "No log lines yet.",
        "No audit events.",
        "<tr><td>Started</td><td>not yet</td><td></td></tr>",
        "<dt>Approvers</dt><dd>none</dd>",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    assert!(!html.contains("<pre"));
    assert!(!html.contains("dry run"));
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn cancelled_before_start_is_measured_from_creation() {
    let mut job = finished_job();
    job.status = "cancelled".into();
    job.started_at = None;
    job.finished_at = Some("2026-03-01T09:00:30Z".into());
    let html = render_job_page(&job);
    assert!(html.contains("<tr><td>Started</td><td>never</td><td></td></tr>"));
    assert!(html.contains("30s after creation"));
}

#[test]
fn unparsable_times_are_shown_as_given() {
    let mut job = finished_job();
    job.created_at = "yesterday<ish>".into();
    let html = render_job_page(&job);
    assert!(html.contains("yesterday&lt;ish&gt;"));
}

#[test]
fn error_page_is_escaped() {
    let html = render_error_page("Link <expired>", "Ask for a new link & retry.");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Link &lt;expired&gt; · warden</title>"));
    assert!(html.contains("<h1>Link &lt;expired&gt;</h1>"));
    assert!(html.contains("<p>Ask for a new link &amp; retry.</p>"));
}

#[test]
fn escape_html_covers_the_five_characters() {
    let cases = [
        ("", ""),
        ("plain é ✓", "plain é ✓"),
        ("&<>\"'", "&amp;&lt;&gt;&quot;&#39;"),
        ("&amp;", "&amp;amp;"),
    ];
    for (input, expected) in cases {
        assert_eq!(escape_html(input), expected, "{input:?}");
    }
}

#[test]
fn durations() {
    let cases = [
        (TimeDelta::milliseconds(-5), "0 ms"),
        (TimeDelta::milliseconds(350), "350 ms"),
        (TimeDelta::seconds(12), "12s"),
        (TimeDelta::seconds(245), "4m 05s"),
        (TimeDelta::seconds(7380), "2h 03m 00s"),
        (TimeDelta::seconds(93_780), "1d 2h 03m"),
    ];
    for (d, expected) in cases {
        assert_eq!(human_duration(d), expected);
    }
}
