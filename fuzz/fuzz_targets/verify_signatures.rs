//! Signature verification of chat requests: Slack's HMAC v0 and Discord's Ed25519.
//!
//! Input: a Slack slash-command request as it arrives, in lines: the secret, the
//! `X-Slack-Request-Timestamp` header, the `X-Slack-Signature` header, then the raw body (the
//! rest of the input, bytes as they are).
//!
//! Invariants:
//! - a body signed with secret S at timestamp T verifies with S (alone or beside another secret,
//!   as during a rotation) at any `now` within 300 s of T, and not beyond; its replay key is the
//!   signature;
//! - changing any one byte of the body, the timestamp or the signature is refused, unless the
//!   changed signature is the same MAC (hex digits in upper case), which then has the same
//!   replay key, so it cannot be used to replay the request;
//! - the headers exactly as given never panic, and are accepted only when they are the
//!   signature of the body at a timestamp of plain digits within the window;
//! - the same for Discord's Ed25519 signature over timestamp and body.
#![no_main]

use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use warden::chat::verify::{slack_signature, verify_discord, verify_slack, Rejection};

/// A clock near the seed's timestamps, so that the fuzzer meets the window's edges.
const NOW: i64 = 1_531_420_618;

fn secrets(list: &[&str]) -> Vec<SecretString> {
    list.iter()
        .map(|s| SecretString::from(s.to_string()))
        .collect()
}

/// `bytes` with the byte at `at` (modulo the length) changed, or `None` for empty input.
fn flip(bytes: &[u8], at: usize, by: u8) -> Option<Vec<u8>> {
    if bytes.is_empty() {
        return None;
    }
    let mut changed = bytes.to_vec();
    let i = at % changed.len();
    changed[i] ^= by.max(1);
    Some(changed)
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let (Some(secret), Some(ts), Some(sig), body) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next().unwrap_or(b""),
    ) else {
        return;
    };
    let (Ok(secret), Ok(ts_header), Ok(sig_header)) = (
        std::str::from_utf8(secret),
        std::str::from_utf8(ts),
        std::str::from_utf8(sig),
    ) else {
        return;
    };
    // Bytes of the input that choose the clock and the mutations.
    let knob = |i: usize| {
        data.get(data.len().saturating_sub(1 + i))
            .copied()
            .unwrap_or(0)
    };

    // The headers as given: no panic, and acceptance only for the real signature in the window.
    let given = verify_slack(
        &secrets(&[secret]),
        Some(ts_header),
        Some(sig_header),
        body,
        NOW,
    );
    if let Ok(key) = &given {
        let ts: i64 = ts_header
            .parse()
            .expect("an accepted timestamp is a number");
        assert!(ts_header.bytes().all(|b| b.is_ascii_digit()));
        assert!((ts - NOW).abs() <= 300);
        let expected = slack_signature(secret, ts_header, body);
        assert_eq!(sig_header.to_ascii_lowercase(), expected);
        assert_eq!(key, &format!("slack-sig:{}", &expected[3..]));
    }

    // A correctly signed request at a timestamp near the clock.
    let skew = i64::from(knob(0) as i8) * 3;
    let ts = (NOW + skew).to_string();
    let signature = slack_signature(secret, &ts, body);
    let fresh = skew.abs() <= 300;
    let rotated = secrets(&["the-other-secret-during-a-rotation", secret]);
    for list in [secrets(&[secret]), rotated] {
        let result = verify_slack(&list, Some(&ts), Some(&signature), body, NOW);
        if fresh {
            assert_eq!(result, Ok(format!("slack-sig:{}", &signature[3..])));
        } else {
            assert_eq!(result, Err(Rejection::StaleTimestamp));
        }
    }
    if !fresh {
        return;
    }
    let at = usize::from(knob(1)) << 8 | usize::from(knob(2));
    let by = knob(3);
    let good = secrets(&[secret]);
    if let Some(body) = flip(body, at, by) {
        assert_eq!(
            verify_slack(&good, Some(&ts), Some(&signature), &body, NOW),
            Err(Rejection::BadSignature),
            "a changed body was accepted"
        );
    }
    if let Some(changed) = flip(ts.as_bytes(), at, by) {
        if let Ok(changed) = String::from_utf8(changed) {
            assert!(
                verify_slack(&good, Some(&changed), Some(&signature), body, NOW).is_err(),
                "a changed timestamp {changed:?} was accepted"
            );
        }
    }
    if let Some(changed) = flip(signature.as_bytes(), at, by) {
        if let Ok(changed) = String::from_utf8(changed) {
            match verify_slack(&good, Some(&ts), Some(&changed), body, NOW) {
                Err(_) => {}
                Ok(key) => {
                    assert_eq!(
                        changed.to_ascii_lowercase(),
                        signature,
                        "{changed:?} accepted"
                    );
                    assert_eq!(key, format!("slack-sig:{}", &signature[3..]));
                }
            }
        }
    }

    // Discord: the same request signed with a key derived from the secret.
    let mut seed = [0u8; 32];
    for (i, b) in secret.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    let signing = SigningKey::from_bytes(&seed);
    let key = signing.verifying_key();
    let mut message = ts.as_bytes().to_vec();
    message.extend_from_slice(body);
    let discord_sig = hex::encode(signing.sign(&message).to_bytes());
    assert_eq!(
        verify_discord(Some(&key), Some(&ts), Some(&discord_sig), body, NOW),
        Ok(())
    );
    if let Some(changed) = flip(body, at, by) {
        assert_eq!(
            verify_discord(Some(&key), Some(&ts), Some(&discord_sig), &changed, NOW),
            Err(Rejection::BadSignature)
        );
    }
    if let Some(changed) = flip(ts.as_bytes(), at, by) {
        if let Ok(changed) = String::from_utf8(changed) {
            assert!(
                verify_discord(Some(&key), Some(&changed), Some(&discord_sig), body, NOW).is_err()
            );
        }
    }
    // Any header values as given: no panic, and acceptance only in the window.
    if verify_discord(Some(&key), Some(ts_header), Some(sig_header), body, NOW).is_ok() {
        assert!(ts_header.bytes().all(|b| b.is_ascii_digit()));
        assert!((ts_header.parse::<i64>().unwrap() - NOW).abs() <= 300);
    }
});
