//! Short-lived signed links to job pages, bound to one tenant and one job, and (in `dashboard`)
//! to a tenant's dashboard.
//!
//! A link handed out in chat looks like `{public_url}/jobs/42?t={expires}.{mac}`, where `mac` is
//! the hex HMAC-SHA256 of `warden-job-link:v1:{tenant}:{job_id}:{expires}`. The tenant is not in
//! the URL: the caller looks the job up by id and verifies the token against the job's real
//! tenant, so a token minted for one tenant's job never opens another tenant's job, even when
//! both tenants happen to share a job number in some future storage layout.
//!
//! Architecture invariant: this module does no IO and reads no clock. The key and `now` (Unix
//! seconds) come in as arguments.

use hmac::{Hmac, Mac};
use sha2::Sha256;

mod dashboard;

pub use dashboard::{
    dashboard_url, sign_dashboard_link, verify_dashboard_link, DashboardGrant, DASHBOARD_TTL_SECS,
};

/// How long a link handed out in chat stays valid.
pub const LINK_TTL_SECS: i64 = 24 * 3600;

/// The domain-separation prefix of the signed message. The version lets the format change later
/// without old tokens ever verifying under a new meaning.
const MESSAGE_PREFIX: &str = "warden-job-link:v1";

/// The length of a hex-encoded HMAC-SHA256.
const MAC_HEX_LEN: usize = 64;

/// Why a job link was refused. The Display texts are safe to show to whoever clicked the link:
/// they carry no key material and do not echo the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The token is not of the form `{expires}.{64 lowercase hex digits}`.
    #[error("the link is malformed")]
    Malformed,
    /// The token is genuine but its expiry time has passed.
    #[error("the link has expired")]
    Expired,
    /// The token was not issued by this server for this job.
    #[error("the link is not valid for this job")]
    BadSignature,
}

/// Token for job `job_id` (shown as `J-{job_id}`) of `tenant`, valid until `expires` (Unix
/// seconds): `"{expires}.{hex HMAC-SHA256(key, "warden-job-link:v1:{tenant}:{job_id}:{expires}")}"`.
///
/// The token only contains digits, a dot and hex digits, so it needs no URL encoding.
pub fn sign_job_link(key: &[u8], tenant: &str, job_id: i64, expires: i64) -> String {
    let mac = job_mac(key, tenant, job_id, expires)
        .finalize()
        .into_bytes();
    format!("{expires}.{}", hex::encode(mac))
}

