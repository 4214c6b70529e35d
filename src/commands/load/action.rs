//! The `[action]` of a command: which keys belong to which action type, and the checks of http,
//! exec and builtin actions.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use super::ctx::Ctx;
use super::raw::{RawAction, S};
use super::syntax::{is_builtin_name, is_env_var, is_header_name, is_upper_env_var, toml_to_json};
use crate::commands::spec::{ActionSpec, ArgSpec, HttpMethod};
use crate::commands::template;

pub(super) fn build_action(
    ctx: &mut Ctx<'_>,
    raw: &S<RawAction>,
    args: &[ArgSpec],
    dry_run: bool,
) -> Option<ActionSpec> {
    let header = raw.span();
    let raw = raw.get_ref();
    let Some(kind) = &raw.kind else {
        ctx.at(&header, "action is missing `type` (http, exec or builtin)");
        return None;
    };
    let kind_name = kind.get_ref().as_str();
    let allowed: &[&str] = match kind_name {
        "http" => &["method", "url", "headers", "body", "sign_secret_env"],
        "exec" => &[
            "program",
            "args",
            "env",
            "inherit_env",
            "dry_run_args",
            "workdir",
        ],
        "builtin" => &["name"],
        other => {
            ctx.at(
                &kind.span(),
                format!("unknown action type `{other}` (expected http, exec or builtin)"),
            );
            return None;
        }
    };
    let first_key_span = |m: &BTreeMap<S<String>, S<String>>| m.keys().next().map(|k| k.span());
    let first_item_span = |v: &Vec<S<String>>| v.first().map(|k| k.span());
    let present: [(&str, Option<Range<usize>>); 12] = [
        ("method", raw.method.as_ref().map(|v| v.span())),
        ("url", raw.url.as_ref().map(|v| v.span())),
        (
            "headers",
            raw.headers
                .as_ref()
                .map(|m| first_key_span(m).unwrap_or(header.clone())),
        ),
        ("body", raw.body.as_ref().map(|v| v.span())),
        (
            "sign_secret_env",
            raw.sign_secret_env.as_ref().map(|v| v.span()),
        ),
        ("program", raw.program.as_ref().map(|v| v.span())),
        (
            "args",
            raw.args
                .as_ref()
                .map(|v| first_item_span(v).unwrap_or(header.clone())),
        ),
        (
            "env",
            raw.env
                .as_ref()
                .map(|m| first_key_span(m).unwrap_or(header.clone())),
        ),
        (
            "inherit_env",
            raw.inherit_env
                .as_ref()
                .map(|v| first_item_span(v).unwrap_or(header.clone())),
        ),
        (
            "dry_run_args",
            raw.dry_run_args
                .as_ref()
                .map(|v| first_item_span(v).unwrap_or(header.clone())),
        ),
        ("workdir", raw.workdir.as_ref().map(|v| v.span())),
        ("name", raw.name.as_ref().map(|v| v.span())),
    ];
    for (key, span) in present {
        if let Some(span) = span {
            if !allowed.contains(&key) {
                ctx.at(
                    &span,
                    format!("`{key}` is not allowed in an action of type {kind_name}"),
                );
            }
        }
    }
    match kind_name {
        "http" => build_http(ctx, raw, &header, args),
        "exec" => build_exec(ctx, raw, &header, args, dry_run),
        _ => match &raw.name {
            None => {
                ctx.at(&header, "a builtin action needs `name`, e.g. \"flags.set\"");
                None
            }
            Some(name) if !is_builtin_name(name.get_ref()) => {
                ctx.at(
                    &name.span(),
                    format!("builtin name `{}` must look like flags.set", name.get_ref()),
                );
                None
            }
            Some(name) => Some(ActionSpec::Builtin {
                name: name.get_ref().clone(),
            }),
        },
    }
}

