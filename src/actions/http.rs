//! The `http` action: one signed request to a downstream service.
//!
//! Every request carries `Idempotency-Key: <job id>` (so a retried job is recognisable
//! downstream), `X-Warden-Timestamp` and, when the command names a secret,
//! `X-Warden-Signature: v1=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))` over the exact bytes
//! sent. `runbooks/downstream-signature.md` tells the downstream side how to verify it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use secrecy::ExposeSecret;
use sha2::Sha256;

use super::{cancelled, elapsed_text, render, ActionOutcome, ActionRun};
use crate::commands::args::ParsedArgs;
use crate::commands::spec::{ActionSpec, CommandSpec};
use crate::model::format_duration;

/// How much of a response body goes into the job log.
pub const RESPONSE_LOG_CAP: usize = 64 * 1024;
/// How many characters of the response's first line a failure message quotes.
const ERROR_LINE_CAP: usize = 200;

/// The header carrying the job id, so a downstream can drop a repeated request.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The header carrying the Unix time (seconds) the request was signed at.
pub const TIMESTAMP_HEADER: &str = "X-Warden-Timestamp";
/// The header carrying `v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "X-Warden-Signature";
/// The header marking a dry run, with the value `1`.
pub const DRY_RUN_HEADER: &str = "X-Warden-Dry-Run";

/// The signature header value for a request: `v1=` and the hex HMAC-SHA256, keyed with
/// `secret`, of `"{timestamp}.{body}"`, where `body` is the exact bytes sent (empty without a
/// body).
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The names of the headers a request carries, in the order [`super::plan`] shows them. The
/// command's own headers come first; warden's headers always win over a same-named one.
pub(super) fn header_names(spec: &CommandSpec, dry_run: bool) -> Vec<String> {
    let ActionSpec::Http {
        headers,
        body,
        sign_secret_env,
        ..
    } = &spec.action
    else {
        return Vec::new();
    };
    let ours = |name: &str| {
        [
            IDEMPOTENCY_KEY,
            TIMESTAMP_HEADER,
            SIGNATURE_HEADER,
            DRY_RUN_HEADER,
        ]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
    };
    let mut names: Vec<String> = headers.keys().filter(|n| !ours(n)).cloned().collect();
    if body.is_some()
        && !headers
            .keys()
            .any(|n| n.eq_ignore_ascii_case("content-type"))
    {
        names.push("Content-Type".to_string());
    }
    names.push(IDEMPOTENCY_KEY.to_string());
    names.push(TIMESTAMP_HEADER.to_string());
    if let Some(var) = sign_secret_env {
        names.push(format!("{SIGNATURE_HEADER} (signed with ${var})"));
    }
    if dry_run {
        names.push(DRY_RUN_HEADER.to_string());
    }
    names
}

/// A request ready to send, and how to describe it without secrets.
struct Prepared {
    request: reqwest::Request,
    /// `POST https://…` with secret arguments redacted, for the log.
    shown: String,
}

