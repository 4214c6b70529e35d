//! Signed links to a tenant's dashboard (SPEC §18), bound to the tenant, the role the caller
//! held when `/ops dashboard` handed the link out, and who asked.
//!
//! A token is `{expires}.{role}.{tenant}.{actor}.{mac}`: the tenant and actor are base64url
//! (no padding), so the token needs no URL encoding whatever the names hold, and `mac` is the
//! hex HMAC-SHA256 of `warden-dashboard-link:v1:{expires}:{role}:{len(tenant)}:{tenant}:{actor}`.
//! The prefix differs from the job links' (`warden-job-link:v1`), so a job token never opens a
//! dashboard and a dashboard token never opens a job page, even though both use the same key.
//! Unlike a job link, the tenant is in the token: the route has no other way to know it, and
//! the MAC makes it as trustworthy as the rest.
//!
//! Architecture invariant: no IO and no clock, as in the parent module.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::LinkError;
use crate::model::Role;

/// How long a dashboard link stays valid at most: a working shift, well under the 24 h the
/// contract allows, because the page is meant for a screen in a room, where a link lingers.
pub const DASHBOARD_TTL_SECS: i64 = 12 * 3600;

const MESSAGE_PREFIX: &str = "warden-dashboard-link:v1";

/// What a verified dashboard token says: whose tenant, with which role, for whom, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardGrant {
    /// The tenant whose dashboard it opens.
    pub tenant: String,
    /// The role the caller held in the tenant when the link was made.
    pub role: Role,
    /// Who asked for the link (the audit log's actor name).
    pub actor: String,
    /// Unix seconds after which the link is refused.
    pub expires: i64,
}

/// The token for `grant`.
pub fn sign_dashboard_link(key: &[u8], grant: &DashboardGrant) -> String {
    let mac = mac(key, grant).finalize().into_bytes();
    format!(
        "{}.{}.{}.{}.{}",
        grant.expires,
        grant.role.as_str(),
        URL_SAFE_NO_PAD.encode(&grant.tenant),
        URL_SAFE_NO_PAD.encode(&grant.actor),
        hex::encode(mac)
    )
}

/// Checks a dashboard token and returns what it grants. As for job links, the signature is
/// checked before the expiry (only a genuine link is ever reported `Expired`), the comparison
/// is constant-time, and no input makes it panic.
pub fn verify_dashboard_link(
    key: &[u8],
    token: &str,
    now: i64,
) -> Result<DashboardGrant, LinkError> {
    let grant_and_mac = parse(token)?;
    let (grant, given) = grant_and_mac;
    mac(key, &grant)
        .verify_slice(&given)
        .map_err(|_| LinkError::BadSignature)?;
    if now >= grant.expires {
        return Err(LinkError::Expired);
    }
    Ok(grant)
}

/// The URL people click: `"{public_url}/dashboard?t={token}"`.
pub fn dashboard_url(public_url: &str, key: &[u8], grant: &DashboardGrant) -> String {
    format!(
        "{}/dashboard?t={}",
        public_url.trim_end_matches('/'),
        sign_dashboard_link(key, grant)
    )
}

fn mac(key: &[u8], grant: &DashboardGrant) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    // The tenant's length comes before it, so a colon in a tenant or actor name cannot move
    // the boundary between them: no two grants share a message.
    mac.update(
        format!(
            "{MESSAGE_PREFIX}:{}:{}:{}:{}:{}",
            grant.expires,
            grant.role.as_str(),
            grant.tenant.len(),
            grant.tenant,
            grant.actor
        )
        .as_bytes(),
    );
    mac
}

fn parse(token: &str) -> Result<(DashboardGrant, Vec<u8>), LinkError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [expires, role, tenant, actor, mac] = parts[..] else {
        return Err(LinkError::Malformed);
    };
    let canonical_number = !expires.is_empty()
        && expires.bytes().all(|b| b.is_ascii_digit())
        && (expires == "0" || !expires.starts_with('0'));
    if !canonical_number {
        return Err(LinkError::Malformed);
    }
    let expires: i64 = expires.parse().map_err(|_| LinkError::Malformed)?;
    let role: Role = role.parse().map_err(|_| LinkError::Malformed)?;
    let text = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|s| !s.is_empty())
            .ok_or(LinkError::Malformed)
    };
    let (tenant, actor) = (text(tenant)?, text(actor)?);
    let lowercase_hex = mac
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if mac.len() != 64 || !lowercase_hex {
        return Err(LinkError::Malformed);
    }
    let mac = hex::decode(mac).map_err(|_| LinkError::Malformed)?;
    Ok((
        DashboardGrant {
            tenant,
            role,
            actor,
            expires,
        },
        mac,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::{sign_job_link, verify_job_link};

    const KEY: &[u8] = b"test link key";
    const NOW: i64 = 1_750_000_000;

    fn grant(tenant: &str) -> DashboardGrant {
        DashboardGrant {
            tenant: tenant.into(),
            role: Role::Operator,
            actor: "alice".into(),
            expires: NOW + 60,
        }
    }

    #[test]
    fn round_trip_keeps_tenant_role_and_actor() {
        let g = DashboardGrant {
            tenant: "a:b/c?d".into(),
            actor: "slack:T1/U1".into(),
            ..grant("x")
        };
        let token = sign_dashboard_link(KEY, &g);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        assert_eq!(verify_dashboard_link(KEY, &token, NOW), Ok(g));
    }

    #[test]
    fn another_tenant_role_or_key_does_not_verify() {
        let token = sign_dashboard_link(KEY, &grant("acme"));
        let parts: Vec<&str> = token.split('.').collect();
        let swap = |i: usize, value: &str| {
            let mut p = parts.clone();
            p[i] = value;
            p.join(".")
        };
        let globex = URL_SAFE_NO_PAD.encode("globex");
        let bob = URL_SAFE_NO_PAD.encode("bob");
        for forged in [swap(1, "admin"), swap(2, &globex), swap(3, &bob)] {
            assert_eq!(
                verify_dashboard_link(KEY, &forged, NOW),
                Err(LinkError::BadSignature),
                "{forged}"
            );
        }
        assert_eq!(
            verify_dashboard_link(b"other", &token, NOW),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn job_and_dashboard_tokens_are_not_interchangeable() {
        let job = sign_job_link(KEY, "acme", 42, NOW + 60);
        assert!(verify_dashboard_link(KEY, &job, NOW).is_err());
        let dash = sign_dashboard_link(KEY, &grant("acme"));
        assert!(verify_job_link(KEY, "acme", 42, &dash, NOW).is_err());
    }

    #[test]
    fn expiry_is_checked_after_the_signature() {
        let token = sign_dashboard_link(KEY, &grant("acme"));
        assert_eq!(
            verify_dashboard_link(KEY, &token, NOW + 60),
            Err(LinkError::Expired)
        );
        let later = token.replacen(&(NOW + 60).to_string(), &(NOW + 999).to_string(), 1);
        assert_eq!(
            verify_dashboard_link(KEY, &later, NOW + 60),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_malformed_and_never_panics() {
        let token = sign_dashboard_link(KEY, &grant("acme"));
        for case in [
            String::new(),
            "....".into(),
            format!("{token}."),
            token.replacen("operator", "root", 1),
            token.replacen('.', "..", 1),
            format!("0{token}"),
            "1.viewer.!!.YQ.00".into(),
            "\u{0}".into(),
        ] {
            assert_eq!(
                verify_dashboard_link(KEY, &case, NOW),
                Err(LinkError::Malformed),
                "{case:?}"
            );
        }
    }
}
