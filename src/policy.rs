//! Pure access decisions: who is asking ([`identity`]), which roles they hold ([`bindings`]),
//! whether that is enough ([`decide`]) and whether they are going too fast ([`rate`]).
//!
//! Architecture invariant: nothing here does IO or reads the clock. The caller passes the
//! directory, the bindings (from `warden.toml` and later from the database), the usage counts and
//! `now`, so every decision can be tested with a table and replayed from an audit record.

pub mod bindings;
pub mod decide;
pub mod identity;
pub mod rate;
pub mod who;

pub use bindings::{grants_for, Grant};
pub use decide::{authorize, may_run, roles_summary, Denied};
pub use identity::{principal_for, tenant_for, Principal};
pub use rate::RateLimited;
pub use who::{candidates, identity_in, who_can, Allowed};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::config::{parse_directory, Directory};
    use crate::model::{Platform, PlatformUser, Role, Subject};

    const FIXTURE: &str = r#"
[tenants.acme]
slack_team = "T01"
discord_guild = "900"

[tenants.globex]
slack_team = "T02"

[people.alice]
display_name = "Alice"
slack = "T01/UA"
discord = "900/1"

[people.bob]
slack = ["T01/UB", "T02/UB"]

[groups]
everyone = ["alice", "bob"]
sre = ["alice"]

[[bindings]]
subject = "group:everyone"
tenant = "acme"
role = "viewer"

[[bindings]]
subject = "group:sre"
tenant = "acme"
role = "operator"
environments = ["staging", "prod"]

[[bindings]]
subject = "alice"
tenant = "acme"
role = "admin"
environments = ["staging"]
expires = "2026-06-01T00:00:00Z"

[[bindings]]
subject = "slack:T01/U99"
tenant = "acme"
role = "viewer"
environments = ["dev"]

