//! Tests of loading command files: whole files, JSON bodies, directories and the shipped
//! examples. The table of problems and their lines is in `tests/problem_lines.rs`.

use super::*;
use crate::commands::spec::{ActionSpec, EnvScope, HttpMethod, Risk};
use crate::model::Role;

mod platform_limits;
mod problem_lines;

/// A valid file with one line per key, so that line numbers in the cases are easy to
/// count: the name is on line 1, `[action]` on line 9.
const BASE: &str = r#"name = "deploy"
summary = "Deploy"
role = "operator"
environment = "{{env}}"
[[args]]
name = "env"
type = "choice"
choices = ["staging", "prod"]
[action]
type = "http"
url = "https://deployer.internal/{{env}}"
"#;

fn load(text: &str) -> Result<CommandSpec, Vec<Problem>> {
    load_str(Path::new("commands/x.toml"), text)
}

/// The (line, message) pairs of a file that must fail.
fn problems(text: &str) -> Vec<(usize, String)> {
    match load(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(problems) => problems
            .into_iter()
            .map(|p| {
                assert_eq!(p.file, Path::new("commands/x.toml"));
                (p.line.expect("every problem has a line"), p.message)
            })
            .collect(),
    }
}

#[test]
fn base_file_loads() {
    let spec = load(BASE).unwrap();
    assert_eq!(spec.name, "deploy");
    assert_eq!(spec.line, 1);
    assert_eq!(spec.role, Role::Operator);
    assert_eq!(spec.environment, Some(EnvScope::Arg("env".into())));
    assert_eq!(spec.timeout, DEFAULT_TIMEOUT);
    assert_eq!(spec.risk, Risk::Low);
    assert!(spec.args[0].required);
    assert_eq!(spec.action.kind(), "http");
}

