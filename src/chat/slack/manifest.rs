//! The Slack app manifest generated from the command registry: the root slash command, one
//! slash command per command that asks for its own, the bot scopes, the Events API and
//! interactivity URLs. Paste it into "Create New App → From an app manifest".

use serde_json::{json, Value};

use crate::commands::Registry;

/// True when `public_url` points at this machine only (the default when `WARDEN_PUBLIC_URL` is
/// not set): Slack cannot reach such an app, so `warden manifest slack` warns.
pub fn is_loopback(public_url: &str) -> bool {
    let Ok(url) = url::Url::parse(public_url) else {
        return true;
    };
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => true,
    }
}

/// The manifest for an app reached at `public_url` whose root command is `root` (`/ops`).
pub fn app_manifest(registry: &Registry, public_url: &str, root: &str) -> Value {
    let base = public_url.trim_end_matches('/');
    let commands_url = format!("{base}/slack/commands");
    let mut slash = vec![json!({
        "command": root,
        "url": commands_url,
        "description": "Run an operation through warden (try: help)",
        "usage_hint": "help | whoami | COMMAND [args…] [--dry-run] [--reason \"…\"]",
        "should_escape": false,
    })];
    for spec in registry.iter() {
        if let Some(own) = &spec.slash_command {
            slash.push(json!({
                "command": own,
                "url": commands_url,
                "description": truncate(&spec.summary, 100),
                "usage_hint": truncate(&crate::commands::args::arguments_usage(spec), 1000),
                "should_escape": false,
            }));
        }
    }
    json!({
        "display_information": {
            "name": "warden",
            "description": "Guarded, audited operations from chat",
        },
        "features": {
            "bot_user": { "display_name": "warden", "always_online": true },
            "slash_commands": slash,
        },
        "oauth_config": {
            "scopes": { "bot": ["commands", "chat:write", "app_mentions:read"] },
        },
        "settings": {
            "event_subscriptions": {
                "request_url": format!("{base}/slack/events"),
                "bot_events": ["app_mention"],
            },
            "interactivity": {
                "is_enabled": true,
                "request_url": format!("{base}/slack/interactions"),
            },
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false,
        },
    })
}

/// The manifest for an app that receives everything over Socket Mode (SPEC §14): the same
/// commands, scopes and events, `socket_mode_enabled: true` and no request URLs, since Slack
/// never calls warden.
pub fn socket_mode_manifest(registry: &Registry, root: &str) -> Value {
    let mut manifest = app_manifest(registry, "http://unused.invalid", root);
    if let Some(commands) = manifest["features"]["slash_commands"].as_array_mut() {
        for command in commands {
            if let Some(fields) = command.as_object_mut() {
                fields.remove("url");
            }
        }
    }
    let settings = &mut manifest["settings"];
    for section in ["event_subscriptions", "interactivity"] {
        if let Some(fields) = settings[section].as_object_mut() {
            fields.remove("request_url");
        }
    }
    settings["socket_mode_enabled"] = true.into();
    manifest
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_mode_manifest_has_no_request_urls() {
        let registry = crate::commands::load::load_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/commands"
        )))
        .unwrap();
        let manifest = socket_mode_manifest(&registry, "/ops");
        let text = manifest.to_string();
        assert!(!text.contains("unused.invalid"), "{text}");
        assert!(!text.contains("request_url"), "{text}");
        assert_eq!(manifest["settings"]["socket_mode_enabled"], true);
        assert_eq!(manifest["features"]["slash_commands"][0]["command"], "/ops");
        assert_eq!(
            manifest["settings"]["event_subscriptions"]["bot_events"][0],
            "app_mention"
        );
    }
}