fn build_http(
    ctx: &mut Ctx<'_>,
    raw: &RawAction,
    header: &Range<usize>,
    args: &[ArgSpec],
) -> Option<ActionSpec> {
    let method = raw
        .method
        .as_ref()
        .and_then(|m| ctx.parse::<HttpMethod>(m))
        .unwrap_or_default();
    let url = match &raw.url {
        None => {
            ctx.at(header, "an http action needs `url`");
            None
        }
        Some(url) => {
            let text = url.get_ref();
            let rest = text
                .strip_prefix("https://")
                .or_else(|| text.strip_prefix("http://"));
            match rest {
                None => ctx.at(
                    &url.span(),
                    format!("url `{text}` must start with http:// or https://"),
                ),
                Some(rest) => {
                    // The host decides where arguments (and the signature) are sent, so it is
                    // never taken from what a person typed.
                    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                    if host.is_empty() {
                        ctx.at(&url.span(), format!("url `{text}` has no host"));
                    } else if host.contains("{{") {
                        ctx.at(&url.span(), "the host of the url cannot contain templates");
                    } else {
                        ctx.check_spanned_template("url", url, args);
                    }
                }
            }
            Some(text.clone())
        }
    };
    let mut headers = BTreeMap::new();
    for (key, value) in raw.headers.iter().flatten() {
        if !is_header_name(key.get_ref()) {
            ctx.at(
                &key.span(),
                format!("`{}` is not a valid header name", key.get_ref()),
            );
        }
        if value.get_ref().chars().any(char::is_control) {
            ctx.at(
                &value.span(),
                format!(
                    "header `{}` cannot contain control characters",
                    key.get_ref()
                ),
            );
        }
        ctx.check_spanned_template(&format!("header `{}`", key.get_ref()), value, args);
        headers.insert(key.get_ref().clone(), value.get_ref().clone());
    }
    let body = raw.body.as_ref().and_then(|b| {
        if method == HttpMethod::Get {
            ctx.at(
                &b.span(),
                "a GET request has no body; put values in the url instead",
            );
        }
        let json = match toml_to_json(&toml::Value::Table(b.get_ref().clone())) {
            Ok(json) => json,
            Err(message) => {
                ctx.at(&b.span(), message);
                return None;
            }
        };
        for s in template::json_strings(&json) {
            ctx.check_template("body", s, &b.span(), args);
        }
        Some(json)
    });
    let sign_secret_env = raw.sign_secret_env.as_ref().and_then(|s| {
        if is_upper_env_var(s.get_ref()) {
            Some(s.get_ref().clone())
        } else {
            ctx.at(
                &s.span(),
                format!("sign_secret_env `{}` must be an environment variable name like DEPLOYER_HMAC_SECRET", s.get_ref()),
            );
            None
        }
    });
    Some(ActionSpec::Http {
        method,
        url: url?,
        headers,
        body,
        sign_secret_env,
    })
}

fn build_exec(
    ctx: &mut Ctx<'_>,
    raw: &RawAction,
    header: &Range<usize>,
    args: &[ArgSpec],
    dry_run: bool,
) -> Option<ActionSpec> {
    let program = match &raw.program {
        None => {
            ctx.at(header, "an exec action needs `program`");
            None
        }
        Some(p) => {
            ctx.no_template("program", p);
            if !p.get_ref().starts_with('/') {
                ctx.at(
                    &p.span(),
                    format!("program `{}` must be an absolute path, so that PATH cannot change what runs", p.get_ref()),
                );
            }
            Some(PathBuf::from(p.get_ref()))
        }
    };
    let mut argv = Vec::new();
    for a in raw.args.iter().flatten() {
        ctx.check_spanned_template("args", a, args);
        argv.push(a.get_ref().clone());
    }
    let mut dry_run_args = Vec::new();
    for a in raw.dry_run_args.iter().flatten() {
        ctx.check_spanned_template("dry_run_args", a, args);
        dry_run_args.push(a.get_ref().clone());
    }
    if let (Some(first), false) = (raw.dry_run_args.as_ref().and_then(|v| v.first()), dry_run) {
        ctx.at(
            &first.span(),
            "dry_run_args is set, but the command does not have dry_run = true",
        );
    }
    let mut env = BTreeMap::new();
    for (key, value) in raw.env.iter().flatten() {
        if !is_env_var(key.get_ref()) {
            ctx.at(
                &key.span(),
                format!("`{}` is not an environment variable name", key.get_ref()),
            );
        }
        // Environment values are fixed so that typed text never reaches a program through a
        // channel the file does not show; arguments go through `args`.
        ctx.no_template(&format!("env `{}`", key.get_ref()), value);
        env.insert(key.get_ref().clone(), value.get_ref().clone());
    }
    let mut inherit_env = Vec::new();
    for name in raw.inherit_env.iter().flatten() {
        if !is_env_var(name.get_ref()) {
            ctx.at(
                &name.span(),
                format!("`{}` is not an environment variable name", name.get_ref()),
            );
        }
        inherit_env.push(name.get_ref().clone());
    }
    let workdir = raw.workdir.as_ref().map(|w| {
        ctx.no_template("workdir", w);
        if !w.get_ref().starts_with('/') {
            ctx.at(
                &w.span(),
                format!("workdir `{}` must be an absolute path", w.get_ref()),
            );
        }
        PathBuf::from(w.get_ref())
    });
    Some(ActionSpec::Exec {
        program: program?,
        args: argv,
        env,
        inherit_env,
        dry_run_args,
        workdir,
    })
}