#[test]
fn full_file_loads_every_field() {
    let text = r#"
name = "scale"
summary = "Scale"
description = "Longer"
command = "/scale"
role = "admin"
environment = "prod"
risk = "medium"
dry_run = true
rate_limit = "3/10m"
timeout = "2m"
retries = 3
alert_channel = "discord:123"
[[args]]
name = "replicas"
type = "int"
min = 1
max = 20
default = 2
[[args]]
name = "force"
type = "bool"
default = "yes"
[[args]]
name = "token"
type = "string"
secret = true
required = false
[[args]]
name = "wait"
type = "duration"
default = "600s"
[approval]
when = { force = [true], replicas = [1, "2"] }
approvals = 2
approvers = ["alice", "bob", "group:sre"]
allow_self = true
expires_in = "45m"
[action]
type = "exec"
program = "/usr/bin/scale"
args = ["--replicas={{replicas}}", "--wait", "{{wait}}"]
dry_run_args = ["-n"]
env = { MODE = "x" }
inherit_env = ["PATH", "http_proxy"]
workdir = "/tmp"
"#;
    let spec = load(text).unwrap();
    assert_eq!(spec.line, 2);
    assert_eq!(spec.slash_command.as_deref(), Some("/scale"));
    assert_eq!(spec.environment, Some(EnvScope::Literal("prod".into())));
    assert_eq!(spec.rate_limit.unwrap().per, Duration::from_secs(600));
    assert_eq!(spec.retries, 3);
    assert_eq!(spec.args[0].default.as_deref(), Some("2"));
    assert_eq!(spec.args[1].default.as_deref(), Some("true"));
    assert!(!spec.args[2].required && spec.args[2].secret);
    assert_eq!(spec.args[3].default.as_deref(), Some("10m"));
    let approval = spec.approval.as_ref().unwrap();
    assert_eq!(
        approval.when,
        vec![
            ("force".to_string(), vec!["true".to_string()]),
            (
                "replicas".to_string(),
                vec!["1".to_string(), "2".to_string()]
            ),
        ]
    );
    assert_eq!(approval.expires_in, Duration::from_secs(2700));
    assert_eq!(spec.possible_environments(), Some(vec!["prod".to_string()]));
    match &spec.action {
        ActionSpec::Exec {
            program,
            args,
            env,
            inherit_env,
            dry_run_args,
            workdir,
        } => {
            assert_eq!(program, Path::new("/usr/bin/scale"));
            assert_eq!(args.len(), 3);
            assert_eq!(env.get("MODE").map(String::as_str), Some("x"));
            assert_eq!(inherit_env.len(), 2);
            assert_eq!(dry_run_args, &["-n"]);
            assert_eq!(workdir.as_deref(), Some(Path::new("/tmp")));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_body_becomes_json() {
    let text = format!(
        "{BASE}method = \"PUT\"\nheaders = {{ X-Env = \"{{{{env}}}}\" }}\n[action.body]\nenv = \"{{{{env}}}}\"\nn = 1.5\nlist = [1, \"a\"]\nwhen = 1979-05-27T07:32:00Z\n"
    );
    let spec = load(&text).unwrap();
    let ActionSpec::Http {
        method,
        headers,
        body,
        ..
    } = &spec.action
    else {
        panic!("not http");
    };
    assert_eq!(*method, HttpMethod::Put);
    assert_eq!(headers.get("X-Env").map(String::as_str), Some("{{env}}"));
    assert_eq!(
        body.as_ref().unwrap(),
        &serde_json::json!({"env": "{{env}}", "n": 1.5, "list": [1, "a"], "when": "1979-05-27T07:32:00Z"})
    );
}

/// A fresh scratch directory for one test.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-commands-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn load_dir_reports_every_file() {
    let dir = scratch_dir("every-file");
    let slash = BASE.replace("role = ", "command = \"/deploy\"\nrole = ");
    std::fs::write(dir.join("a.toml"), &slash).unwrap();
    // Same name as a.toml: reported at b.toml's name line.
    std::fs::write(dir.join("b.toml"), format!("# copy\n{BASE}")).unwrap();
    // Another name but the same slash command.
    std::fs::write(dir.join("c.toml"), slash.replace("\"deploy\"", "\"ship\"")).unwrap();
    std::fs::write(dir.join("d.toml"), "name = \"broken\"\nsummary = 3\n").unwrap();
    std::fs::write(dir.join("e.toml"), BASE.replace("\"deploy\"", "\"ok\"")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a command").unwrap();
    let problems = load_dir(&dir).unwrap_err();
    let got: Vec<(String, Option<usize>, bool)> = problems
        .iter()
        .map(|p| {
            (
                p.file.file_name().unwrap().to_string_lossy().into_owned(),
                p.line,
                p.message.contains("already"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("b.toml".to_string(), Some(2), true),
            ("c.toml".to_string(), Some(1), true),
            ("d.toml".to_string(), Some(2), false),
        ],
        "{problems:#?}"
    );
    assert!(problems[1].message.contains("slash command `/deploy`"));

    std::fs::remove_file(dir.join("b.toml")).unwrap();
    std::fs::remove_file(dir.join("c.toml")).unwrap();
    std::fs::remove_file(dir.join("d.toml")).unwrap();
    let registry = load_dir(&dir).unwrap();
    let names: Vec<&str> = registry.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["deploy", "ok"]);
    assert_eq!(registry.by_slash_command("/deploy").unwrap().name, "deploy");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn load_dir_missing_directory() {
    let dir = std::env::temp_dir().join("warden-commands-does-not-exist");
    let problems = load_dir(&dir).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].file, dir);
    assert!(problems[0]
        .message
        .contains("cannot read the commands directory"));
}

#[test]
fn shipped_examples_load() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/commands"));
    let registry = match load_dir(dir) {
        Ok(registry) => registry,
        Err(problems) => panic!(
            "{}",
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    for name in [
        "deploy", "rollback", "restart", "flag-set", "flag-get", "scale", "status",
    ] {
        assert!(registry.get(name).is_some(), "missing {name}");
    }
    let viewer_visible = registry.iter().filter(|c| c.role == Role::Viewer).count();
    assert!(viewer_visible >= 1);
    let deploy = registry.by_slash_command("/deploy").unwrap();
    assert_eq!(deploy.risk, Risk::High);
    assert_eq!(deploy.approval.as_ref().unwrap().approvals, 2);
}

#[test]
fn truncated_files_never_panic() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/commands/deploy.toml");
    let text = std::fs::read_to_string(path).unwrap();
    for (cut, _) in text.char_indices() {
        if let Err(problems) = load_str(Path::new("deploy.toml"), &text[..cut]) {
            assert!(!problems.is_empty());
            assert!(problems.iter().all(|p| p.line.is_some()), "{problems:?}");
        }
    }
}

#[test]
fn thread_and_remind_keys() {
    let spec = load(BASE).unwrap();
    assert!(spec.thread && spec.remind, "both default to on");
    let flat = load(&BASE.replace("role = ", "thread = false\nremind = false\nrole = ")).unwrap();
    assert!(!flat.thread && !flat.remind);
    let wrong = problems(&BASE.replace("role = ", "thread = \"no\"\nrole = "));
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert_eq!(wrong[0].0, 3, "{wrong:?}");
    let unknown = problems(&BASE.replace("role = ", "threads = false\nrole = "));
    assert!(unknown[0].1.contains("threads"), "{unknown:?}");
}
