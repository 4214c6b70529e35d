//! The semantic checks of `[alert_sources.NAME]` and `[[alert_routes]]` (SPEC §15). The
//! checks that need the command registry (an action's command and argument names) are in
//! `alerts::check`, run by `warden check` and at start like the schedules' own.

use std::collections::BTreeMap;

use toml::Spanned;

use super::alerts::{
    AlertAction, AlertActionKind, AlertAuth, AlertRoute, AlertSource, AlertSourceKind, LabelMatch,
    DEFAULT_STORM,
};
use super::check::{check_channel, Checker};
use super::raw::{RawAlertAction, RawAlertRoute, RawAlertSource};
use super::Tenant;
use crate::model::is_name;

/// Buttons a card may carry besides its links: Discord shows at most 25, Slack 25 per block,
/// and more than a handful of fixes per alert is a runbook, not a card.
const MAX_ACTIONS: usize = 10;

/// True for names that may be environment variables: `[A-Z_][A-Z0-9_]*`.
fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn check_alert_sources(
    cx: &mut Checker<'_>,
    raw: BTreeMap<Spanned<String>, Spanned<RawAlertSource>>,
) -> BTreeMap<String, AlertSource> {
    let mut sources = BTreeMap::new();
    for (name, source) in raw {
        let whole = source.span();
        let source = source.into_inner();
        let mut ok = true;
        if !is_name(name.get_ref()) {
            cx.problem(
                name.span(),
                format!(
                    "alert source name `{}` must be lowercase letters, digits, `_` or `-`",
                    name.get_ref()
                ),
            );
            ok = false;
        }
        let kind = AlertSourceKind::parse(source.kind.get_ref());
        if kind.is_none() {
            cx.problem(
                source.kind.span(),
                format!(
                    "alert source kind `{}` is not one of alertmanager, grafana, webhook",
                    source.kind.get_ref()
                ),
            );
        }
        let auth = match (source.token_env, source.hmac_secret_env) {
            (Some(env), None) => Some((
                AlertAuth::Bearer {
                    env: env.get_ref().clone(),
                },
                env,
            )),
            (None, Some(env)) => Some((
                AlertAuth::Hmac {
                    env: env.get_ref().clone(),
                },
                env,
            )),
            (Some(_), Some(second)) => {
                cx.problem(
                    second.span(),
                    "an alert source authenticates one way: set token_env or hmac_secret_env, not both",
                );
                None
            }
            (None, None) => {
                cx.problem(
                    whole.clone(),
                    format!(
                        "alert source `{}` needs token_env (a bearer token) or hmac_secret_env (an X-Warden-Signature secret): warden does not take unauthenticated alerts",
                        name.get_ref()
                    ),
                );
                None
            }
        };
        let auth = auth.and_then(|(auth, env)| {
            if is_env_name(auth.env()) {
                Some(auth)
            } else {
                cx.problem(
                    env.span(),
                    format!(
                        "`{}` is not an environment variable name (write it in capitals, e.g. PROM_ALERT_TOKEN): the file names the variable, never the secret",
                        auth.env()
                    ),
                );
                None
            }
        });
        let silence_url = match source.silence_url {
            None => None,
            Some(url) => {
                let parsed = url::Url::parse(url.get_ref());
                match parsed {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                        if kind != Some(AlertSourceKind::Alertmanager) {
                            cx.problem(
                                url.span(),
                                "silence_url is only for alertmanager sources: only Alertmanager has silences",
                            );
                            ok = false;
                        }
                        Some(url.get_ref().trim_end_matches('/').to_string())
                    }
                    _ => {
                        cx.problem(
                            url.span(),
                            format!(
                                "silence_url `{}` is not an http(s) URL such as http://alertmanager:9093",
                                url.get_ref()
                            ),
                        );
                        ok = false;
                        None
                    }
                }
            }
        };
        if let (true, Some(kind), Some(auth)) = (ok, kind, auth) {
            let name = name.into_inner();
            sources.insert(
                name.clone(),
                AlertSource {
                    name,
                    kind,
                    auth,
                    silence_url,
                },
            );
        }
    }
    sources
}