fn prepare(run: &ActionRun<'_>, now: u64) -> Result<Prepared, String> {
    let ActionSpec::Http {
        method,
        url,
        headers,
        body,
        sign_secret_env,
    } = &run.spec.action
    else {
        return Err("not an http action".to_string());
    };
    let args: &ParsedArgs = run.args;
    let real_url = render::url(url, args, false)?;
    let shown = format!(
        "{method} {}",
        render::url(url, &render::redact(run.spec, args), true)?
    );
    let body = render::body(body.as_ref(), args)?;
    let mut map = HeaderMap::new();
    for (name, template) in headers {
        let value = render::header(name, template, args)?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a valid header name"))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| format!("header `{name}` contains characters a header cannot hold"))?;
        map.insert(name, value);
    }
    if body.is_some() && !map.contains_key(CONTENT_TYPE) {
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let job_id = HeaderValue::from_str(run.job_id)
        .map_err(|_| format!("job id `{}` cannot be sent as a header", run.job_id))?;
    map.insert(IDEMPOTENCY_KEY, job_id);
    map.insert(TIMESTAMP_HEADER, HeaderValue::from(now));
    if let Some(var) = sign_secret_env {
        let secret = run.env.get(var).ok_or_else(|| {
            format!("the signing secret ${var} is not set in warden's environment (it is read at start-up), so the request was not sent")
        })?;
        let bytes = body.as_deref().unwrap_or("").as_bytes();
        let sig = signature(secret.expose_secret().as_bytes(), now, bytes);
        let mut value = HeaderValue::from_str(&sig).map_err(|e| e.to_string())?;
        value.set_sensitive(true);
        map.insert(SIGNATURE_HEADER, value);
    }
    if run.dry_run {
        map.insert(DRY_RUN_HEADER, HeaderValue::from_static("1"));
    }
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let mut builder = run.http.request(method, real_url.as_str()).headers(map);
    if let Some(body) = body {
        builder = builder.body(body);
    }
    let request = builder
        .build()
        .map_err(|_| format!("{shown}: the url is not valid"))?;
    Ok(Prepared { request, shown })
}

/// Runs the command's http action. The whole exchange, body included, is bounded by the
/// command's timeout; cancellation drops the request, which closes the connection.
pub(super) async fn run(run: &ActionRun<'_>) -> ActionOutcome {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let Prepared { request, shown } = match prepare(run, now) {
        Ok(prepared) => prepared,
        Err(error) => {
            run.log.info(format!("not sent: {error}"));
            return ActionOutcome::Failed { error };
        }
    };
    let started = Instant::now();
    let exchange = async {
        let mut response = run.http.execute(request).await?;
        let status = response.status();
        let mut body = Vec::new();
        let mut cut = false;
        while let Some(chunk) = response.chunk().await? {
            let room = RESPONSE_LOG_CAP - body.len();
            if chunk.len() > room {
                // The rest of the body is not read: dropping the response closes the
                // connection, which is cheaper than downloading what nobody will see.
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok::<_, reqwest::Error>((status, body, cut))
    };
    let mut cancel = run.cancel.clone();
    let result = tokio::select! {
        result = exchange => result,
        () = tokio::time::sleep(run.spec.timeout) => {
            run.log.info(format!("{shown} timed out after {}", format_duration(run.spec.timeout)));
            return ActionOutcome::TimedOut;
        }
        () = cancelled(&mut cancel) => {
            run.log.info(format!("{shown} aborted: the job was cancelled"));
            return ActionOutcome::Cancelled;
        }
    };
    let took = elapsed_text(started.elapsed());
    let (status, body, cut) = match result {
        Ok(done) => done,
        Err(err) => {
            let error = format!("{shown} failed: {}", describe(err));
            run.log.info(format!("{error} ({took})"));
            return ActionOutcome::Failed { error };
        }
    };
    let status_text = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    run.log.info(format!("{shown} → {status_text} ({took})"));
    let text = String::from_utf8_lossy(&body);
    for line in text.lines() {
        run.log.stdout(line);
    }
    if cut {
        run.log.info(format!(
            "[response truncated: only the first {} KiB are logged]",
            RESPONSE_LOG_CAP / 1024
        ));
    }
    if status.is_success() {
        ActionOutcome::Succeeded {
            summary: format!("HTTP {status_text} ({took})"),
        }
    } else {
        let first = text.lines().next().unwrap_or("").trim();
        let error = if first.is_empty() {
            format!("HTTP {status_text}")
        } else {
            // Scrubbed before it is cut, so that a cut cannot split a secret in two.
            let scrubber = run.log.scrubber();
            let first = scrubber.scrub(first);
            let kept = cap_chars(&first, ERROR_LINE_CAP);
            let kept = match kept.strip_suffix('…') {
                Some(cut) if first.chars().count() > ERROR_LINE_CAP => {
                    format!("{}…", scrubber.scrub_cut_end(cut))
                }
                _ => kept,
            };
            format!("HTTP {status_text}: {kept}")
        };
        ActionOutcome::Failed { error }
    }
}

/// A reqwest error with its causes, but without its URL, which may hold secret arguments.
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn cap_chars(text: &str, cap: usize) -> String {
    match text.char_indices().nth(cap) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}
