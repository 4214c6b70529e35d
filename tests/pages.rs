//! The live pages over HTTP (SPEC §18): the job page's stream sends log lines as they are
//! printed, the status change and the end; every stream checks its link like the page does
//! (forged, other job, other tenant, expired, expiring while open); a page served by one replica
//! follows a job another replica runs; `/ops dashboard` hands out a role-bound link to a live
//! dashboard; and no page shows another tenant's rows, a secret argument or a capability.

mod common;
mod pages_support;

use std::time::Duration;

use common::*;
use pages_support::*;
use warden::jobs::JobStatus;
use warden::model::Role;

const WAIT: Duration = Duration::from_secs(20);

/// The test directory, plus carol as an operator of globex, so that both tenants have jobs.
fn two_tenants() -> String {
    format!("{DIRECTORY}\n[[bindings]]\nsubject = \"carol\"\ntenant = \"globex\"\nrole = \"operator\"\n")
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

fn assert_protected(response: &reqwest::Response) {
    let h = response.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

async fn stream(app: &TestApp, path: &str) -> SseReader {
    let response = get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert_protected(&response);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    SseReader::new(response)
}

fn events_path(page: &str) -> String {
    page.replacen('?', "/events?", 1)
}

#[tokio::test]
async fn the_job_stream_sends_each_line_as_it_is_printed_then_the_status_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (command, go) = waiting_job(dir.path(), "slow");
    let app = TestApp::spawn_with(Options {
        commands: vec![command],
        ..Options::default()
    })
    .await;
    let asked = app.slack("T0ACME", "U0ALICE", "slow").await;
    let id = number_after("J-", asked.text());
    let page_path = job_path(&app, "acme", id, now() + 600);

    let page = get(&app, &page_path).await;
    assert_eq!(page.status(), 200);
    assert_protected(&page);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("data-stream=\"{id}/events\"")),
        "{html}"
    );
    assert!(
        !html.contains("?t="),
        "the token is never written into the page"
    );

    let mut events = stream(&app, &format!("{}&from=0.0", events_path(&page_path))).await;
    let first = events
        .until(WAIT, |e| e.data.contains("first line &lt;b&gt;&amp;"))
        .await;
    // The job is still waiting for the test: the line came while it ran, not at its end.
    let job = app
        .server
        .state
        .service
        .store
        .job(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Running);
    assert!(first
        .iter()
        .any(|e| e.event == "patch" && e.data.contains("s-running")));

    std::fs::write(&go, "").unwrap();
    let rest = events.until(WAIT, |e| e.event == "end").await;
    let end = rest.last().unwrap();
    assert!(end.data.contains("\"state\":\"finished\""), "{end:?}");
    assert!(rest.iter().any(|e| e.data.contains("second line")));
    assert!(rest
        .iter()
        .any(|e| e.data.contains("\"target\":\"summary\"") && e.data.contains("s-succeeded")));
    assert!(rest.iter().any(|e| e.data.contains("job.succeeded")));
    assert!(events.next(Duration::from_secs(5)).await.is_none());
    assert!(events.closed, "the stream closes when the job ends");

    // A browser that reconnects with its Last-Event-ID gets nothing it already has.
    let last_id = rest.iter().rev().find_map(|e| e.id.clone()).unwrap();
    let response = app
        .http
        .get(format!("{}{}", app.base, events_path(&page_path)))
        .header("last-event-id", &last_id)
        .send()
        .await
        .unwrap();
    let mut again = SseReader::new(response);
    let replay = again.until(WAIT, |e| e.event == "end").await;
    assert!(
        replay
            .iter()
            .all(|e| !e.data.contains("first line") && !e.data.contains("second line")),
        "{replay:#?}"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn streams_check_their_link_like_the_page_does() {
    let dir = tempfile::tempdir().unwrap();
    let (command, go) = waiting_job(dir.path(), "slow");
    let app = TestApp::spawn_with(Options {
        commands: vec![command],
        ..Options::default()
    })
    .await;
    let id = number_after("J-", app.slack("T0ACME", "U0ALICE", "slow").await.text());
    let valid = job_path(&app, "acme", id, now() + 600);
    let token = valid.split("?t=").nth(1).unwrap().to_string();

    // Forged, for another job, for another tenant: refused, page and stream alike.
    let globex_dashboard = dashboard_token(&app, "globex", Role::Admin, now() + 600);
    for path in [
        format!("/jobs/{id}?t={}0", token),
        format!("/jobs/{}?t={token}", id + 1),
        format!("/jobs/{id}?t="),
        format!("/jobs/{id}?t={globex_dashboard}"),
        job_path(&app, "globex", id, now() + 600),
    ] {
        let page = get(&app, &path).await;
        assert_eq!(page.status(), 403, "{path}");
        assert_protected(&page);
        let stream = get(&app, &events_path(&path)).await;
        assert_eq!(stream.status(), 403, "{path}");
        assert!(!stream.text().await.unwrap().contains("first line"));
    }
    // A job token never opens a dashboard.
    assert_eq!(
        get(&app, &format!("/dashboard?t={token}")).await.status(),
        403
    );
    assert_eq!(
        get(&app, &format!("/dashboard/events?t={token}"))
            .await
            .status(),
        403
    );
    // The tenant's own dashboard link opens its job pages (the dashboard links to them).
    let acme_dashboard = dashboard_token(&app, "acme", Role::Viewer, now() + 600);
    assert_eq!(
        get(&app, &format!("/jobs/{id}?t={acme_dashboard}"))
            .await
            .status(),
        200
    );

    // An expired link: the page says so and how to get a fresh one; the stream ends at once.
    let expired = job_path(&app, "acme", id, now() - 1);
    let page = get(&app, &expired).await;
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("This link has expired"), "{html}");
    assert!(html.contains(&format!("/ops jobs show J-{id}")), "{html}");
    let mut ended = stream(&app, &events_path(&expired)).await;
    let events = ended.until(WAIT, |e| e.event == "end").await;
    assert_eq!(events.len(), 1);
    assert!(events[0].data.contains("link expired"));

    // A link that expires while the page is open: the stream says so and closes, although the
    // job still runs.
    let short = job_path(&app, "acme", id, now() + 2);
    let mut open = stream(&app, &events_path(&short)).await;
    let events = open
        .until(Duration::from_secs(10), |e| e.event == "end")
        .await;
    assert!(events.last().unwrap().data.contains("link expired"));
    assert!(events
        .last()
        .unwrap()
        .data
        .contains("This link has expired"));
    assert!(open.next(Duration::from_secs(3)).await.is_none() && open.closed);
    let job = app
        .server
        .state
        .service
        .store
        .job(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Running);

    std::fs::write(&go, "").unwrap();
    app.wait_job(id).await;
    app.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_page_served_by_one_replica_follows_a_job_run_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let (command, go) = waiting_job(dir.path(), "slow");
    let runner = TestApp::spawn_with(Options {
        commands: vec![command.clone()],
        ..Options::default()
    })
    .await;
    let id = number_after("J-", runner.slack("T0ACME", "U0ALICE", "slow").await.text());
    // The job is running on the first replica before the second one exists, so the second
    // can only know about it through the database.
    let deadline = std::time::Instant::now() + WAIT;
    while runner
        .server
        .state
        .service
        .store
        .job(id)
        .await
        .unwrap()
        .unwrap()
        .status
        != JobStatus::Running
    {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let viewer = TestApp::spawn_with(Options {
        commands: vec![command],
        env: vec![("WARDEN_DATABASE_URL".into(), runner.database_url())],
    })
    .await;
    // The link key is per database: a link made on one replica opens pages on every one.
    let path = job_path(&runner, "acme", id, now() + 600);
    let mut events = stream(&viewer, &format!("{}&from=0.0", events_path(&path))).await;
    events.until(WAIT, |e| e.data.contains("first line")).await;
    std::fs::write(&go, "").unwrap();
    let rest = events.until(WAIT, |e| e.event == "end").await;
    assert!(rest.iter().any(|e| e.data.contains("second line")));
    assert!(rest.iter().any(|e| e.data.contains("s-succeeded")));
    viewer.server.shutdown().await.unwrap();
    runner.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_dashboard_link_is_bound_to_tenant_and_role_and_the_page_follows_approvals() {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api.clone())],
        commands: vec![ship(&url, "30m")],
    })
    .await;

    let help = app.slack("T0ACME", "U0BOB", "help").await;
    assert!(help.text().contains("/ops dashboard`"), "{}", help.text());

    // bob is a viewer: his link says so, is his alone, and is audited without the token.
    let answer = app.slack("T0ACME", "U0BOB", "dashboard").await;
    assert!(answer.ephemeral());
    assert!(
        answer.text().contains("for you as viewer"),
        "{}",
        answer.text()
    );
    let link = dashboard_link(answer.text());
    let token = link.split("?t=").nth(1).unwrap();
    let invoked = app
        .audit()
        .await
        .into_iter()
        .rfind(|e| e.target == "dashboard")
        .unwrap();
    assert_eq!(invoked.kind, "command.invoked");
    assert!(
        invoked.details.contains("\"role\":\"viewer\""),
        "{}",
        invoked.details
    );
    assert!(!invoked.details.contains(token));

    let page = get(&app, &link).await;
    assert_eq!(page.status(), 200);
    assert_protected(&page);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Opened by <strong>bob</strong> as <strong>viewer</strong>"),
        "{html}"
    );
    assert!(html.contains("No approval request is pending."));
    assert!(
        !html.contains("<form") && !html.contains("<button"),
        "read-only"
    );

    // The page follows the tenant: a request appears, and goes once it is decided.
    let mut events = stream(&app, &events_path(&link)).await;
    let asked = app.slack("T0ACME", "U0ALICE", "ship web env=prod").await;
    let a = number_after("A-", asked.text());
    events
        .until(WAIT, |e| {
            e.data.contains(&format!("<strong>A-{a}</strong>"))
        })
        .await;
    let (action, value) = approve_button(&fake, a).await;
    for voter in ["U0DAVE", "U0ERIN"] {
        let response = app
            .click("T0ACME", voter, &action, &value, &format!("{api}response"))
            .await;
        assert_eq!(response.status(), 200);
    }
    events
        .until(WAIT, |e| e.data.contains("No approval request is pending."))
        .await;

    // Without a role in the tenant there is no dashboard; it takes no arguments.
    let nobody = app.slack("T0ACME", "U0NOBODY", "dashboard").await;
    assert!(nobody.text().contains("viewer"), "{}", nobody.text());
    assert!(!nobody.text().contains("/dashboard?t="));
    let extra = app.slack("T0ACME", "U0BOB", "dashboard globex").await;
    assert!(
        extra.text().contains("takes no arguments"),
        "{}",
        extra.text()
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn dashboard_links_are_rate_limited_per_person() {
    let app = TestApp::spawn().await;
    for _ in 0..20 {
        let answer = app.slack("T0ACME", "U0BOB", "dashboard").await;
        assert!(answer.text().contains("/dashboard?t="), "{}", answer.text());
    }
    let limited = app.slack("T0ACME", "U0BOB", "dashboard").await;
    assert!(limited.text().contains("rate limit"), "{}", limited.text());
    assert!(!limited.text().contains("/dashboard?t="));
    let alice = app.slack("T0ACME", "U0ALICE", "dashboard").await;
    assert!(
        alice.text().contains("for you as operator"),
        "{}",
        alice.text()
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn pages_never_show_another_tenants_rows_a_secret_or_a_capability() {
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let app = TestApp::spawn_with_directory(
        Options {
            commands: vec![ship(&url, "30m")],
            ..Options::default()
        },
        &two_tenants(),
    )
    .await;
    let capability = "http://127.0.0.1:9/response-capability-5eb1";
    RESPONSE_URL.with(|r| *r.borrow_mut() = capability.to_string());
    let secret = "tok_s3cr3t99";
    let acme = app
        .slack("T0ACME", "U0ALICE", &format!("rotate-key api {secret}"))
        .await;
    let acme_job = number_after("J-", acme.text());
    let globex = app
        .slack("T0GLOBEX", "U0CAROL", "ship globex-only-svc")
        .await;
    let globex_job = number_after("J-", globex.text());
    app.wait_job(acme_job).await;
    app.wait_job(globex_job).await;

    let acme_link = dashboard_link(app.slack("T0ACME", "U0ALICE", "dashboard").await.text());
    let globex_link = dashboard_link(app.slack("T0GLOBEX", "U0CAROL", "dashboard").await.text());
    let acme_html = get(&app, &acme_link).await.text().await.unwrap();
    let globex_html = get(&app, &globex_link).await.text().await.unwrap();
    assert!(
        acme_html.contains("rotate-key") && acme_html.contains("[redacted]"),
        "{acme_html}"
    );
    assert!(globex_html.contains("globex-only-svc"), "{globex_html}");
    assert!(!acme_html.contains("globex"), "{acme_html}");
    assert!(
        !globex_html.contains("rotate-key") && !globex_html.contains("alice"),
        "{globex_html}"
    );

    let mut live = stream(&app, &events_path(&acme_link)).await;
    let first = live.next(WAIT).await.unwrap();
    let job_page = get(&app, &job_path(&app, "acme", acme_job, now() + 600))
        .await
        .text()
        .await
        .unwrap();
    let mut job_live = stream(
        &app,
        &format!(
            "{}&from=0.0",
            events_path(&job_path(&app, "acme", acme_job, now() + 600))
        ),
    )
    .await;
    let job_events = job_live.until(WAIT, |e| e.event == "end").await;
    let streamed: String = job_events.iter().map(|e| e.data.clone()).collect();
    for text in [&acme_html, &globex_html, &first.data, &job_page, &streamed] {
        assert!(!text.contains(secret), "a secret argument on a page");
        assert!(
            !text.contains("response-capability"),
            "a capability on a page"
        );
        assert!(!text.contains(SLACK_BOT_TOKEN) && !text.contains(SLACK_SECRET));
        assert!(
            !text.contains("enc:v1:"),
            "sealed values stay in the database"
        );
    }
    assert!(job_page.contains("rotate-key") && job_page.contains("[redacted]"));
    app.server.shutdown().await.unwrap();
}
