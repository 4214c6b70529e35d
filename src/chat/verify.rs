//! Signature verification of incoming chat requests, on the raw bytes, before anything is parsed.
//!
//! Architecture invariant: this module does no IO. The caller passes the clock (`now`, Unix
//! seconds), the headers' values and the raw body, and gets back either the replay key to record
//! or the reason for the rejection. Every comparison of a secret-derived value is constant-time.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far a request's timestamp may be from our clock, in seconds, in either direction.
pub const MAX_SKEW_SECS: i64 = 300;

/// Why a request was rejected. The variant names are the `reason` label of
/// `warden_requests_rejected_total`, so they are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A required signature or timestamp header is absent.
    #[error("missing signature headers")]
    MissingHeaders,
    /// The timestamp header is not an integer.
    #[error("malformed timestamp")]
    BadTimestamp,
    /// The timestamp is more than five minutes away from now.
    #[error("timestamp outside the 300 s window")]
    StaleTimestamp,
    /// The signature header is not of the expected form.
    #[error("malformed signature")]
    MalformedSignature,
    /// No configured secret or key produced this signature.
    #[error("signature mismatch")]
    BadSignature,
    /// The platform is not configured on this server.
    #[error("platform not configured")]
    NotConfigured,
}

impl Rejection {
    /// The stable label used in metrics and logs.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::MissingHeaders => "missing_headers",
            Rejection::BadTimestamp => "bad_timestamp",
            Rejection::StaleTimestamp => "stale_timestamp",
            Rejection::MalformedSignature => "malformed_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::NotConfigured => "not_configured",
        }
    }
}

fn check_window(timestamp: Option<&str>, now: i64) -> Result<i64, Rejection> {
    let ts: i64 = timestamp
        .ok_or(Rejection::MissingHeaders)?
        .trim()
        .parse()
        .map_err(|_| Rejection::BadTimestamp)?;
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(Rejection::StaleTimestamp);
    }
    Ok(ts)
}