/// Checks a token against the job's real tenant (looked up by the caller from the job id).
///
/// The signature is checked before the expiry, so `Expired` is only ever reported for a link
/// this server really issued; a forged token is `BadSignature` whatever its expiry says. A link
/// is valid while `now < expires`. The MAC comparison is constant-time. Never panics, whatever
/// the token holds.
pub fn verify_job_link(
    key: &[u8],
    tenant: &str,
    job_id: i64,
    token: &str,
    now: i64,
) -> Result<(), LinkError> {
    let (expires, given) = parse_token(token)?;
    job_mac(key, tenant, job_id, expires)
        .verify_slice(&given)
        .map_err(|_| LinkError::BadSignature)?;
    if now >= expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

/// The full URL people click: `"{public_url}/jobs/{job_id}?t={token}"`, with a token that
/// expires [`LINK_TTL_SECS`] after `now`. A trailing slash on `public_url` is ignored.
pub fn job_url(public_url: &str, key: &[u8], tenant: &str, job_id: i64, now: i64) -> String {
    let expires = now.saturating_add(LINK_TTL_SECS);
    let token = sign_job_link(key, tenant, job_id, expires);
    format!(
        "{}/jobs/{job_id}?t={token}",
        public_url.trim_end_matches('/')
    )
}

/// The keyed MAC over the link's message, ready to finalize or verify.
fn job_mac(key: &[u8], tenant: &str, job_id: i64, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    // The job id and the expiry are integers and contain no colon, so reading the message from
    // the right recovers them and the tenant uniquely: no two inputs share a message.
    mac.update(format!("{MESSAGE_PREFIX}:{tenant}:{job_id}:{expires}").as_bytes());
    mac
}

/// Splits a token into its expiry and its raw MAC bytes, accepting only the canonical form that
/// `sign_job_link` produces so that one link has exactly one spelling.
fn parse_token(token: &str) -> Result<(i64, Vec<u8>), LinkError> {
    let (expires, mac) = token.split_once('.').ok_or(LinkError::Malformed)?;
    let canonical_number = !expires.is_empty()
        && expires.bytes().all(|b| b.is_ascii_digit())
        && (expires == "0" || !expires.starts_with('0'));
    if !canonical_number {
        return Err(LinkError::Malformed);
    }
    let expires: i64 = expires.parse().map_err(|_| LinkError::Malformed)?;
    let lowercase_hex = mac
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if mac.len() != MAC_HEX_LEN || !lowercase_hex {
        return Err(LinkError::Malformed);
    }
    let mac = hex::decode(mac).map_err(|_| LinkError::Malformed)?;
    Ok((expires, mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test link key";
    const NOW: i64 = 1_750_000_000;

    fn token() -> String {
        sign_job_link(KEY, "acme", 42, NOW + 60)
    }

    #[test]
    fn round_trip() {
        let t = token();
        assert_eq!(verify_job_link(KEY, "acme", 42, &t, NOW), Ok(()));
        assert!(t.starts_with(&format!("{}.", NOW + 60)));
        assert_eq!(t.len(), (NOW + 60).to_string().len() + 1 + MAC_HEX_LEN);
    }

    #[test]
    fn bound_to_tenant_job_and_key() {
        let t = token();
        let check = |key: &[u8], tenant: &str, job: i64| verify_job_link(key, tenant, job, &t, NOW);
        assert_eq!(check(KEY, "globex", 42), Err(LinkError::BadSignature));
        assert_eq!(check(KEY, "acme", 43), Err(LinkError::BadSignature));
        assert_eq!(check(KEY, "acme", -42), Err(LinkError::BadSignature));
        assert_eq!(
            check(b"other key", "acme", 42),
            Err(LinkError::BadSignature)
        );
        // Tenant names are free text; one that contains a colon still binds only itself.
        let t = sign_job_link(KEY, "a:1", 2, NOW + 60);
        assert_eq!(verify_job_link(KEY, "a:1", 2, &t, NOW), Ok(()));
        assert_eq!(
            verify_job_link(KEY, "a", 1, &t, NOW),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn tampered_expiry_and_mac_are_refused() {
        let t = token();
        let (_, mac) = t.split_once('.').unwrap();
        let later = format!("{}.{mac}", NOW + 999_999);
        assert_eq!(
            verify_job_link(KEY, "acme", 42, &later, NOW),
            Err(LinkError::BadSignature)
        );
        // A forged token for an expired time is still a forgery, not an expired link.
        let earlier = format!("{}.{mac}", NOW - 1);
        assert_eq!(
            verify_job_link(KEY, "acme", 42, &earlier, NOW),
            Err(LinkError::BadSignature)
        );

        let mut flipped = t.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            verify_job_link(KEY, "acme", 42, &flipped, NOW),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn expiry_boundary() {
        let t = sign_job_link(KEY, "acme", 42, NOW);
        assert_eq!(verify_job_link(KEY, "acme", 42, &t, NOW - 1), Ok(()));
        assert_eq!(
            verify_job_link(KEY, "acme", 42, &t, NOW),
            Err(LinkError::Expired)
        );
        assert_eq!(
            verify_job_link(KEY, "acme", 42, &t, NOW + 1),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn garbage_tokens_are_malformed_and_never_panic() {
        let t = token();
        let (exp, mac) = t.split_once('.').unwrap();
        let cases = [
            String::new(),
            ".".into(),
            "abc".into(),
            exp.to_string(),
            format!("{exp}."),
            format!(".{mac}"),
            format!("-{exp}.{mac}"),
            format!("+{exp}.{mac}"),
            format!("0{exp}.{mac}"),
            format!(" {exp}.{mac}"),
            format!("{exp}.{mac} "),
            format!("{exp}.{}", mac.to_uppercase()),
            format!("{exp}.{}", &mac[..63]),
            format!("{exp}.{mac}0"),
            format!("{exp}.{mac}.{mac}"),
            format!("99999999999999999999.{mac}"),
            format!("{exp}.{}", "g".repeat(64)),
            format!("{exp}.{}", "é".repeat(32)),
            "\u{0}.\u{0}".into(),
        ];
        for case in cases {
            assert_eq!(
                verify_job_link(KEY, "acme", 42, &case, NOW),
                Err(LinkError::Malformed),
                "{case:?}"
            );
        }
    }

    #[test]
    fn url_has_the_token_and_a_day_of_validity() {
        let url = job_url("https://warden.example/", KEY, "acme", 42, NOW);
        let token = url
            .strip_prefix("https://warden.example/jobs/42?t=")
            .expect(&url);
        assert_eq!(token, sign_job_link(KEY, "acme", 42, NOW + LINK_TTL_SECS));
        assert_eq!(
            verify_job_link(KEY, "acme", 42, token, NOW + LINK_TTL_SECS - 1),
            Ok(())
        );
        assert_eq!(
            verify_job_link(KEY, "acme", 42, token, NOW + LINK_TTL_SECS),
            Err(LinkError::Expired)
        );
    }
}
