//! What warden registers with the chat platforms, validated against the platforms' own
//! published schemas (vendored in `tests/fixtures/schemas/`, sources named in its README): the
//! Slack app manifest against Slack's manifest schema, and the Discord application commands
//! against the request body of Discord's bulk overwrite in its OpenAPI document. Both the
//! generated documents and the checked-in `manifests/` are validated, and each schema is shown
//! to refuse a document over the limits `warden check` enforces, so the test can fail.

use std::path::Path;

use serde_json::Value;
use warden::commands::Registry;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read_json(relative: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn validator(relative: &str) -> jsonschema::Validator {
    jsonschema::validator_for(&read_json(relative))
        .unwrap_or_else(|e| panic!("{relative} is not a usable schema: {e}"))
}

fn slack_schema() -> jsonschema::Validator {
    validator("tests/fixtures/schemas/slack-manifest.schema.1.0.0.json")
}

fn discord_schema() -> jsonschema::Validator {
    validator("tests/fixtures/schemas/discord-bulk-overwrite-commands.json")
}

/// Every error of `document`, one per line, for a failure message.
fn errors(schema: &jsonschema::Validator, document: &Value) -> Vec<String> {
    schema
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn shipped_registry() -> Registry {
    warden::commands::load_dir(&Path::new(ROOT).join("commands"))
        .unwrap_or_else(|problems| panic!("the shipped commands load: {problems:?}"))
}

#[test]
fn the_slack_manifest_passes_slacks_schema() {
    let schema = slack_schema();
    let generated = warden::chat::slack::manifest::app_manifest(
        &shipped_registry(),
        "https://warden.example.com",
        "/ops",
    );
    assert_eq!(errors(&schema, &generated), Vec::<String>::new());
    let checked_in = read_json("manifests/slack-app.json");
    assert_eq!(errors(&schema, &checked_in), Vec::<String>::new());
}

/// `warden manifest slack --socket-mode`: no request URLs (Slack's schema makes `url` optional
/// on slash commands only when Socket Mode is on), and still a valid manifest.
#[test]
fn the_socket_mode_manifest_passes_slacks_schema() {
    let generated =
        warden::chat::slack::manifest::socket_mode_manifest(&shipped_registry(), "/ops");
    assert_eq!(errors(&slack_schema(), &generated), Vec::<String>::new());
    assert_eq!(generated["settings"]["socket_mode_enabled"], true);
}

#[test]
fn dedicated_slash_commands_do_not_repeat_themselves_in_the_usage_hint() {
    let manifest = warden::chat::slack::manifest::app_manifest(
        &shipped_registry(),
        "https://warden.example.com",
        "/ops",
    );
    let commands = manifest["features"]["slash_commands"].as_array().unwrap();
    assert!(
        commands.len() > 1,
        "the shipped commands include a dedicated one"
    );
    for command in commands {
        let name = command["command"].as_str().unwrap();
        let hint = command["usage_hint"].as_str().unwrap();
        // Slack shows the command and then the hint: `/deploy /deploy …` is what this prevents.
        assert!(!hint.starts_with(name), "{name}: {hint}");
    }
}

#[test]
fn the_discord_commands_pass_discords_schema() {
    let schema = discord_schema();
    let generated = warden::chat::discord::commands::application_commands(&shipped_registry());
    assert_eq!(errors(&schema, &generated), Vec::<String>::new());
    let checked_in = read_json("manifests/discord-commands.json");
    assert_eq!(errors(&schema, &checked_in), Vec::<String>::new());
}

#[test]
fn the_schemas_refuse_what_warden_check_refuses() {
    // A name of 33 characters and 26 options: what `warden check` reports at the file's line.
    let mut commands = warden::chat::discord::commands::application_commands(&shipped_registry());
    let last = commands.as_array_mut().unwrap().last_mut().unwrap();
    last["name"] = Value::from("d".repeat(33));
    assert!(!errors(&discord_schema(), &commands).is_empty());
    let mut commands = warden::chat::discord::commands::application_commands(&shipped_registry());
    let last = commands.as_array_mut().unwrap().last_mut().unwrap();
    let option = last["options"][0].clone();
    last["options"] = Value::Array(vec![option; 26]);
    assert!(!errors(&discord_schema(), &commands).is_empty());

    let mut manifest = read_json("manifests/slack-app.json");
    manifest["features"]["slash_commands"][0]["command"] =
        Value::from(format!("/{}", "o".repeat(32)));
    assert!(!errors(&slack_schema(), &manifest).is_empty());
}
