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
    /// The timestamp header is not a plain decimal number of seconds.
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

/// The longest timestamp accepted, in digits: every Unix time up to the year 2286 has ten
/// digits, and anything longer than `i64::MAX` (19 digits) cannot be a time at all.
const MAX_TIMESTAMP_DIGITS: usize = 19;

/// Parses a timestamp header and checks that it lies within `MAX_SKEW_SECS` of `now`.
///
/// The header must be plain ASCII digits: no sign, no whitespace, nothing a lenient integer
/// parser would forgive, so that the text that is signed is exactly the number that is checked.
/// The distance is computed without overflow (`abs_diff`), so an absurd timestamp such as
/// `now - 2^63` is stale rather than wrapping round to "fresh".
fn check_window(timestamp: Option<&str>, now: i64) -> Result<i64, Rejection> {
    let text = timestamp.ok_or(Rejection::MissingHeaders)?;
    if text.is_empty()
        || text.len() > MAX_TIMESTAMP_DIGITS
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Rejection::BadTimestamp);
    }
    let ts: i64 = text.parse().map_err(|_| Rejection::BadTimestamp)?;
    if now.abs_diff(ts) > MAX_SKEW_SECS.unsigned_abs() {
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
        mac.update(timestamp_str.as_bytes());
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

/// Verifies a monitoring system's `Authorization: Bearer <token>` (SPEC §15). Both tokens are
/// hashed before the constant-time comparison, so neither their content nor their length
/// shows in the time taken.
pub fn verify_bearer(
    expected: &SecretString,
    authorization: Option<&str>,
) -> Result<(), Rejection> {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let given = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or(Rejection::MissingHeaders)?;
    let a = Sha256::digest(given.trim().as_bytes());
    let b = Sha256::digest(expected.expose_secret().as_bytes());
    if bool::from(a.ct_eq(&b)) {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
}

/// Verifies warden's own request signature (SPEC §5), as monitoring systems may send it:
/// `X-Warden-Timestamp` within 300 s of now and `X-Warden-Signature: v1=hex(HMAC-SHA256(secret,
/// "{timestamp}.{body}"))`, compared in constant time.
pub fn verify_warden_signature(
    secret: &SecretString,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Rejection> {
    let signature = signature.ok_or(Rejection::MissingHeaders)?;
    let timestamp_str = timestamp.ok_or(Rejection::MissingHeaders)?;
    check_window(Some(timestamp_str), now)?;
    let given = signature
        .strip_prefix("v1=")
        .and_then(|h| hex::decode(h).ok())
        .filter(|b| b.len() == 32)
        .ok_or(Rejection::MalformedSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp_str.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given)
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

    /// The window check on extreme and malformed timestamps: nothing overflows, and only plain
    /// digits within 300 s of now are fresh.
    #[test]
    fn timestamp_window_extremes() {
        let now: i64 = 1_700_000_000;
        let min = i64::MIN.to_string();
        let max = i64::MAX.to_string();
        let far_past = (now as i128 - (1i128 << 63)).to_string();
        let huge = "9".repeat(40);
        let cases: Vec<(&str, i64, Result<i64, Rejection>)> = vec![
            ("1700000000", now, Ok(now)),
            ("1700000300", now, Ok(now + 300)),
            ("1699999700", now, Ok(now - 300)),
            ("1700000301", now, Err(Rejection::StaleTimestamp)),
            ("1699999699", now, Err(Rejection::StaleTimestamp)),
            ("0", now, Err(Rejection::StaleTimestamp)),
            (&max, now, Err(Rejection::StaleTimestamp)),
            (&max, i64::MIN, Err(Rejection::StaleTimestamp)),
            ("0", i64::MIN, Err(Rejection::StaleTimestamp)),
            ("0", i64::MAX, Err(Rejection::StaleTimestamp)),
            (&max, i64::MAX, Ok(i64::MAX)),
            (&min, now, Err(Rejection::BadTimestamp)),
            (&min, i64::MAX, Err(Rejection::BadTimestamp)),
            (&far_past, now, Err(Rejection::BadTimestamp)),
            ("9223372036854775808", now, Err(Rejection::BadTimestamp)),
            (&huge, now, Err(Rejection::BadTimestamp)),
            ("-1700000000", now, Err(Rejection::BadTimestamp)),
            ("-0", now, Err(Rejection::BadTimestamp)),
            ("+1700000000", now, Err(Rejection::BadTimestamp)),
            (" 1700000000", now, Err(Rejection::BadTimestamp)),
            ("1700000000 ", now, Err(Rejection::BadTimestamp)),
            ("1700000000\n", now, Err(Rejection::BadTimestamp)),
            ("17000 00000", now, Err(Rejection::BadTimestamp)),
            ("1700000000.0", now, Err(Rejection::BadTimestamp)),
            ("0x6553f100", now, Err(Rejection::BadTimestamp)),
            ("\u{0661}\u{0667}", now, Err(Rejection::BadTimestamp)),
            ("", now, Err(Rejection::BadTimestamp)),
        ];
        for (ts, now, want) in cases {
            assert_eq!(
                check_window(Some(ts), now),
                want,
                "timestamp {ts:?} at {now}"
            );
        }
        assert_eq!(check_window(None, now), Err(Rejection::MissingHeaders));
    }

    /// A request correctly signed over an absurd timestamp (`now - 2^63`, whose distance from
    /// now overflows an i64) is refused by both platforms, never taken as fresh.
    #[test]
    fn signed_absurd_timestamps_are_refused() {
        let now: i64 = 1_700_000_000;
        let far_past = (now as i128 - (1i128 << 63)).to_string();
        let body = b"text=deploy";
        for ts in [far_past.as_str(), "-9223372036854775808", "+1700000000"] {
            let sig = slack_signature(SLACK_SECRET, ts, body);
            assert!(
                verify_slack(&secrets(&[SLACK_SECRET]), Some(ts), Some(&sig), body, now).is_err(),
                "slack accepted {ts}"
            );
            let signing = SigningKey::from_bytes(&[7u8; 32]);
            let mut msg = ts.as_bytes().to_vec();
            msg.extend_from_slice(body);
            let sig = hex::encode(signing.sign(&msg).to_bytes());
            assert!(
                verify_discord(
                    Some(&signing.verifying_key()),
                    Some(ts),
                    Some(&sig),
                    body,
                    now
                )
                .is_err(),
                "discord accepted {ts}"
            );
        }
    }
}
