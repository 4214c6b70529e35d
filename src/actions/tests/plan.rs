//! `plan()`: deterministic text, secrets redacted, errors where run would refuse.

use super::{args, spec};
use crate::actions::plan;

const DEPLOY: &str = r#"
name = "deploy"
summary = "Deploy"
role = "operator"
dry_run = true
[[args]]
name = "service"
type = "choice"
choices = ["api", "web"]
[[args]]
name = "replicas"
type = "int"
default = 2
[[args]]
name = "token"
type = "string"
secret = true
[action]
type = "http"
method = "POST"
url = "https://deployer.internal/deploys/{{service}}?token={{token}}&note={{service}}"
headers = { "X-Token" = "{{token}}", "Idempotency-Key" = "mine" }
body = { service = "{{service}}", replicas = "{{replicas}}", token = "{{token}}" }
sign_secret_env = "DEPLOYER_HMAC_SECRET"
"#;

#[test]
fn http_plan_is_exact_and_redacted() {
    let spec = spec(DEPLOY);
    let args = args(&spec, &[("service", "api"), ("token", "tok 123")], false);
    let text = plan(&spec, &args, false).unwrap();
    assert_eq!(
        text,
        "POST https://deployer.internal/deploys/api?token=[redacted]&note=api\n\
         headers: X-Token, Content-Type, Idempotency-Key, X-Warden-Timestamp, X-Warden-Signature (signed with $DEPLOYER_HMAC_SECRET)\n\
         body: {\"replicas\":2,\"service\":\"api\",\"token\":\"[redacted]\"}"
    );
    assert_eq!(plan(&spec, &args, false).unwrap(), text, "deterministic");
    assert!(
        !text.contains("tok 123") && !text.contains("tok%20123"),
        "{text}"
    );

    let dry = plan(&spec, &args, true).unwrap();
    assert!(dry.contains(", X-Warden-Dry-Run\n"), "{dry}");
    assert!(dry.ends_with("\n(dry run)"), "{dry}");
    assert_ne!(dry, text);

    // A different (non-secret) argument changes the plan; a different secret does not.
    let other = args_with(&spec, "web", "tok 123");
    assert_ne!(plan(&spec, &other, false).unwrap(), text);
    let other_secret = args_with(&spec, "api", "zzz");
    assert_eq!(plan(&spec, &other_secret, false).unwrap(), text);
}

fn args_with(
    spec: &crate::commands::CommandSpec,
    service: &str,
    token: &str,
) -> crate::commands::ParsedArgs {
    args(spec, &[("service", service), ("token", token)], false)
}

#[test]
fn http_plan_refuses_what_run_would_refuse() {
    let spec = spec(DEPLOY);
    let args = args(&spec, &[("service", "api"), ("token", "a\nb")], false);
    let err = plan(&spec, &args, false).unwrap_err();
    assert!(
        err.contains("X-Token") && err.contains("line break"),
        "{err}"
    );
    assert!(!err.contains("a\nb"));

    // Hand-made arguments without a required value cannot be rendered.
    let empty = crate::commands::ParsedArgs::default();
    let err = plan(&spec, &empty, false).unwrap_err();
    assert!(err.contains("{{"), "{err}");
}

/// Arguments that bypassed the argument check (made by hand here) cannot put a dot segment in
/// the URL path either: the plan and the run refuse them, so no request reaches another path
/// than its plan shows.
#[test]
fn http_plan_and_run_refuse_dot_segments() {
    let spec = spec(DEPLOY);
    for service in ["..", ".", ""] {
        let args = crate::commands::ParsedArgs {
            values: vec![
                (
                    "service".into(),
                    crate::commands::ArgValue::Str(service.into()),
                ),
                ("replicas".into(), crate::commands::ArgValue::Int(2)),
                ("token".into(), crate::commands::ArgValue::Str("t".into())),
            ],
            ..Default::default()
        };
        let err = plan(&spec, &args, false).unwrap_err();
        assert!(err.contains("argument `service`"), "{err}");
        let err = crate::actions::render::url(
            "https://deployer.internal/deploys/{{service}}",
            &args,
            false,
        )
        .unwrap_err();
        assert!(err.contains("path segment"), "{err}");
    }
}

#[test]
fn exec_plan_shows_argv_elements_and_env_names() {
    let spec = spec(
        r#"
name = "restart"
summary = "Restart"
role = "operator"
dry_run = true
[[args]]
name = "service"
type = "string"
[[args]]
name = "password"
type = "string"
secret = true
[action]
type = "exec"
program = "/usr/local/bin/restart-service"
args = ["{{service}}", "--password={{password}}"]
dry_run_args = ["--dry-run"]
env = { RESTART_MODE = "rolling" }
inherit_env = ["PATH"]
workdir = "/var/lib/warden"
"#,
    );
    let args = args(
        &spec,
        &[("service", "api; touch /tmp/x"), ("password", "pw")],
        true,
    );
    assert_eq!(
        plan(&spec, &args, true).unwrap(),
        "exec /usr/local/bin/restart-service\n\
         argv: [\"api; touch /tmp/x\",\"--password=[redacted]\",\"--dry-run\"]\n\
         env: RESTART_MODE, PATH (inherited), WARDEN_JOB_ID, WARDEN_DRY_RUN\n\
         workdir: /var/lib/warden\n\
         (dry run)"
    );
}

#[test]
fn builtin_plan_lists_arguments() {
    let spec = spec(
        r#"
name = "flag-set"
summary = "Set a flag"
role = "operator"
[[args]]
name = "flag"
type = "string"
[[args]]
name = "value"
type = "string"
[[args]]
name = "key"
type = "string"
secret = true
[action]
type = "builtin"
name = "flags.set"
"#,
    );
    let args = args(
        &spec,
        &[("flag", "checkout"), ("value", "on for 10%"), ("key", "k")],
        false,
    );
    assert_eq!(
        plan(&spec, &args, false).unwrap(),
        "builtin flags.set flag=checkout value=\"on for 10%\" key=[redacted]"
    );
}