/// Computes Slack's `v0=` signature of a request. Exposed for tests, the load generator and the
/// demo, which sign requests exactly as Slack does.
pub fn slack_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verifies a Slack request signed with HMAC-SHA256 (`X-Slack-Signature`,
/// `X-Slack-Request-Timestamp`). Several secrets may be configured during a rotation; any of
/// them may have signed the request. Returns the replay key (the signature itself, which is
/// unique per timestamp and body).
pub fn verify_slack(
    secrets: &[SecretString],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<String, Rejection> {
    if secrets.is_empty() {
        return Err(Rejection::NotConfigured);
    }
    let signature = signature.ok_or(Rejection::MissingHeaders)?;
    let timestamp_str = timestamp.ok_or(Rejection::MissingHeaders)?;
    check_window(Some(timestamp_str), now)?;
    let given = signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .filter(|b| b.len() == 32)
        .ok_or(Rejection::MalformedSignature)?;
    // Every secret is tried, even after a match, so that the time taken does not tell which
    // secret (old or new) signed the request.
    let mut matched = false;
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(b"v0:");
        mac.update(timestamp_str.trim().as_bytes());
        mac.update(b":");
        mac.update(body);
        matched |= mac.verify_slice(&given).is_ok();
    }
    if matched {
        Ok(format!("slack-sig:{}", hex::encode(given)))
    } else {
        Err(Rejection::BadSignature)
    }
}

/// Verifies a Discord interaction signed with Ed25519 (`X-Signature-Ed25519` over
/// `X-Signature-Timestamp` followed by the raw body). Discord itself sends deliberately invalid
/// signatures to check that endpoints refuse them, so this must never be lenient. The same
/// five-minute window as Slack's applies, so that a captured request cannot be replayed after
/// the replay keys are purged.
pub fn verify_discord(
    key: Option<&VerifyingKey>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Rejection> {
    let key = key.ok_or(Rejection::NotConfigured)?;
    let signature = signature.ok_or(Rejection::MissingHeaders)?;
    let timestamp_str = timestamp.ok_or(Rejection::MissingHeaders)?;
    check_window(Some(timestamp_str), now)?;
    let bytes: [u8; 64] = hex::decode(signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Rejection::MalformedSignature)?;
    let sig = Signature::from_bytes(&bytes);
    let mut message = Vec::with_capacity(timestamp_str.len() + body.len());
    message.extend_from_slice(timestamp_str.as_bytes());
    message.extend_from_slice(body);
    key.verify(&message, &sig)
        .map_err(|_| Rejection::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    /// Slack's published example, from slack_sdk's signature verifier tests.
    const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const SLACK_TS: &str = "1531420618";
    const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SLACK_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    /// Secrets, timestamp, signature, body, now, and the expected rejection.
    type Case<'a> = (
        Vec<SecretString>,
        Option<&'a str>,
        Option<&'a str>,
        &'a [u8],
        i64,
        Rejection,
    );

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    #[test]
    fn slack_published_vector() {
        assert_eq!(
            slack_signature(SLACK_SECRET, SLACK_TS, SLACK_BODY.as_bytes()),
            SLACK_SIG
        );
        let now = SLACK_TS.parse::<i64>().unwrap() + 10;
        let key = verify_slack(
            &secrets(&[SLACK_SECRET]),
            Some(SLACK_TS),
            Some(SLACK_SIG),
            SLACK_BODY.as_bytes(),
            now,
        )
        .unwrap();
        assert_eq!(key, format!("slack-sig:{}", &SLACK_SIG[3..]));
    }

    #[test]
    fn slack_rejections() {
        let now = SLACK_TS.parse::<i64>().unwrap();
        let good = secrets(&[SLACK_SECRET]);
        let mut tampered = SLACK_BODY.as_bytes().to_vec();
        tampered[10] ^= 1;
        let cases: Vec<Case<'_>> = vec![
            (
                good.clone(),
                Some(SLACK_TS),
                Some(SLACK_SIG),
                &tampered,
                now,
                Rejection::BadSignature,
            ),
            (
                secrets(&["wrong"]),
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY.as_bytes(),
                now,
                Rejection::BadSignature,
            ),
            (
                good.clone(),
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY.as_bytes(),
                now + 301,
                Rejection::StaleTimestamp,
            ),
            (
                good.clone(),
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY.as_bytes(),
                now - 301,
                Rejection::StaleTimestamp,
            ),
            (
                good.clone(),
                None,
                Some(SLACK_SIG),
                SLACK_BODY.as_bytes(),
                now,
                Rejection::MissingHeaders,
            ),
            (
                good.clone(),
                Some(SLACK_TS),
                None,
                SLACK_BODY.as_bytes(),
                now,
                Rejection::MissingHeaders,
            ),
            (
                good.clone(),
                Some("soon"),
                Some(SLACK_SIG),
                SLACK_BODY.as_bytes(),
                now,
                Rejection::BadTimestamp,
            ),
            (
                good.clone(),
                Some(SLACK_TS),
                Some("v1=abcd"),
                SLACK_BODY.as_bytes(),
                now,
                Rejection::MalformedSignature,
            ),
            (
                good.clone(),
                Some(SLACK_TS),
                Some("v0=zz"),
                SLACK_BODY.as_bytes(),
                now,
                Rejection::MalformedSignature,
            ),
            (
                vec![],
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY.as_bytes(),
                now,
                Rejection::NotConfigured,
            ),
        ];
        for (i, (secrets, ts, sig, body, now, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                verify_slack(&secrets, ts, sig, body, now),
                Err(want),
                "case {i}"
            );
        }
        // The window is inclusive at exactly 300 s.
        assert!(verify_slack(
            &good,
            Some(SLACK_TS),
            Some(SLACK_SIG),
            SLACK_BODY.as_bytes(),
            now + 300
        )
        .is_ok());
    }

    #[test]
    fn slack_rotation_accepts_old_and_new() {
        let now = SLACK_TS.parse::<i64>().unwrap();
        let both = secrets(&["new-secret", SLACK_SECRET]);
        assert!(verify_slack(
            &both,
            Some(SLACK_TS),
            Some(SLACK_SIG),
            SLACK_BODY.as_bytes(),
            now
        )
        .is_ok());
        let new_sig = slack_signature("new-secret", SLACK_TS, SLACK_BODY.as_bytes());
        assert!(verify_slack(
            &both,
            Some(SLACK_TS),
            Some(&new_sig),
            SLACK_BODY.as_bytes(),
            now
        )
        .is_ok());
    }

    #[test]
    fn discord_signatures() {
        let signing = SigningKey::from_bytes(&[7u8; 32]);
        let key = signing.verifying_key();
        let body = br#"{"type":1,"id":"1"}"#;
        let ts = "1700000000";
        let mut msg = ts.as_bytes().to_vec();
        msg.extend_from_slice(body);
        let sig = hex::encode(signing.sign(&msg).to_bytes());
        let now = 1_700_000_010;
        assert_eq!(
            verify_discord(Some(&key), Some(ts), Some(&sig), body, now),
            Ok(())
        );
        assert_eq!(
            verify_discord(
                Some(&key),
                Some(ts),
                Some(&sig),
                br#"{"type":2,"id":"1"}"#,
                now
            ),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            verify_discord(Some(&key), Some("1700000001"), Some(&sig), body, now),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            verify_discord(Some(&key), Some(ts), Some(&sig), body, now + 400),
            Err(Rejection::StaleTimestamp)
        );
        assert_eq!(
            verify_discord(Some(&key), Some(ts), Some("00"), body, now),
            Err(Rejection::MalformedSignature)
        );
        assert_eq!(
            verify_discord(Some(&key), None, Some(&sig), body, now),
            Err(Rejection::MissingHeaders)
        );
        assert_eq!(
            verify_discord(None, Some(ts), Some(&sig), body, now),
            Err(Rejection::NotConfigured)
        );
    }
}