[[bindings]]
subject = "bob"
tenant = "globex"
role = "admin"
"#;

    fn dir() -> Directory {
        parse_directory(Path::new("warden.toml"), FIXTURE).unwrap()
    }

    fn user(platform: Platform, workspace: &str, id: &str) -> PlatformUser {
        PlatformUser {
            platform,
            workspace: workspace.into(),
            user: id.into(),
        }
    }

    fn at(day: u32, hour: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, day, hour, 0, second).unwrap()
    }

    #[test]
    fn tenants_by_workspace() {
        let dir = dir();
        let cases = [
            (Platform::Slack, "T01", Some("acme")),
            (Platform::Slack, "T02", Some("globex")),
            (Platform::Slack, "900", None),
            (Platform::Discord, "900", Some("acme")),
            (Platform::Discord, "T01", None),
            (Platform::Console, "globex", Some("globex")),
            (Platform::Console, "T01", None),
            (Platform::Slack, "T99", None),
        ];
        for (platform, workspace, want) in cases {
            let got = tenant_for(&dir, platform, workspace).map(|t| t.name.as_str());
            assert_eq!(got, want, "{platform} {workspace}");
        }
    }

    #[test]
    fn principals() {
        let dir = dir();
        let cases = [
            (
                user(Platform::Slack, "T01", "UA"),
                Some("alice"),
                vec!["everyone", "sre"],
                "Alice",
            ),
            (
                user(Platform::Discord, "900", "1"),
                Some("alice"),
                vec!["everyone", "sre"],
                "Alice",
            ),
            (
                user(Platform::Slack, "T01", "UB"),
                Some("bob"),
                vec!["everyone"],
                "bob",
            ),
            (
                user(Platform::Slack, "T01", "U99"),
                None,
                vec![],
                "slack:T01/U99",
            ),
            // The same user id in another workspace is another person.
            (
                user(Platform::Slack, "T03", "UA"),
                None,
                vec![],
                "slack:T03/UA",
            ),
            (
                user(Platform::Console, "acme", "bob"),
                Some("bob"),
                vec!["everyone"],
                "bob",
            ),
            (
                user(Platform::Console, "acme", "nobody"),
                None,
                vec![],
                "console:acme/nobody",
            ),
        ];
        for (u, person, groups, display) in cases {
            let p = principal_for(&dir, "acme", &u);
            assert_eq!(p.tenant, "acme");
            assert_eq!(p.person.as_deref(), person, "{u}");
            assert_eq!(p.groups, groups, "{u}");
            assert_eq!(p.display, display, "{u}");
            assert!(p.is(&Subject::User(u.clone())));
            assert_eq!(
                p.subjects().len(),
                1 + usize::from(person.is_some()) + groups.len()
            );
            assert!(p.subjects().iter().all(|s| p.is(s)));
        }
        let alice = principal_for(&dir, "acme", &user(Platform::Slack, "T01", "UA"));
        assert!(alice.is(&Subject::Person("alice".into())));
        assert!(!alice.is(&Subject::Person("bob".into())));
        assert!(alice.is(&Subject::Group("sre".into())));
        assert!(!alice.is(&Subject::Group("oncall".into())));
        assert!(!alice.is(&Subject::User(user(Platform::Discord, "900", "2"))));
    }

    fn roles(dir: &Directory, tenant: &str, u: &PlatformUser, now: DateTime<Utc>) -> Vec<Role> {
        let p = principal_for(dir, tenant, u);
        grants_for(&dir.bindings, &p, now)
            .into_iter()
            .map(|g| g.role)
            .collect()
    }

    #[test]
    fn grants_expire_at_the_exact_boundary() {
        let dir = dir();
        let alice = user(Platform::Slack, "T01", "UA");
        let expiry = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let one_second = chrono::Duration::seconds(1);
        let cases = [
            (
                expiry - one_second,
                vec![Role::Admin, Role::Operator, Role::Viewer],
            ),
            (expiry, vec![Role::Operator, Role::Viewer]),
            (expiry + one_second, vec![Role::Operator, Role::Viewer]),
        ];
        for (now, want) in cases {
            assert_eq!(roles(&dir, "acme", &alice, now), want, "{now}");
        }
    }

    #[test]
    fn cross_tenant_bindings_never_apply() {
        let dir = dir();
        let now = at(1, 12, 0);
        let bob_acme = user(Platform::Slack, "T01", "UB");
        let bob_globex = user(Platform::Slack, "T02", "UB");
        assert_eq!(roles(&dir, "acme", &bob_acme, now), [Role::Viewer]);
        // Bob's globex admin binding does not follow him into acme, whichever identity he uses.
        assert_eq!(roles(&dir, "acme", &bob_globex, now), [Role::Viewer]);
        assert_eq!(roles(&dir, "globex", &bob_globex, now), [Role::Admin]);
        // Alice's acme roles do not exist in globex.
        let alice = user(Platform::Slack, "T01", "UA");
        assert!(roles(&dir, "globex", &alice, now).is_empty());
        // An unlinked user gets only the bindings naming it directly.
        let stranger = user(Platform::Slack, "T01", "U99");
        assert_eq!(roles(&dir, "acme", &stranger, now), [Role::Viewer]);
        assert!(roles(&dir, "acme", &user(Platform::Slack, "T01", "U98"), now).is_empty());
    }

    #[test]
    fn authorization_end_to_end() {
        let dir = dir();
        let now = at(1, 12, 0);
        let grants =
            |u: &PlatformUser| grants_for(&dir.bindings, &principal_for(&dir, "acme", u), now);
        let alice = grants(&user(Platform::Slack, "T01", "UA"));
        let bob = grants(&user(Platform::Slack, "T01", "UB"));
        let stranger = grants(&user(Platform::Slack, "T01", "U99"));
        let nobody = grants(&user(Platform::Slack, "T01", "U98"));
        // (grants, required role, environment, expected role or refusal message)
        type Case<'a> = (&'a [Grant], Role, Option<&'a str>, Result<Role, &'a str>);
        let cases: &[Case] = &[
            (&alice, Role::Operator, Some("prod"), Ok(Role::Operator)),
            (
                &alice,
                Role::Admin,
                Some("prod"),
                Err("you need the `admin` role in `prod`; you have `operator` there"),
            ),
            (&alice, Role::Viewer, Some("qa"), Ok(Role::Viewer)),
            (
                &alice,
                Role::Admin,
                None,
                Err("you need the `admin` role; you have `operator`"),
            ),
            (&bob, Role::Viewer, Some("prod"), Ok(Role::Viewer)),
            (
                &bob,
                Role::Operator,
                Some("staging"),
                Err("you need the `operator` role in `staging`; you have `viewer` there"),
            ),
            (&stranger, Role::Viewer, Some("dev"), Ok(Role::Viewer)),
            (
                &stranger,
                Role::Viewer,
                Some("prod"),
                Err("you need the `viewer` role in `prod`; you have no role there"),
            ),
            (&stranger, Role::Viewer, None, Ok(Role::Viewer)),
            (
                &nobody,
                Role::Viewer,
                None,
                Err("you need the `viewer` role; you have no role in this tenant"),
            ),
        ];
        for (grants, required, env, want) in cases {
            let got = authorize(grants, *required, *env).map_err(|d| d.to_string());
            assert_eq!(got, want.map_err(str::to_string), "{required} {env:?}");
        }
        let at_expiry = Utc.with_ymd_and_hms(2026, 5, 31, 0, 0, 0).unwrap();
        let alice_before = grants_for(
            &dir.bindings,
            &principal_for(&dir, "acme", &user(Platform::Slack, "T01", "UA")),
            at_expiry,
        );
        assert_eq!(
            authorize(&alice_before, Role::Admin, Some("staging")),
            Ok(Role::Admin)
        );
        assert_eq!(
            roles_summary(&alice_before),
            [
                "admin in staging (until 2026-06-01 00:00 UTC)",
                "operator in staging, prod",
                "viewer in *",
            ]
        );
    }

    #[test]
    fn help_filtering() {
        let dir = dir();
        let now = at(1, 12, 0);
        let bob = grants_for(
            &dir.bindings,
            &principal_for(&dir, "acme", &user(Platform::Slack, "T01", "UB")),
            now,
        );
        let stranger = grants_for(
            &dir.bindings,
            &principal_for(&dir, "acme", &user(Platform::Slack, "T01", "U99")),
            now,
        );
        let envs = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let prod_staging = envs(&["prod", "staging"]);
        let dev = envs(&["dev"]);
        // (grants, required role, possible environments, shown in help)
        type Case<'a> = (&'a [Grant], Role, Option<&'a [String]>, bool);
        let cases: &[Case] = &[
            (&bob, Role::Viewer, None, true),
            (&bob, Role::Operator, None, false),
            (&bob, Role::Viewer, Some(&prod_staging), true),
            (&stranger, Role::Viewer, Some(&prod_staging), false),
            (&stranger, Role::Viewer, Some(&dev), true),
            (&stranger, Role::Viewer, Some(&[]), false),
            (&[], Role::Viewer, None, false),
        ];
        for (grants, required, possible, want) in cases {
            assert_eq!(
                may_run(grants, *required, *possible),
                *want,
                "{required} {possible:?}"
            );
        }
    }
}