pub(super) fn check_alert_routes(
    cx: &mut Checker<'_>,
    raw: Vec<Spanned<RawAlertRoute>>,
    sources: &BTreeMap<String, AlertSource>,
    tenants: &BTreeMap<String, Tenant>,
) -> Vec<AlertRoute> {
    let mut routes = Vec::new();
    for (index, spanned) in raw.into_iter().enumerate() {
        let line = cx.line(spanned.span());
        let whole = spanned.span();
        let r = spanned.into_inner();
        let mut ok = true;
        let source = sources.get(r.source.get_ref());
        if source.is_none() {
            cx.problem(
                r.source.span(),
                format!(
                    "unknown alert source `{}` (declare it as [alert_sources.{}])",
                    r.source.get_ref(),
                    r.source.get_ref()
                ),
            );
            ok = false;
        }
        let tenant = tenants.get(r.tenant.get_ref());
        if tenant.is_none() {
            cx.problem(
                r.tenant.span(),
                format!("unknown tenant `{}`", r.tenant.get_ref()),
            );
            ok = false;
        }
        let channel = match r.channel {
            Some(written) => check_channel(cx, "channel", Some(written)),
            None => match tenant.and_then(|t| t.alert_channel.clone()) {
                Some(channel) => Some(channel),
                None => {
                    if tenant.is_some() {
                        cx.problem(
                            whole.clone(),
                            format!(
                                "this route has no channel and tenant `{}` has no alert_channel: set one of them",
                                r.tenant.get_ref()
                            ),
                        );
                    }
                    None
                }
            },
        };
        let mut matchers = Vec::new();
        for (label, value) in r.matches {
            matchers.push(LabelMatch::Equal(label, value.into_inner()));
        }
        for (label, value) in r.match_re {
            match regex::Regex::new(&format!("^(?:{})$", value.get_ref())) {
                Ok(re) => matchers.push(LabelMatch::Regex(label, re)),
                Err(e) => {
                    cx.problem(
                        value.span(),
                        format!("match_re for `{label}` is not a regular expression: {e}"),
                    );
                    ok = false;
                }
            }
        }
        let storm = match r.storm {
            None => DEFAULT_STORM,
            Some(storm) => match u32::try_from(*storm.get_ref()) {
                Ok(n) if n >= 1 => n,
                _ => {
                    cx.problem(
                        storm.span(),
                        "storm is the number of new cards a minute before folding: 1 or more",
                    );
                    ok = false;
                    DEFAULT_STORM
                }
            },
        };
        if r.actions.len() > MAX_ACTIONS {
            cx.problem(
                whole.clone(),
                format!("a route has at most {MAX_ACTIONS} actions"),
            );
            ok = false;
        }
        let mut actions = Vec::new();
        for action in r.actions {
            match check_action(cx, action, source) {
                Some(action) => actions.push(action),
                None => ok = false,
            }
        }
        if let (true, Some(channel)) = (ok, channel) {
            routes.push(AlertRoute {
                index,
                source: r.source.into_inner(),
                tenant: r.tenant.into_inner(),
                channel,
                matchers,
                actions,
                storm,
                file: cx.path.to_path_buf(),
                line,
            });
        }
    }
    routes
}

fn check_action(
    cx: &mut Checker<'_>,
    action: Spanned<RawAlertAction>,
    source: Option<&AlertSource>,
) -> Option<AlertAction> {
    let whole = action.span();
    let action = action.into_inner();
    let label = action.label.get_ref().trim().to_string();
    let mut ok = true;
    if label.is_empty() || label.chars().count() > 75 {
        cx.problem(
            action.label.span(),
            "an action's label is 1 to 75 characters (what the button shows)",
        );
        ok = false;
    }
    let kind = match (action.command, action.silence) {
        (Some(command), None) => {
            match crate::alerts::template::CommandTemplate::parse(command.get_ref()) {
                Ok(_) => Some(AlertActionKind::Command(
                    command.get_ref().trim().to_string(),
                )),
                Err(e) => {
                    cx.problem(command.span(), format!("action `{label}`: {e}"));
                    None
                }
            }
        }
        (None, Some(silence)) => {
            let has_url = source.is_some_and(|s| s.silence_url.is_some());
            if source.is_some() && !has_url {
                cx.problem(
                    silence.span(),
                    format!(
                        "action `{label}` silences, but the route's source has no silence_url (only Alertmanager sources can silence)"
                    ),
                );
                ok = false;
            }
            match crate::model::parse_duration(silence.get_ref()) {
                Ok(d)
                    if d >= std::time::Duration::from_secs(60)
                        && d <= std::time::Duration::from_secs(30 * 86_400) =>
                {
                    Some(AlertActionKind::Silence(d))
                }
                Ok(_) => {
                    cx.problem(silence.span(), "a silence lasts from 1m to 30d");
                    None
                }
                Err(e) => {
                    cx.problem(silence.span(), e);
                    None
                }
            }
        }
        (Some(_), Some(second)) => {
            cx.problem(
                second.span(),
                format!("action `{label}` does one thing: a command or a silence, not both"),
            );
            None
        }
        (None, None) => {
            cx.problem(
                whole,
                format!("action `{label}` needs command = \"…\" or silence = \"1h\""),
            );
            None
        }
    };
    match (ok, kind) {
        (true, Some(kind)) => Some(AlertAction { label, kind }),
        _ => None,
    }
}
