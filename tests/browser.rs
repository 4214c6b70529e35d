//! The live pages in a real browser (SPEC §18): headless Chromium, driven over chromedriver
//! (fantoccini), against the real server. The job page shows a line the moment the action
//! prints it and flips to succeeded without a reload; an expired link shows the expiry message;
//! the dashboard lists a pending approval and drops it once it is decided; both pages fit a
//! phone-width window. Screenshots of both pages go to `target/screenshots/`, and with
//! `WARDEN_SCREENSHOTS=docs` to `docs/screenshots/` for the README.
//!
//! Chromium and chromedriver come from Debian (`apt-get install chromium chromium-driver`;
//! `.ci/run` installs them). Without them the test is skipped with a note, unless `CI` is set:
//! in CI a missing browser is a failure, so the browser tests cannot silently stop running.

mod common;
mod pages_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use pages_support::*;

const WAIT: Duration = Duration::from_secs(20);

/// The first of `names` found in `/usr/bin` or on `PATH`.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.insert(0, PathBuf::from("/usr/bin"));
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver(chromedriver: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            // The network is closed: without the background-networking flags Chromium's own
            // connections fail and slow every page down.
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1200,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// The text of the first element matching `css`, or "" when there is none.
async fn text(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the text of `css` satisfies `ok`; panics with what it was after `WAIT`.
async fn wait_text(client: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = text(client, css).await;
        if ok(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "`{css}` never became what was expected; it reads {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the page fits a phone-width window without scrolling sideways.
async fn fits_a_phone(client: &Client) -> bool {
    client.set_window_size(390, 900).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fits = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    client.set_window_size(1200, 1000).await.unwrap();
    fits == serde_json::Value::Bool(true)
}

/// Saves a screenshot: into `target/screenshots/` on every run, and into `docs/screenshots/`
/// (the README's) when `WARDEN_SCREENSHOTS=docs`, so that running the suite does not leave the
/// committed pictures modified.
async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = if std::env::var("WARDEN_SCREENSHOTS").as_deref() == Ok("docs") {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// A command whose job prints as the test lets it: a first batch after `go1` exists, the last
/// line after `go2`.
fn stepped_job(dir: &Path) -> ((String, String), PathBuf, PathBuf) {
    let (go1, go2) = (dir.join("go1"), dir.join("go2"));
    let script = dir.join("rollout.sh");
    std::fs::write(
        &script,
        format!(
            "while [ ! -f '{go1}' ]; do sleep 0.05; done\n\
             echo 'rolling out web v2.4.1 to 3 pods'\n\
             echo 'pod web-1 ready' && echo 'pod web-2 ready'\n\
             echo 'pod web-3 slow to start, waiting' >&2\n\
             while [ ! -f '{go2}' ]; do sleep 0.05; done\n\
             echo 'pod web-3 ready: rollout complete'\n",
            go1 = go1.display(),
            go2 = go2.display()
        ),
    )
    .unwrap();
    (
        ("rollout.toml".into(), script_command("rollout", &script, 0)),
        go1,
        go2,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pages_update_themselves_in_a_real_browser() {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let chromedriver = find_program(&["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let in_ci = matches!(std::env::var("CI").as_deref(), Ok(v) if !v.is_empty() && v != "false" && v != "0");
        if in_ci {
            panic!("CI is set but chromium or chromedriver is missing: install Debian's chromium and chromium-driver (.ci/run does)");
        }
        eprintln!("SKIPPED: the browser test needs chromium and chromedriver (apt-get install chromium chromium-driver); CI is unset, so it is skipped");
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let (rollout, go1, go2) = stepped_job(dir.path());
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api.clone())],
        commands: vec![rollout, ship(&url, "30m")],
    })
    .await;
    let driver = start_driver(&chromedriver).await;
    let client = browser(&driver, &chromium, &dir.path().join("profile")).await;

    // Some history for the dashboard: two finished deploys.
    for service in ["api", "worker"] {
        let shipped = app
            .slack("T0ACME", "U0ALICE", &format!("ship {service}"))
            .await;
        app.wait_job(number_after("J-", shipped.text())).await;
    }

    // The job page: a line shows the moment the action prints it, the status flips without a
    // reload.
    let asked = app
        .slack("T0ACME", "U0ALICE", "rollout --reason \"INC-2231\"")
        .await;
    let id = number_after("J-", asked.text());
    let page = format!("{}{}", app.base, job_path(&app, "acme", id, now() + 600));
    client.goto(&page).await.unwrap();
    wait_text(&client, "#live-state", |t| t == "live").await;
    assert_eq!(text(&client, "#log").await, "");
    std::fs::write(&go1, "").unwrap();
    let printed = Instant::now();
    wait_text(&client, "#log", |t| t.contains("pod web-2 ready")).await;
    assert!(
        printed.elapsed() < Duration::from_secs(3),
        "the line took {:?} to show",
        printed.elapsed()
    );
    wait_text(&client, "#log-count", |t| t == "(4 lines)").await;
    assert_eq!(text(&client, "#summary .badge").await, "running");
    std::fs::write(&go2, "").unwrap();
    wait_text(&client, "#summary .badge", |t| t == "succeeded").await;
    wait_text(&client, ".outcome.ok h2", |t| t == "Succeeded").await;
    wait_text(&client, "#live-state", |t| t == "finished").await;
    wait_text(&client, "#audit", |t| t.contains("job.succeeded")).await;
    assert!(client.find(Locator::Css(".outcome.bad")).await.is_err());
    // Tall enough to show the log and the audit trail.
    client.set_window_size(1200, 1900).await.unwrap();
    screenshot(&client, "job.png").await;
    client.set_window_size(1200, 1000).await.unwrap();
    assert!(
        fits_a_phone(&client).await,
        "the job page scrolls sideways on a phone"
    );

    // An expired link says so, and how to get a fresh one.
    let expired = format!("{}{}", app.base, job_path(&app, "acme", id, now() - 5));
    client.goto(&expired).await.unwrap();
    let message = wait_text(&client, "body", |t| t.contains("This link has expired")).await;
    assert!(
        message.contains(&format!("/ops jobs show J-{id}")),
        "{message}"
    );

    // The dashboard lists a pending approval and drops it when it is decided.
    let link = dashboard_link(app.slack("T0ACME", "U0BOB", "dashboard").await.text());
    client.goto(&format!("{}{link}", app.base)).await.unwrap();
    wait_text(&client, "#live-state", |t| t == "live").await;
    let asked = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "ship web env=prod --reason \"fixes checkout timeouts (INC-2231)\"",
        )
        .await;
    let a = number_after("A-", asked.text());
    wait_text(&client, "#sections", |t| t.contains(&format!("A-{a}"))).await;
    let (action, value) = approve_button(&fake, a).await;
    app.click(
        "T0ACME",
        "U0DAVE",
        &action,
        &value,
        &format!("{api}response"),
    )
    .await;
    wait_text(&client, "#sections", |t| t.contains("1 of 2")).await;
    client.set_window_size(1200, 1500).await.unwrap();
    screenshot(&client, "dashboard.png").await;
    client.set_window_size(1200, 1000).await.unwrap();
    assert!(
        fits_a_phone(&client).await,
        "the dashboard scrolls sideways on a phone"
    );
    app.click(
        "T0ACME",
        "U0ERIN",
        &action,
        &value,
        &format!("{api}response"),
    )
    .await;
    wait_text(&client, "#sections", |t| {
        t.contains("No approval request is pending.")
    })
    .await;

    client.close().await.unwrap();
    drop(driver);
    app.server.shutdown().await.unwrap();
}
